"""A log as an exported bundle shows it: its newest checkpoint, its entries, and proofs.

``examctl evidence verify`` and ``examctl receipt check --bundle`` ask a log the same three
things: the newest signed checkpoint, the entries it covers (to find a sealed segment), and
RFC 9162 inclusion and consistency proofs up to it.  ``LogSource`` is that question; a bundle
answers it here, and a centre's HTTP read API (``/checkpoint`` and the proof endpoints) answers
it the same way, so a verifier never knows where its checkpoint and proofs came from — it
verifies them.  The bundle is hostile input: its entries must hash to the root its newest
checkpoint states before anything is taken from them (whose signature the verifier then checks
under its policy).
"""

from __future__ import annotations

from typing import Protocol

from exam_core.audit.entry_bundles import assemble_entries
from exam_core.audit.reader import BlobFile, Bundle
from exam_core.audit.report import FindingLog
from exam_core.errors import CheckpointError, EvidenceError, NoteError
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.merkle import (
    HashSource,
    consistency_proof,
    hash_source_from_leaf_hashes,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from exam_core.log.note import parse_note


class LogSource(Protocol):
    """Where a verifier gets today's state of a log: nothing from it is trusted unverified."""

    def checkpoint_note(self) -> bytes:
        """The newest signed (and cosigned) checkpoint note."""
        ...

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[new_size])."""
        ...


class BundleLog:
    """A ``LogSource`` over an audit bundle read into memory (``exam_core.audit.reader``)."""

    def __init__(self, bundle: Bundle) -> None:
        if bundle.checkpoint is None:
            raise EvidenceError("the bundle has no checkpoint")
        self._note = bundle.checkpoint
        problems = FindingLog()
        entries = assemble_entries(bundle, problems)
        if problems.listed:
            first = problems.listed[0]
            raise EvidenceError(f"the bundle's entries cannot be read: {first.message}")
        try:
            unverified = parse_checkpoint_text(parse_note(self._note).text)
        except (NoteError, CheckpointError) as e:
            raise EvidenceError(f"the bundle's checkpoint does not parse: {e}") from e
        size, root = unverified.size, unverified.root_hash
        if len(entries) < size:
            raise EvidenceError(
                f"the bundle holds {len(entries)} entries; its checkpoint covers {size}"
            )
        self.entries = entries[:size]
        self._blobs = bundle.blobs
        self._leaves = [leaf_hash(e) for e in self.entries]
        self._nodes: HashSource | None = None
        if root_from_leaf_hashes(self._leaves) != root:
            raise EvidenceError("the bundle's entries do not hash to its checkpoint's root")

    def checkpoint_note(self) -> bytes:
        return self._note

    def blob(self, sha256_hex: str) -> BlobFile | None:
        """The blob of that name if the bundle holds one (only ever to explain a refusal): not
        read here, nor trusted; ``segment_match`` reads it in pieces and uses it only if they
        hash to its name."""
        return self._blobs.get(sha256_hex)

    def _source(self) -> HashSource:
        if self._nodes is None:
            self._nodes = hash_source_from_leaf_hashes(self._leaves)
        return self._nodes

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self._source(), index, size)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[new_size]) from the bundle's entries.

        Raises:
            EvidenceError: a size the bundle does not hold.
        """
        if not 0 < old_size <= new_size <= len(self._leaves):
            raise EvidenceError(
                f"no consistency proof from size {old_size} to {new_size} in a bundle of "
                f"{len(self._leaves)} entries"
            )
        return consistency_proof(self._source(), old_size, new_size)
