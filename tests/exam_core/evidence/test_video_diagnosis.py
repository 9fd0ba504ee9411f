"""The reason a file is not sealed video costs a piece of memory, not the sealed segment's size.

To say that a file is a segment with one byte changed, or cut short, ``examctl evidence verify``
compares it with the bundle's copy of the segment (a blob of up to 256 MiB).  That copy was
read whole; it is read in pieces now, beside the file's pieces, and hashed as it is read: a
copy that does not hash to its seal explains nothing.
"""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import exam_core.audit.reader
import exam_core.evidence.segment_match
from api.cli.main import main
from exam_core.audit.reader import MemoryBlob, read_bundle
from exam_core.errors import BlobError, EvidenceError
from exam_core.evidence import GENESIS, BundleLog, Seal, prove_recording
from exam_core.evidence.segment_match import match_recording
from exam_core.input_file import InputFile
from exam_core.log.policy import parse_policy
from tests.exam_core.evidence.exam_log import EXAMS, ExamLog

PIECE = 64 << 10
"""The piece size for these tests: small beside the segment, so a copy held whole shows."""
SEGMENT = 6 << 20
"""A sealed segment of 6 MiB (a real one is up to 256 MiB)."""
CHANGED = (4 << 20) + 123
"""The byte changed in the altered file: deep into the segment, past many pieces."""
BOUND = 1 << 20
"""What an explanation may hold at its peak: a sixth of the segment."""
EXAM = EXAMS["E1"]
NAME = f"segment 0 of exam {EXAM} ({SEGMENT} bytes)"


def _segment() -> bytes:
    seed = hashlib.sha256(b"a long sealed segment").digest()
    return b"".join(
        hashlib.sha256(seed + k.to_bytes(4, "big")).digest() for k in range(SEGMENT // 32)
    )


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exam_core.evidence.segment_match, "PIECE_BYTES", PIECE)
    monkeypatch.setattr(exam_core.audit.reader, "PIECE_BYTES", PIECE)


@pytest.fixture(scope="module")
def segment() -> bytes:
    return _segment()


@pytest.fixture
def bundle(tmp_path: Path, segment: bytes) -> Path:
    """A log in which exam E1 sealed one segment of ``SEGMENT`` bytes, its blob kept."""
    log = ExamLog()
    log.begin("E1")
    head = log.seal("E1", 0, GENESIS, segment)
    log.finish("E1", 1, head)
    return log.write(tmp_path / "bundle")


def _explain(bundle: Path, video: Path) -> tuple[str, int]:
    """The refusal of ``video`` against ``bundle`` and the peak memory it took (the bundle's
    entries are read before the measure starts)."""
    read = read_bundle(bundle)
    log = BundleLog(read)
    assert read.policy is not None
    policy = parse_policy(read.policy)
    with InputFile(video, limit=1 << 30, what="video file") as recording:
        tracemalloc.start()
        try:
            with pytest.raises(EvidenceError) as refused:
                prove_recording(recording, log, policy)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return str(refused.value), peak


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda s: _flip(s, CHANGED),
            f"altered: the {SEGMENT} bytes from offset 0 match {NAME} up to its byte {CHANGED}, "
            "which differs",
        ),
        (
            lambda s: s[: SEGMENT - 5],
            f"trimmed: the {SEGMENT - 5} bytes from offset 0 are the first {SEGMENT - 5} bytes "
            f"of {NAME}",
        ),
        (
            lambda s: _flip(s[: SEGMENT - 5], CHANGED),
            f"re-encoded or altered: the {SEGMENT - 5} bytes from offset 0 start no sealed "
            "segment (no seal has their SHA-256 at any sealed length)",
        ),
    ],
    ids=["one changed byte", "cut short", "cut short and changed"],
)
def test_a_refusal_against_a_large_segment_is_explained_in_pieces(
    tmp_path: Path, bundle: Path, segment: bytes, make: Callable[[bytes], bytes], reason: str
) -> None:
    video = tmp_path / "video.bin"
    video.write_bytes(make(segment))
    message, peak = _explain(bundle, video)
    assert message == reason
    assert peak < BOUND, f"{peak} bytes at the peak for a segment of {SEGMENT}"


def test_the_cli_gives_the_same_reason(
    tmp_path: Path, bundle: Path, segment: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    video = tmp_path / "video.bin"
    video.write_bytes(_flip(segment, CHANGED))
    assert main(["evidence", "verify", str(video), "--bundle", str(bundle)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"not sealed: {video}: altered: the {SEGMENT} bytes from offset 0 match {NAME} "
        f"up to its byte {CHANGED}, which differs\n"
    )


@pytest.mark.parametrize(
    "forged",
    [
        lambda s: _flip(s, 20),  # would say "up to its byte 20"
        lambda s: _flip(s, CHANGED),  # the file itself: would say "up to its byte SEGMENT"
        lambda s: _flip(s, CHANGED)[: SEGMENT - 1],  # shorter than sealed
        lambda s: _flip(s, CHANGED) + b"tail",  # longer than sealed
    ],
    ids=["another changed byte", "the file itself", "shorter", "longer"],
)
def test_a_blob_that_does_not_hash_to_its_name_explains_nothing(
    tmp_path: Path, bundle: Path, segment: bytes, forged: Callable[[bytes], bytes]
) -> None:
    sha = hashlib.sha256(segment).hexdigest()
    (bundle / "blobs" / sha).write_bytes(forged(segment))
    video = tmp_path / "video.bin"
    video.write_bytes(_flip(segment, CHANGED))
    message, _ = _explain(bundle, video)
    assert message == (
        f"re-encoded or altered: the {SEGMENT} bytes from offset 0 start no sealed segment "
        "(no seal has their SHA-256 at any sealed length)"
    )


@dataclass(frozen=True)
class _FailingBlob:
    """The sealed segment's blob, unreadable after its first piece (a disk error)."""

    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    def pieces(self) -> Iterator[bytes]:
        yield self.data[:PIECE]
        raise BlobError("read error")


def test_a_blob_that_cannot_be_read_explains_nothing() -> None:
    data = _segment()[: 1 << 20]
    seal = Seal(0, "unit", EXAM, 0, GENESIS, hashlib.sha256(data).digest(), len(data), 0, 1)
    with pytest.raises(EvidenceError, match=r"^re-encoded or altered: "):
        match_recording(MemoryBlob(_flip(data, 7)), [seal], lambda _sha: _FailingBlob(data))
