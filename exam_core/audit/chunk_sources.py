"""Where an audit's signature worker reads the entries of its chunks (``exam_core.audit.pool``).

``HeldEntries``: the entries and every registered key, whole, given when the worker starts.

``LinedUpEntries``: the log's entry bundles as the auditing process lines them up
(``exam_core.audit.entry_bundles``).  Lining up reads and hashes every bundle file once before
anything else can use the log — about a sixtieth of an audit, during which a worker started
after it would have nothing to do.  So a worker forked before that step waits only for the
bundles of the chunk it took: the auditing process publishes each bundle's file, entry count
and SHA-256 in shared memory (``LiningUp``) as it lines it up, and the log's size when done.

The worker reads a published bundle as the auditing process does (``LogEntries``: a file that
no longer has the published SHA-256 reads as empty entries), and learns the registered keys
itself, from the registrations in the bundles up to its chunk.  Its key list is therefore the
auditing process's list cut where the chunk ends — the same registrations, read in the same
order — unless a file changed between two reads; each chunk's answers carry the SHA-256 of the
key list they number (``key_list_digest``), and the auditing process takes them only when its
own list has that digest at that length.  A key registered after a chunk is not in the
worker's list: an entry signed by it is answered None and verified by the ordered pass, which
refuses it as a process without workers does.
"""

from __future__ import annotations

import ctypes
import hashlib
import mmap
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from exam_core.audit.answer_columns import KeyList
from exam_core.audit.log_entries import LogBundle, LogEntries
from exam_core.audit.signatures import ProvingKeys, keys_by_name, registered_key_pairs
from exam_core.log.merkle import HASH_SIZE
from exam_core.log.tiles import ENTRIES_LEVEL, TILE_WIDTH, TilePath

__all__ = [
    "Chunk",
    "ChunkSource",
    "HeldEntries",
    "KeyListDigests",
    "LinedUpEntries",
    "LiningUp",
    "shared_zeros",
]


class Chunk(NamedTuple):
    """What a worker proves one chunk with."""

    entries: Sequence[bytes]
    """The chunk's entries: fewer than asked at the log's end, none past it."""
    prover: ProvingKeys
    listed: KeyList
    """The key list the answers number keys by."""
    listed_digest: bytes
    """``KeyListDigests`` of ``listed``."""


class ChunkSource(Protocol):
    """What a worker proves its chunks from."""

    def chunk(self, start: int, size: int) -> Chunk:
        """The chunk of up to ``size`` entries from ``start`` on."""
        ...


class KeyListDigests:
    """SHA-256 of a key list after each of its keys, as the list grows: what a chunk's key
    numbers mean (``digests[k]``: of its first ``k`` keys)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self.digests = [self._hash.digest()]

    def add(self, pairs: Sequence[tuple[str, bytes]]) -> None:
        for name, public_key in pairs:
            encoded = name.encode("utf-8", "surrogatepass")
            self._hash.update(len(encoded).to_bytes(4, "big") + encoded + public_key)
            self.digests.append(self._hash.digest())

    @property
    def last(self) -> bytes:
        return self.digests[-1]


class HeldEntries:
    """Entries and registered keys given whole; the keys' list is the board's."""

    def __init__(
        self,
        entries: Sequence[bytes],
        keys: Mapping[str, frozenset[bytes]],
        origin: str | None,
        listed: KeyList,
    ) -> None:
        self._entries = entries
        self._keys = dict(keys)
        self._origin = origin
        self._listed = listed
        digests = KeyListDigests()
        digests.add(listed)
        self._digest = digests.last
        self._prover: ProvingKeys | None = None  # made in the worker, after it starts

    def chunk(self, start: int, size: int) -> Chunk:
        if self._prover is None:
            self._prover = ProvingKeys(self._keys, self._origin)
        return Chunk(self._entries[start : start + size], self._prover, self._listed, self._digest)


def shared_zeros(ctype: Any, count: int) -> Any:
    """A ctypes array of ``count`` zeros in anonymous shared memory, which a forked process
    shares.  The kernel gives the pages as they are first touched, so an array sized for the
    most entries a bundle could hold costs only what is written."""
    memory = mmap.mmap(-1, max(count, 1) * ctypes.sizeof(ctype))
    return (ctype * max(count, 1)).from_buffer(memory)  # which keeps the mapping


class LiningUp:
    """The log's entry bundles as the auditing process lines them up, in shared memory.

    ``bundles`` is the most the log can hold (one a position of the bundle's files); the
    auditing process publishes them in order (``publish``), then the log's size (``end``).
    Made before the workers are forked, which share it; every call is made with the board's
    lock held, and the caller then wakes whoever waits on it.
    """

    def __init__(self, bundles: int) -> None:
        self.capacity = bundles
        self._state = shared_zeros(ctypes.c_int64, 2)
        """[bundles published, the log's size + 1 once known (0 before)]"""
        self._digests = shared_zeros(ctypes.c_ubyte, bundles * HASH_SIZE)
        self._counts = shared_zeros(ctypes.c_int32, bundles)
        self._widths = shared_zeros(ctypes.c_int16, bundles)
        """The width of a partial bundle, 0 for a full one."""
        self._registers = shared_zeros(ctypes.c_uint8, bundles)

    def publish(self, bundle: LogBundle) -> None:
        """Add the log's next bundle."""
        n = self._state[0]
        if n >= self.capacity:
            return  # cannot be: a position is counted for every bundle lined up
        self._digests[n * HASH_SIZE : (n + 1) * HASH_SIZE] = bundle.digest
        self._counts[n] = bundle.count
        self._widths[n] = bundle.tile.width or 0
        self._registers[n] = bundle.registers_keys
        self._state[0] = n + 1

    def end(self, size: int) -> None:
        """Every bundle is published; the log holds ``size`` entries."""
        self._state[1] = size + 1

    @property
    def ended(self) -> bool:
        return bool(self._state[1])

    def published(self, since: int) -> tuple[list[LogBundle], int | None]:
        """(the bundles published from number ``since`` on, the log's size if known)."""
        end = self._state[0]
        size = self._state[1] - 1
        found = [
            LogBundle(
                TilePath(ENTRIES_LEVEL, n, self._widths[n] or None),
                self._counts[n],
                bytes(self._digests[n * HASH_SIZE : (n + 1) * HASH_SIZE]),
                bool(self._registers[n]),
            )
            for n in range(since, end)
        ]
        return found, (size if size >= 0 else None)


_WAIT_SECONDS = 0.05
"""How long a worker waits for the next bundle before it looks again (it is woken at once
when one is published; this only bounds a wake-up it missed)."""


class LinedUpEntries:
    """A worker's chunks from the bundles the auditing process publishes as it lines them
    up (``LiningUp``), and the keys their registrations name, learnt in log order."""

    def __init__(
        self,
        files: Mapping[TilePath, bytes],
        lining_up: LiningUp,
        lock: Any,
        cap: int | None,
        origin: str,
    ) -> None:
        """``cap``: the newest checkpoint's size, past which no entry is audited."""
        self._entries = LogEntries(files, [])
        if cap is not None:
            self._entries.cut(cap)
        self._lining_up = lining_up
        self._lock = lock
        self._cap = cap
        self._origin = origin
        self._size: int | None = None
        self._scanned = 0
        """Bundles whose registrations are in ``listed``."""
        self.listed: KeyList = []
        self._digests = KeyListDigests()
        self._known: set[tuple[str, bytes]] = set()
        self._prover = ProvingKeys({}, origin)

    def chunk(self, start: int, size: int) -> Chunk:
        end = start + size if self._cap is None else min(start + size, self._cap)
        while self._size is None and self._entries.lined_up < end:
            with self._lock:
                bundles, known_size = self._lining_up.published(self._entries.bundles_lined_up)
                if not bundles and known_size is None:
                    self._lock.wait(_WAIT_SECONDS)
                    continue
            self._entries.extend(bundles)
            if known_size is not None:
                self._size = known_size
                self._entries.cut(known_size)
        end = min(end, len(self._entries))
        if start < end:
            self._learn_keys(end)
        entries = self._entries[start:end] if start < end else []
        return Chunk(entries, self._prover, self.listed, self._digests.last)

    def _learn_keys(self, end: int) -> None:
        """Add the keys registered in the bundles up to entry ``end`` (exclusive), in order."""
        last = -(-end // TILE_WIDTH)
        found: list[tuple[str, bytes]] = []
        for n in range(self._scanned, last):
            if self._entries.registers_keys(n):
                for pair in registered_key_pairs(self._entries.bundle(n)):
                    if pair not in self._known:
                        self._known.add(pair)
                        found.append(pair)
        self._scanned = max(self._scanned, last)
        if found:
            self.listed = [*self.listed, *found]
            self._digests.add(found)
            self._prover = ProvingKeys(keys_by_name(self.listed), self._origin)
