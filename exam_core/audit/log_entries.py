"""The log's entries as the audit reads them: from their entry bundles, one bundle at a time.

A year's log is a few million entries, a gigabyte of bundle files; the audit reads them in log
order several times (the tree, the registry pass, the signature workers) and never holds them
all.  ``LogEntries`` is that sequence: which bundle files make up the log (found by
``exam_core.audit.entry_bundles``), and per file its SHA-256 when it was first read, so that a
file changed while the audit runs is a finding (``entry_bundle_changed``) and never a second,
different log: every later read of a bundle must give the bytes the tree was checked on.  What
it keeps is a few dozen bytes a bundle of 256 entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from exam_core.audit.report import FindingLog
from exam_core.errors import BundleError, CheckpointError
from exam_core.log.tiles import TILE_WIDTH, TilePath, decode_entry_bundle

__all__ = ["LogBundle", "LogEntries"]


@dataclass(frozen=True)
class LogBundle:
    """One entry bundle of the log: its file, how many of its entries the log takes, the
    SHA-256 of the file as first read, and whether its text held
    ``exam_core.audit.signatures.KEY_REGISTERED_TEXT`` (a key registration's type)."""

    tile: TilePath
    count: int
    digest: bytes
    registers_keys: bool


class LogEntries(Sequence[bytes]):
    """The log's entries, read from ``files`` bundle by bundle when asked for.

    ``findings`` (optional) receives one ``entry_bundle_changed`` per bundle that no longer
    reads as it did; its entries are then read as empty (they parse as nothing).  Indexing and
    slicing read the bundles they need and keep the last one decoded.
    """

    def __init__(
        self,
        files: Mapping[TilePath, bytes],
        bundles: Sequence[LogBundle],
        findings: FindingLog | None = None,
    ) -> None:
        self._files = files
        self._bundles = list(bundles)
        self._findings = findings
        self.lined_up = sum(b.count for b in self._bundles)
        """Entries of the bundles, the cut aside."""
        self._cut: int | None = None
        self._size = self.lined_up
        self._changed: set[int] = set()
        self._last: tuple[int, list[bytes]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Sent to a worker process without the findings (a worker reports nothing)."""
        state = dict(self.__dict__)
        state["_findings"] = None
        state["_last"] = None
        return state

    def cut(self, size: int) -> None:
        """Keep only the first ``size`` entries, now and after any ``extend``."""
        self._cut = max(size, 0) if self._cut is None else min(self._cut, max(size, 0))
        self._size = min(self._size, self._cut)

    def extend(self, bundles: Sequence[LogBundle]) -> None:
        """Add the log's next bundles (as they are lined up), up to the cut if any."""
        self._bundles.extend(bundles)
        self.lined_up += sum(b.count for b in bundles)
        self._size = self.lined_up if self._cut is None else min(self.lined_up, self._cut)

    @property
    def bundles_lined_up(self) -> int:
        """How many bundles it was given, the cut aside."""
        return len(self._bundles)

    def registers_keys(self, n: int) -> bool:
        """``LogBundle.registers_keys`` of bundle ``n``."""
        return self._bundles[n].registers_keys

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> bytes: ...

    @overload
    def __getitem__(self, index: slice) -> list[bytes]: ...

    def __getitem__(self, index: int | slice) -> bytes | list[bytes]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._size)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            out: list[bytes] = []
            while start < stop:
                n, k = divmod(start, TILE_WIDTH)
                entries = self.bundle(n)
                take = min(stop - start, len(entries) - k)
                out.extend(entries[k : k + take])
                start += take
            return out
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(f"entry {index} is not in a log of {self._size}")
        n, k = divmod(index, TILE_WIDTH)
        return self.bundle(n)[k]

    def __iter__(self) -> Iterator[bytes]:
        for n in range(self.bundle_count):
            yield from self.bundle(n)

    @property
    def bundle_count(self) -> int:
        """How many bundles hold the (possibly cut) log."""
        return -(-self._size // TILE_WIDTH)

    def bundle(self, n: int) -> list[bytes]:
        """The log's entries ``256·n …`` up to 256 of them, read now (or kept from the last)."""
        if self._last is not None and self._last[0] == n:
            return self._last[1]
        meta = self._bundles[n]
        count = min(meta.count, self._size - n * TILE_WIDTH)
        entries = self._read(n, meta)
        entries = entries[:count] if entries is not None else [b""] * count
        self._last = (n, entries)
        return entries

    def bundles(self) -> Iterator[tuple[int, list[bytes]]]:
        """(first index, entries) of each bundle in log order."""
        for n in range(self.bundle_count):
            yield n * TILE_WIDTH, self.bundle(n)

    def registration_candidates(self) -> Iterator[bytes]:
        """Every entry of the bundles whose text held ``KEY_REGISTERED_TEXT`` when first read
        (``LogBundle.registers_keys``), in log order; the other bundles are not read."""
        for n in range(self.bundle_count):
            if self._bundles[n].registers_keys:
                yield from self.bundle(n)

    def hold(self, n: int) -> None:
        """Hold bundle ``n`` to its first read, as ``bundle(n)`` does, without decoding it.

        For a pass that needs none of the bundle's entries (the ordered pass, when every one
        was proven in a worker) but must still find it changed where a read of it would.
        """
        if self._last is not None and self._last[0] == n:
            return
        meta = self._bundles[n]
        if self._bytes(n, meta) is None:
            count = min(meta.count, self._size - n * TILE_WIDTH)
            self._last = (n, [b""] * count)

    def _read(self, n: int, meta: LogBundle) -> list[bytes] | None:
        data = self._bytes(n, meta)
        if data is None:
            return None
        try:
            return decode_entry_bundle(data)
        except CheckpointError as e:  # not after the digest held: assemble_entries decoded it
            self._changed_finding(n, meta, e)
            return None

    def _bytes(self, n: int, meta: LogBundle) -> bytes | None:
        """The bundle file's bytes if they are those first read, else None with a finding."""
        try:
            data = self._files[meta.tile]
        except (BundleError, KeyError) as e:
            self._changed_finding(n, meta, e)
            return None
        if hashlib.sha256(data).digest() != meta.digest:
            self._changed_finding(
                n, meta, BundleError(f"{meta.tile.path}: its bytes differ from the first read")
            )
            return None
        return data

    def _changed_finding(self, n: int, meta: LogBundle, error: Exception) -> None:
        if self._findings is not None and n not in self._changed:
            self._changed.add(n)
            self._findings.add(
                n * TILE_WIDTH,
                "entry_bundle_changed",
                f"{meta.tile.path}: changed while the audit read it "
                f"({error}); its entries are read as empty",
            )
