"""exam-integrity's core: the signed, tamper-evident log and what runs on it.

This package names the pure, offline-capable part of its API — what an auditor's own tools need to
read and check entries.  The services (``exam_core.centre.centre`` with its store and sequencer,
``exam_core.centre.export``, ``exam_core.audit.check``) and ``exam_core.scoring`` are imported from
their modules, so that a verifier does not load a database driver it does not use.
"""

from __future__ import annotations

from exam_core.audit.history import AuditHistory, Replayer
from exam_core.errors import (
    BundleError,
    CanonicalError,
    CheckpointError,
    EntryError,
    ExamCoreError,
    KeyFormatError,
    NoteError,
    ProofError,
    ScoringError,
    StoreError,
)
from exam_core.findings import Finding
from exam_core.log.canonical import canonical_json, parse_canonical
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from exam_core.log.entry import Entry, make_entry, parse_entry, verify_entry_signature
from exam_core.log.merkle import leaf_hash, verify_consistency, verify_inclusion
from exam_core.log.note import Ed25519Signer, Ed25519Verifier, open_note, parse_vkey, sign_note
from exam_core.log.registry import KeyRegistry

__all__ = [
    "AuditHistory",
    "BundleError",
    "CanonicalError",
    "Checkpoint",
    "CheckpointError",
    "Ed25519Signer",
    "Ed25519Verifier",
    "Entry",
    "EntryError",
    "ExamCoreError",
    "Finding",
    "KeyFormatError",
    "KeyRegistry",
    "NoteError",
    "ProofError",
    "Replayer",
    "ScoringError",
    "StoreError",
    "canonical_json",
    "leaf_hash",
    "make_entry",
    "open_note",
    "parse_canonical",
    "parse_entry",
    "parse_vkey",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_consistency",
    "verify_entry_signature",
    "verify_inclusion",
]
