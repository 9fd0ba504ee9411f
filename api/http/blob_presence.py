"""Whether the blobs an entry names are stored, answered without stalling the event loop.

Why it exists: ``POST /entries`` refuses an entry whose blobs are not stored with their length,
and the store answers that with a ``stat`` of the blob's file.  A ``stat`` is a system call
that waits whenever the file system is busy (another thread syncing the blob's folder, another
process's writes), and made on the event loop it stalls every request the service is serving.

Blobs are named by their hash, never change and are never removed by the service, so a blob
once seen stored stays stored: ``BlobPresence`` remembers the latest blobs stored through it or
found on disk (a bounded number, the oldest forgotten first) and answers for them at once; it
looks the others up in a worker thread, all of one request's at once.  An in-car unit uploads
its chunk and then the entry naming it, so the entry's blob is nearly always remembered.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from api.http.offload import in_thread
from exam_core.centre.blobs import BlobStore

REMEMBERED = 65_536
"""Blobs remembered (about 10 MB): more than an hour of a hundred in-car units' chunks."""


class BlobPresence:
    """The stored blobs of one store, the latest of them remembered with their lengths."""

    def __init__(self, blobs: BlobStore, remembered: int = REMEMBERED) -> None:
        self._blobs = blobs
        self._known: OrderedDict[str, int] = OrderedDict()
        self._remembered = remembered

    def stored(self, sha256: str, length: int) -> None:
        """Remember that blob ``sha256`` of ``length`` bytes is stored (durably)."""
        self._known[sha256] = length
        self._known.move_to_end(sha256)
        while len(self._known) > self._remembered:
            self._known.popitem(last=False)

    async def missing(self, references: Sequence[tuple[str, int]]) -> list[str]:
        """The hash of each of ``references`` (sha256, length) not stored with that length,
        in order.

        Raises:
            StoreError: a hash is not 64 lowercase hex digits (the schema checked it).
        """
        absent = await self.absent(references)
        return [s for s, n in references if (s, n) in absent]

    async def absent(self, references: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
        """Those of ``references`` not stored with their length; the ones not remembered are
        looked up on disk in one worker-thread trip.

        Raises:
            StoreError: a hash is not 64 lowercase hex digits (the schema checked it).
        """
        unknown = [(s, n) for s, n in references if self._known.get(s) != n]
        if not unknown:
            return set()
        found = await in_thread(self._lengths, [s for s, _ in unknown])
        absent = set()
        for (sha, length), stored in zip(unknown, found, strict=True):
            if stored == length:
                self.stored(sha, length)
            else:
                absent.add((sha, length))
        return absent

    def _lengths(self, digests: list[str]) -> list[int | None]:
        lengths: list[int | None] = []
        for sha in digests:
            try:
                lengths.append(self._blobs.path(sha).stat().st_size)
            except FileNotFoundError:
                lengths.append(None)
        return lengths


__all__ = ["REMEMBERED", "BlobPresence"]
