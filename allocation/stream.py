"""The portable seeded stream that drives every random choice of a draw (research §4.1).

An auditor must be able to re-implement the draw in any language and get the same result bit
for bit, so nothing here depends on Python's ``random`` or on floats:

1. bytes: ``block_i = SHA-256(seed ‖ uint16_be(len(label)) ‖ label ‖ uint64_be(i))`` for
   i = 0, 1, 2, …, consumed strictly in order; one label per purpose keeps sub-streams apart;
2. ``below(n)``: read 8 bytes as big-endian ``u``; with ``limit = 2^64 − (2^64 mod n)``, read
   again while ``u ≥ limit``, else return ``u mod n`` (exactly uniform);
3. ``shuffle``: Fisher–Yates from the end, ``for i = n−1 … 1: j = below(i+1); swap``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

_TWO_64 = 1 << 64


class SeedStream:
    """A labelled SHA-256 counter-mode stream over a seed."""

    def __init__(self, seed: bytes, label: str) -> None:
        encoded = label.encode("utf-8")
        if len(encoded) >= 1 << 16:
            raise ValueError("a stream label is shorter than 65,536 bytes")
        self._prefix = bytes(seed) + len(encoded).to_bytes(2, "big") + encoded
        self._counter = 0
        self._buffer = b""
        self._offset = 0

    def read(self, size: int) -> bytes:
        """The next ``size`` bytes of the stream."""
        while len(self._buffer) - self._offset < size:
            block = hashlib.sha256(self._prefix + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
            self._buffer = self._buffer[self._offset :] + block
            self._offset = 0
        out = self._buffer[self._offset : self._offset + size]
        self._offset += size
        return out

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` by 64-bit rejection sampling (``1 ≤ n ≤ 2^64``).

        Raises:
            ValueError: ``n`` is outside ``1 ≤ n ≤ 2^64`` (a caller bug).
        """
        if not 1 <= n <= _TWO_64:
            raise ValueError(f"below(n) needs 1 <= n <= 2^64, got {n}")
        limit = _TWO_64 - (_TWO_64 % n)
        while True:
            u = int.from_bytes(self.read(8), "big")
            if u < limit:
                return u % n

    def shuffle(self, items: Sequence[T]) -> list[T]:
        """A new list: ``items`` in Fisher–Yates order (from the last position down)."""
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out
