"""The proof that a video file is sealed evidence: which exam, which moments, which place in the
chain, and under which checkpoint (``examctl evidence verify FILE --bundle BUNDLE``).

1. the newest checkpoint carries the log's signature and the witness quorum of the policy;
2. the entries hash to that checkpoint's root (they are the log, not a copy that differs);
3. every entry passes the log's own rules (``KeyRegistry``: a registered key of a role that
   may sign it, a valid signature, ``seq`` in order), so only a seal the log admitted counts;
4. the file is one sealed segment or consecutive segments of one exam in chain order
   (``segment_match``), or the reason it is not;
5. each matched seal's inclusion proof leads to the checkpoint's root;
6. the exam's whole chain is checked (``video_chain.check_chain``): its findings are reported
   beside the proof, since a file can be sealed evidence of a chain broken elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from exam_core.errors import EntryError, EvidenceError
from exam_core.evidence.bundle_log import BundleLog
from exam_core.evidence.segment_match import (
    BlobLookup,
    Recording,
    SegmentMatch,
    match_recording,
)
from exam_core.evidence.video_chain import VIDEO_SEALED, ChainEnd, Seal, check_chain
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import leaf_hash, verify_inclusion
from exam_core.log.policy import Policy
from exam_core.log.registry import KeyRegistry


@dataclass(frozen=True)
class RecordingProof:
    """What ``prove_recording`` established."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    segments: tuple[SegmentMatch, ...]
    proofs: tuple[tuple[bytes, ...], ...]
    """The inclusion path of each matched seal's entry, in the order of ``segments``."""
    chain_findings: tuple[Finding, ...]


def prove_recording(recording: Recording, log: BundleLog, policy: Policy) -> RecordingProof:
    """Prove that ``recording`` is sealed video of one exam in ``log`` (steps in the module doc).

    Raises:
        CheckpointError: the newest checkpoint does not verify under ``policy``.
        EvidenceError: the bundle's entries are not the checkpoint's log, or the file is not
            sealed video (the message says why: re-encoded, trimmed, spliced, ...).
        Whatever ``recording.read`` raises when the file cannot be read (``InputFileError``).
    """
    # (1)
    cp, witnesses = policy.verify_checkpoint(log.checkpoint_note())
    # (2) ``BundleLog`` holds only entries that hash to the root its checkpoint states
    # (3)
    registry = KeyRegistry(cp.origin, pinned_admins=policy.admins or None)
    seals: list[Seal] = []
    ends: dict[str, ChainEnd] = {}
    for index, raw in enumerate(log.entries):
        try:
            entry = parse_entry(raw)
            registry.check(entry, None)
        except EntryError:
            continue  # not admitted: no evidence
        registry.apply(entry)
        if entry.type == VIDEO_SEALED:
            seals.append(Seal.of(index, entry.actor, entry.event))
        elif entry.type == "exam.ended" and "video_segments" in entry.event:
            ends.setdefault(
                str(entry.event["exam"]),
                ChainEnd(
                    index,
                    int(entry.event["video_segments"]),
                    bytes.fromhex(str(entry.event["video_head"])),
                ),
            )
    return prove_sealed(
        recording,
        SealedLog(cp, witnesses, seals, ends, log.entries.__getitem__, log.inclusion_proof),
        log.blob,
    )


@dataclass(frozen=True)
class SealedLog:
    """What steps 4–6 need of a log whose checkpoint is already verified: its admitted seals
    and chain ends up to the checkpoint, an entry's bytes, and inclusion proofs.

    An exported bundle gives them after steps 1–3 (``prove_recording``); the centre's service
    gives them from the seals its exam day recorded as they were sequenced.
    """

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    seals: Sequence[Seal]
    ends: Mapping[str, ChainEnd]
    entry: Callable[[int], bytes]
    inclusion_proof: Callable[[int, int], list[bytes]]


def prove_sealed(recording: Recording, log: SealedLog, blob: BlobLookup) -> RecordingProof:
    """Steps 4–6 of the module doc over seals already admitted under ``log.checkpoint``.

    Raises:
        EvidenceError: the file is not sealed video (the message says why).
        ProofError: a seal's inclusion proof does not lead to the checkpoint's root.
        Whatever ``recording.read`` raises when the file cannot be read (``InputFileError``).
    """
    cp = log.checkpoint
    seals = [s for s in log.seals if s.index < cp.size]
    if not seals:
        raise EvidenceError("the log holds no sealed video")
    # (4)
    matches = match_recording(recording, seals, blob)
    # (5)
    proofs = []
    for match in matches:
        index = match.seal.index
        path = log.inclusion_proof(index, cp.size)
        verify_inclusion(leaf_hash(log.entry(index)), index, cp.size, path, cp.root_hash)
        proofs.append(tuple(path))
    # (6)
    exam = matches[0].seal.exam
    chain = [s for s in seals if s.exam == exam]
    end = log.ends.get(exam)
    if end is not None and end.index >= cp.size:
        end = None
    return RecordingProof(
        cp, log.witnesses, tuple(matches), tuple(proofs), tuple(check_chain(chain, end))
    )
