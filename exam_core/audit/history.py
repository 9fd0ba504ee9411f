"""The seam between the offline audit and the domains that recompute their own entries.

The audit (DESIGN §3.5) checks the log itself; the allocation and scoring domains each supply a
``Replayer`` that recomputes the entries of their types (§3.5 steps 4 and 5) from what the
bundle holds.  ``api`` wires the replayers into ``examctl audit`` so that ``exam_core`` never
imports ``allocation``.  Both sides of the seam are here: what a replayer is and what it may
consult (``AuditHistory``), the history the audit keeps for it (``AdmittedHistory``), one over a
plain list (``MemoryHistory``), and the read-once index replayers build on (``IncrementalIndex``).
Besides earlier entries and blobs, a replayer may consult what the audit knows about when the
log held what (``exam_core.audit.timing``) and the beacon keys the auditor's policy pins.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from heapq import merge
from operator import itemgetter
from typing import Generic, Protocol, TypeVar, runtime_checkable

from exam_core.audit.reader import BlobFile, read_blob
from exam_core.audit.timing import CheckpointEvidence, SigningTimes
from exam_core.errors import BlobError
from exam_core.findings import Finding
from exam_core.log.entry import Entry
from exam_core.log.note import NoteVerifier

__all__ = [
    "MAX_REPLAYED_BLOB_BYTES",
    "AdmittedHistory",
    "AuditHistory",
    "CheckpointEvidence",
    "Concluding",
    "EarlierIndex",
    "Finding",
    "IncrementalIndex",
    "MemoryHistory",
    "Replayer",
]

MAX_REPLAYED_BLOB_BYTES = 16 << 20
"""The most of one blob a replayer is handed unless it asks for less (a manifest's bound)."""


class AuditHistory(Protocol):
    """What a replayer may consult: the admitted entries before this one, and the blobs."""

    def earlier(
        self, kinds: Collection[str], stop: int, start: int = 0
    ) -> Iterator[tuple[int, Entry]]:
        """``(index, entry)`` of the entries of ``kinds`` with ``start <= index < stop``, in
        log order.

        Only entries the ingest rules admitted: a refused key registration registers no key, a
        refused telemetry chunk is no evidence.  ``kinds`` are among the replayer's ``reads``;
        the audit keeps only entries of those types, so a replayer asks only for what it
        needs and a large log is not held in memory for it.
        """
        ...

    def blob(self, sha256_hex: str, max_bytes: int = MAX_REPLAYED_BLOB_BYTES) -> bytes | None:
        """The blob with this SHA-256 (checked against its hash), or None if absent.

        Read on demand and whole, so a replayer asks for no more than its format allows.

        Raises:
            BlobError: the blob is longer than ``max_bytes``, or changed since it was checked.
        """
        ...

    @property
    def checkpoints(self) -> Sequence[CheckpointEvidence]:
        """Every checkpoint that verified under the policy and that a witness of the policy
        cosigned, with each witness's cosignature time."""
        ...

    @property
    def beacon_keys(self) -> Sequence[NoteVerifier]:
        """The beacon keys the policy pins (``beacon`` lines): what a hash-chain beacon's
        commitment must be signed by."""
        ...

    def stamp(self, index: int) -> tuple[str, int] | None:
        """(signer, ``ts``) of admitted entry ``index``, of any type, read so far; else None."""
        ...

    def latest_signed_before(self, index: int) -> tuple[int, str, int] | None:
        """(index, signer, ``ts``) of the admitted entry before ``index`` that carries the
        greatest ``ts``; None when there is none."""
        ...


class Replayer(Protocol):
    """Recomputes the entries of some event types and reports every difference."""

    @property
    def event_types(self) -> frozenset[str]:
        """The types of the entries it recomputes."""
        ...

    @property
    def reads(self) -> frozenset[str]:
        """The types of the earlier entries it consults through ``AuditHistory.earlier``."""
        ...

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]: ...


@runtime_checkable
class Concluding(Protocol):
    """A replayer that also judges the log as a whole once every entry is replayed: what
    should have come and never did (an exam that started and has no result)."""

    def conclude(self, history: AuditHistory, size: int) -> list[Finding]:
        """Findings about the whole log of ``size`` entries, after the last one was replayed."""
        ...


@dataclass
class MemoryHistory:
    """An ``AuditHistory`` over entries held in a list: for replaying a few entries by hand.

    ``refused`` holds the indices the ingest rules refused, as the audit would mark them.
    """

    entries: list[Entry] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)
    checkpoints: list[CheckpointEvidence] = field(default_factory=list)
    beacon_keys: list[NoteVerifier] = field(default_factory=list)

    def earlier(
        self, kinds: Collection[str], stop: int, start: int = 0
    ) -> Iterator[tuple[int, Entry]]:
        wanted = frozenset(kinds)
        for index in range(max(start, 0), min(stop, len(self.entries))):
            entry = self.entries[index]
            if index not in self.refused and entry.type in wanted:
                yield index, entry

    def blob(self, sha256_hex: str, max_bytes: int = MAX_REPLAYED_BLOB_BYTES) -> bytes | None:
        """See ``AuditHistory.blob``.

        Raises:
            BlobError: the blob is longer than ``max_bytes``.
        """
        data = self.blobs.get(sha256_hex)
        if data is not None and len(data) > max_bytes:
            raise BlobError(f"blob {sha256_hex} is {len(data)} bytes; at most {max_bytes} are read")
        return data

    def stamp(self, index: int) -> tuple[str, int] | None:
        if not 0 <= index < len(self.entries) or index in self.refused:
            return None
        return self.entries[index].actor, self.entries[index].ts

    def latest_signed_before(self, index: int) -> tuple[int, str, int] | None:
        best: tuple[int, str, int] | None = None
        for k in range(min(index, len(self.entries))):
            found = self.stamp(k)
            if found is not None and (best is None or found[1] > best[2]):
                best = (k, *found)
        return best


class AdmittedHistory:
    """The ``AuditHistory`` the audit's ordered pass keeps: the admitted entries of the types
    the replayers read, by type and in log order, and the blobs that match their hash.

    Only those entries are kept: an audit of a long log holds the entries' bytes, not a parsed
    copy of every one of them.
    """

    def __init__(
        self,
        blobs: Mapping[str, BlobFile],
        reads: Collection[str],
        *,
        checkpoints: Sequence[CheckpointEvidence] = (),
        beacon_keys: Sequence[NoteVerifier] = (),
    ) -> None:
        self._blobs = blobs
        self._by_type: dict[str, tuple[list[int], list[Entry]]] = {kind: ([], []) for kind in reads}
        self._times = SigningTimes()
        self.checkpoints: Sequence[CheckpointEvidence] = tuple(checkpoints)
        self.beacon_keys: Sequence[NoteVerifier] = tuple(beacon_keys)

    def admit(self, index: int, entry: Entry) -> None:
        """Record an entry the ingest rules admitted; indices come in increasing order."""
        self._times.record(index, entry.actor, entry.ts)
        kept = self._by_type.get(entry.type)
        if kept is not None:
            kept[0].append(index)
            kept[1].append(entry)

    def admit_unread(self, index: int, actor: str, ts: int) -> None:
        """``admit`` for an entry of a type no replayer reads: only its signer and time."""
        self._times.record(index, actor, ts)

    @property
    def reads(self) -> Collection[str]:
        """The types whose entries are kept for the replayers."""
        return self._by_type.keys()

    def earlier(
        self, kinds: Collection[str], stop: int, start: int = 0
    ) -> Iterator[tuple[int, Entry]]:
        """See ``AuditHistory.earlier``.

        Raises:
            ValueError: a kind is not among the ``reads`` this history was made for.
        """
        runs: list[Iterator[tuple[int, Entry]]] = []
        for kind in frozenset(kinds):
            kept = self._by_type.get(kind)
            if kept is None:
                raise ValueError(f"{kind} is not among the types the replayers read")
            indices, entries = kept
            lo, hi = bisect_left(indices, start), bisect_left(indices, stop)
            runs.append(zip(indices[lo:hi], entries[lo:hi], strict=True))
        if len(runs) == 1:
            return runs[0]
        return merge(*runs, key=itemgetter(0))

    def blob(self, sha256_hex: str, max_bytes: int = MAX_REPLAYED_BLOB_BYTES) -> bytes | None:
        """See ``AuditHistory.blob``: read from the bundle now, and hashed again.

        Raises:
            BlobError: the blob is longer than ``max_bytes``, cannot be read, or no longer
                matches its hash.
        """
        found = self._blobs.get(sha256_hex)
        if found is None:
            return None
        try:
            data = read_blob(found, max_bytes)
        except BlobError as e:
            raise BlobError(f"blob {sha256_hex}: {e}") from e
        if hashlib.sha256(data).hexdigest() != sha256_hex:
            raise BlobError(f"blob {sha256_hex} changed since it was checked against its hash")
        return data

    def stamp(self, index: int) -> tuple[str, int] | None:
        return self._times.stamp(index)

    def latest_signed_before(self, index: int) -> tuple[int, str, int] | None:
        return self._times.latest_before(index)

    def kept(self) -> dict[str, list[tuple[int, Entry]]]:
        """The entries kept so far, by type, in log order: what a saved audit state holds
        (``exam_core.audit.saved_state``)."""
        return {
            kind: list(zip(indices, entries, strict=True))
            for kind, (indices, entries) in self._by_type.items()
        }

    @property
    def times(self) -> SigningTimes:
        return self._times

    def resume(self, kept: Mapping[str, Sequence[tuple[int, Entry]]], times: SigningTimes) -> None:
        """Continue from a saved audit: ``kept`` and ``times`` as ``kept`` and ``times`` gave
        them, for the types this history keeps.

        Raises:
            ValueError: ``kept`` holds a type this history does not keep, an entry of another
                type, or indices out of order.
        """
        for kind, pairs in kept.items():
            if kind not in self._by_type:
                raise ValueError(f"{kind} is not among the types the replayers read")
            indices, entries = self._by_type[kind]
            for index, entry in pairs:
                if entry.type != kind or (indices and index <= indices[-1]):
                    raise ValueError(
                        f"kept {kind} entry {index} is out of order or of another type"
                    )
                indices.append(index)
                entries.append(entry)
        self._times = times


class EarlierIndex(Protocol):
    """What a replayer learns from earlier entries, one entry at a time in log order."""

    def learn(self, index: int, entry: Entry) -> None: ...


IndexT = TypeVar("IndexT", bound=EarlierIndex)


class IncrementalIndex(Generic[IndexT]):
    """An ``EarlierIndex`` of the entries before each replayed entry, read once.

    The audit replays in log order over one growing history, so each call reads only the
    entries added since the previous one.  Given another history, or an earlier index, it
    starts again from an empty index; if reading fails half-way, the next call starts again.
    """

    def __init__(self, reads: frozenset[str], empty: Callable[[], IndexT]) -> None:
        self._reads = reads
        self._empty = empty
        self._history: AuditHistory | None = None
        self._read = 0
        self._index = empty()

    def before(self, index: int, history: AuditHistory) -> IndexT:
        """The index of the admitted entries of ``reads`` before ``index``."""
        if history is not self._history or index < self._read:
            self._history, self._read, self._index = history, 0, self._empty()
        try:
            for position, entry in history.earlier(self._reads, index, self._read):
                self._index.learn(position, entry)
        except Exception:
            self._history = None  # half-read
            raise
        self._read = max(self._read, index)
        return self._index
