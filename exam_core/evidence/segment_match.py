"""Which sealed segments a video file is: one segment, or a run of one exam's segments in order.

An investigator or a candidate holds a video file and asks whether it is the exam's sealed
recording.  The answer rests only on the seals (hash and length in signed entries under a
checkpoint): the file must be, byte for byte, one sealed segment or consecutive segments of one
exam's chain in chain order.  Anything else is refused with the reason, found by walking the
file from its first byte:

- no sealed segment starts here (hash and length match none): re-encoded or altered; where the
  bundle holds the sealed segment of that length, the first byte that differs is named;
- the file ends inside the segment that should come next: trimmed;
- a segment of another exam follows: spliced;
- a later segment of the same exam follows: the segments between are missing;
- an earlier segment follows: out of order (swapped).

Pure: the file (a ``Recording``: its size and its bytes by range), the seals and (optionally)
the sealed segments' blobs in; the matched segments out, or ``EvidenceError`` with the reason.
Each candidate length is hashed once per position, feeding one SHA-256 and copying it at every
sealed length, so a file is read about once per segment it holds.  The file is read in pieces
of at most ``PIECE_BYTES`` and only as far as a seal reaches: an exam's recording of gigabytes
costs a piece of memory, not its size, and a hostile file costs no more.  The explanation of a
refusal reads the sealed segments the same way (a ``BlobFile``, in pieces, each piece compared
with the file's bytes at its place and hashed), and uses a segment only when its pieces hash to
its seal: it costs a piece of each side, not a segment of up to 256 MiB.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from exam_core.audit.blob_check import sha256_of_pieces
from exam_core.audit.reader import PIECE_BYTES, BlobFile
from exam_core.errors import BlobError, EvidenceError
from exam_core.evidence.video_chain import Seal

BlobLookup = Callable[[str], BlobFile | None]
"""A sealed segment's blob by SHA-256 hex, when the bundle holds one (only to explain a
refusal): not yet read, nor trusted; its pieces are used only if they hash to that name."""


class Recording(Protocol):
    """A video file to match: its size, and its bytes by range (``exam_core.input_file.InputFile``
    for a file on disk, ``exam_core.audit.reader.MemoryBlob`` for bytes already in memory)."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, size: int) -> bytes:
        """The ``size`` bytes at ``offset`` (within ``size``); raises if they cannot be read."""
        ...


def _pieces(recording: Recording, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start..end`` of ``recording``, at most ``PIECE_BYTES`` at a time."""
    for at in range(start, end, PIECE_BYTES):
        yield recording.read(at, min(PIECE_BYTES, end - at))


@dataclass(frozen=True)
class SegmentMatch:
    """A sealed segment found in the file, at ``offset``."""

    offset: int
    seal: Seal


def _find_at(
    recording: Recording, pos: int, lengths: Sequence[int], by_key: dict[tuple[int, bytes], Seal]
) -> Seal | None:
    """The seal whose segment starts at ``pos`` (one pass over the longest candidate)."""
    digest = hashlib.sha256()
    done = pos
    for length in lengths:
        end = pos + length
        if end > recording.size:
            break
        for piece in _pieces(recording, done, end):
            digest.update(piece)
        done = end
        seal = by_key.get((length, digest.copy().digest()))
        if seal is not None:
            return seal
    return None


MAX_DIAGNOSED = 16
"""At most this many sealed segments (the nearest in length) are compared to explain a refusal."""


def _first_difference(a: bytes, b: bytes) -> int:
    """The first index where ``a`` and ``b`` differ (bisection over C-speed prefix compares)."""
    low, high = 0, min(len(a), len(b))
    if a[:high] == b[:high]:
        return high
    while high - low > 1:  # a[:low] == b[:low] and a[:high] != b[:high]
        mid = (low + high) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid
    return low


class _Comparison:
    """How the file's ``length`` bytes from ``pos`` (which it must hold) differ from the first
    ``length`` of a blob whose pieces pass through ``feed``: the first byte that differs
    (``length`` if none) and the last (-1 if none).  Piece by piece: neither side is held whole,
    and the file is read only where a piece of the blob lies."""

    def __init__(self, recording: Recording, pos: int, length: int) -> None:
        self._recording = recording
        self._pos = pos
        self._length = length
        self._at = 0
        self.first, self.last = length, -1

    @property
    def hopeless(self) -> bool:
        """Two bytes apart differ: the blob explains nothing (neither cut short nor one byte)."""
        return self.first < self.last

    def _compare(self, piece: bytes) -> None:
        start = self._at
        end = min(start + len(piece), self._length)
        view = memoryview(piece)
        for got in _pieces(self._recording, self._pos + start, self._pos + end):
            offset = self._at - start
            want = bytes(view[offset : offset + len(got)])
            if got != want:
                if self.first == self._length:
                    self.first = self._at + _first_difference(got, want)
                self.last = self._at + len(got) - 1 - _first_difference(got[::-1], want[::-1])
            self._at += len(got)
        self._at = start + len(piece)

    def feed(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        """The blob's ``pieces``, each compared as it passes; they stop once ``hopeless``."""
        for piece in pieces:
            if self._at < self._length:
                self._compare(piece)
            yield piece
            if self.hopeless:
                return


def _differences(
    recording: Recording, pos: int, seal: Seal, found: BlobFile, length: int
) -> tuple[int, int] | None:
    """The first and last byte that differ between the file's ``length`` bytes from ``pos``
    and the first ``length`` of ``found``; None when ``found`` cannot be read, is not
    ``seal``'s segment (its pieces, all read, do not hash to the seal), or differs in bytes
    too far apart to explain anything.  Nothing of it counts before its hash is checked."""
    if found.size != seal.length:
        return None  # not the sealed segment: it cannot hash to the seal
    comparison = _Comparison(recording, pos, length)
    try:
        digest, size = sha256_of_pieces(comparison.feed(found.pieces()))
    except BlobError:
        return None
    if comparison.hopeless or size != seal.length or digest != seal.sha256:
        return None
    return comparison.first, comparison.last


def _diagnose(
    recording: Recording,
    pos: int,
    successor: Seal | None,
    seals: Sequence[Seal],
    blob: BlobLookup,
) -> str:
    """Why no sealed segment starts at ``pos``: compared with the segments the bundle holds."""
    rest = recording.size - pos
    where = f"the {rest} bytes from offset {pos}"
    if successor is not None:
        likely = [successor]
    else:
        likely = sorted(seals, key=lambda s: (abs(s.length - rest), s.index))[:MAX_DIAGNOSED]
    for seal in likely:
        found = blob(seal.sha256.hex())
        if found is None:
            continue
        differences = _differences(recording, pos, seal, found, min(rest, seal.length))
        if differences is None:
            continue
        first, last = differences
        name = f"segment {seal.segment} of exam {seal.exam} ({seal.length} bytes)"
        if rest < seal.length and last < 0:
            return f"trimmed: {where} are the first {rest} bytes of {name}"
        if rest >= seal.length and first >= last:
            return f"altered: {where} match {name} up to its byte {first}, which differs"
    if successor is not None and rest < successor.length:
        return (
            f"trimmed or altered: the file ends {rest} bytes into where segment "
            f"{successor.segment} of exam {successor.exam} ({successor.length} bytes) should be"
        )
    return (
        f"re-encoded or altered: {where} start no sealed segment (no seal has their SHA-256 "
        "at any sealed length)"
    )


def match_recording(
    recording: Recording, seals: Sequence[Seal], blob: BlobLookup = lambda _sha: None
) -> list[SegmentMatch]:
    """The sealed segments ``recording`` consists of, in order.

    Raises:
        EvidenceError: the file is empty, or is not one sealed segment or consecutive segments
            of one exam in chain order; the message says where and why.
        Whatever ``recording.read`` raises when the file cannot be read (``InputFileError``).
    """
    if not recording.size:
        raise EvidenceError("the file is empty: no sealed segment is empty")
    by_key = {(s.length, s.sha256): s for s in seals}
    by_place = {(s.exam, s.segment): s for s in seals}
    lengths = sorted({s.length for s in seals})
    matched: list[SegmentMatch] = []
    pos = 0
    while pos < recording.size:
        last = matched[-1].seal if matched else None
        successor = None if last is None else by_place.get((last.exam, last.segment + 1))
        if (
            successor is not None
            and pos + successor.length <= recording.size
            and successor.sha256
            == sha256_of_pieces(_pieces(recording, pos, pos + successor.length))[0]
        ):
            found: Seal | None = successor
        else:
            found = _find_at(recording, pos, lengths, by_key)
        if found is None:
            raise EvidenceError(_diagnose(recording, pos, successor, seals, blob))
        if last is not None and found is not successor:
            here = f"at offset {pos}, after segment {last.segment} of exam {last.exam}"
            if found.exam != last.exam:
                raise EvidenceError(
                    f"spliced: {here} comes segment {found.segment} of another exam, {found.exam}"
                )
            if found.segment > last.segment:
                raise EvidenceError(
                    f"segment missing: {here} comes segment {found.segment}; "
                    f"segment {last.segment + 1} is not in the file"
                )
            raise EvidenceError(
                f"out of order: {here} comes segment {found.segment}, which comes before it "
                "in the chain (segments swapped)"
            )
        matched.append(SegmentMatch(pos, found))
        pos += found.length
    return matched
