"""``examctl evidence verify`` of a long recording costs a piece of memory, not the file's size.

A whole exam's video is hundreds of megabytes (the limit is 4 GiB); read whole, it ran a small
laptop out of memory, and a hostile file of the limit's size cost 4 GiB.  The file is read in
pieces, only as far as a seal reaches, and refused if its size changes while it is verified.
The large files here are sparse: they cost no disk.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.cli.evidence import MAX_VIDEO_BYTES
from api.cli.main import main
from exam_core.audit.reader import PIECE_BYTES, MemoryBlob, read_bundle
from exam_core.errors import EvidenceError, InputFileError
from exam_core.evidence import (
    BundleLog,
    Seal,
    SegmentMatch,
    match_recording,
    prove_recording,
)
from exam_core.evidence.video_chain import GENESIS, seal_link
from exam_core.input_file import InputFile
from exam_core.log.policy import parse_policy
from tests.exam_core.audit.bundle_factory import TS
from tests.exam_core.evidence.exam_log import EXAMS, SEGMENT_MS, ExamLog

REPO = Path(__file__).resolve().parents[3]
SEGMENT = 192 << 20
"""Nearly the largest segment a seal admits (256 MiB): a segment's number as its first byte,
zeros after it (a sparse file)."""
LARGE = 2 * SEGMENT
"""A long exam's recording: two such segments."""
HEADROOM = 128 << 20
"""Address space the verification may use beyond its imports: a third of the file."""
CHILD = """
import resource, sys
import api.cli.main, api.cli.evidence
status = open("/proc/self/status").read()
size = int(status.split("VmSize:")[1].split()[0]) * 1024
limit = size + int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(api.cli.main.main(["evidence", "verify", *sys.argv[2:]]))
"""


def _segment_sha256(number: int) -> bytes:
    digest, zeros = hashlib.sha256(bytes([number])), bytes(PIECE_BYTES)
    for at in range(1, SEGMENT, PIECE_BYTES):
        digest.update(zeros[: min(PIECE_BYTES, SEGMENT - at)])
    return digest.digest()


@pytest.fixture(scope="module")
def large_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A log in which exam E1 sealed two segments of ``SEGMENT`` bytes (their blobs not kept)."""
    log = ExamLog()
    log.board("E1")
    log.start("E1")
    exam, head = EXAMS["E1"], GENESIS
    for number in range(2):
        sha = _segment_sha256(number)
        start = TS + number * SEGMENT_MS
        times = {"start_ms": start, "end_ms": start + SEGMENT_MS}
        seal = {"segment": number, "prev": head, "sha256": sha, "length": SEGMENT}
        log.add(
            log.units["E1"],
            "video.sealed",
            exam=exam,
            **{k: v.hex() if isinstance(v, bytes) else v for k, v in seal.items()},
            **times,
        )
        head = seal_link(exam, segment=number, prev=head, sha256=sha, length=SEGMENT, **times)
    log.end("E1", 2, head)
    return log.write(tmp_path_factory.mktemp("large") / "bundle")


def _sparse(path: Path, length: int) -> Path:
    """A file of ``length`` bytes, mostly holes: the two segments, cut or padded with zeros."""
    with path.open("wb") as f:
        for number in range(2):
            if number * SEGMENT < length:
                f.seek(number * SEGMENT)
                f.write(bytes([number]))
    os.truncate(path, length)
    return path


def _verify_bounded(video: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(HEADROOM), str(video), "--bundle", str(bundle)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def test_a_sealed_recording_of_384_mib_is_proven_within_bounded_memory(
    tmp_path: Path, large_bundle: Path
) -> None:
    result = _verify_bounded(_sparse(tmp_path / "video.bin", LARGE), large_bundle)
    assert (result.returncode, result.stderr) == (0, "")
    assert f"sealed: {tmp_path / 'video.bin'} is segments 0..1 of exam {EXAMS['E1']}" in (
        result.stdout
    )
    assert f"bytes {SEGMENT}..{LARGE}," in result.stdout


def test_a_large_file_that_is_not_sealed_is_refused_within_bounded_memory(
    tmp_path: Path, large_bundle: Path
) -> None:
    video = _sparse(tmp_path / "video.bin", LARGE + 1)
    result = _verify_bounded(video, large_bundle)
    assert "Traceback" not in result.stderr
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        f"not sealed: {video}: re-encoded or altered: the 1 bytes from offset {LARGE} "
        "start no sealed segment (no seal has their SHA-256 at any sealed length)\n"
    )


def test_a_video_file_over_the_limit_is_refused_before_it_is_read(
    tmp_path: Path, large_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _sparse(tmp_path / "video.bin", MAX_VIDEO_BYTES + 1)
    assert main(["evidence", "verify", str(video), "--bundle", str(large_bundle)]) == 2
    err = capsys.readouterr().err
    assert f"is {MAX_VIDEO_BYTES + 1} bytes; the limit is {MAX_VIDEO_BYTES} bytes" in err


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_video_file_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, large_bundle: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    video = tmp_path / "video.bin"
    if kind == "fifo":
        os.mkfifo(video)
    elif kind == "directory":
        video.mkdir()
    else:
        video.symlink_to("/dev/zero")
    assert main(["evidence", "verify", str(video), "--bundle", str(large_bundle)]) == 2
    assert "a regular file is expected" in capsys.readouterr().err


def _holds_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    try:
        names = list(fds.iterdir())
    except OSError:
        return False
    for fd in names:
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("change", [LARGE // 2, LARGE + 1], ids=["shrinks", "grows"])
def test_examctl_refuses_a_video_file_whose_size_changes_while_it_is_verified(
    tmp_path: Path, large_bundle: Path, change: int
) -> None:
    """The size changes once examctl has opened the file, while it hashes 384 MiB: exit 2 and
    no verdict, whether a read finds the file short or the final check finds another size."""
    video = _sparse(tmp_path / "video.bin", LARGE)
    args = [sys.executable, "-c", CHILD, str(HEADROOM), str(video), "--bundle", str(large_bundle)]
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO
    ) as child:
        while child.poll() is None and not _holds_open(child.pid, video):
            time.sleep(0.001)
        os.truncate(video, change)
        out, err = child.communicate(timeout=300)
    assert (child.returncode, out) == (2, "")
    assert err == (
        f"examctl: error: video file {video} changed size while it was read "
        f"({LARGE} bytes when opened, {change} now); nothing of it was verified\n"
    )


def _prove(video: InputFile, bundle: Path) -> None:
    read = read_bundle(bundle)
    assert read.policy is not None
    prove_recording(video, BundleLog(read), parse_policy(read.policy))


def test_a_video_file_that_shrinks_while_it_is_read_is_refused(
    tmp_path: Path, large_bundle: Path
) -> None:
    path = _sparse(tmp_path / "video.bin", LARGE)
    with InputFile(path, limit=MAX_VIDEO_BYTES, what="video file") as video:
        os.truncate(path, LARGE // 2)
        with pytest.raises(InputFileError, match=r"changed size while it was read \(.*\)"):
            _prove(video, large_bundle)


def test_a_video_file_that_grows_while_it_is_read_is_refused(
    tmp_path: Path, large_bundle: Path
) -> None:
    path = _sparse(tmp_path / "video.bin", LARGE)
    with InputFile(path, limit=MAX_VIDEO_BYTES, what="video file") as video:
        _prove(video, large_bundle)  # the bytes it had when opened are the sealed segment
        os.truncate(path, LARGE + 1)
        with pytest.raises(InputFileError, match=f"{LARGE} bytes when opened, {LARGE + 1} now"):
            video.check_unchanged()


def test_a_range_outside_the_file_is_a_caller_bug(tmp_path: Path) -> None:
    path = _sparse(tmp_path / "video.bin", 10)
    with InputFile(path, limit=10, what="video file") as video:
        assert video.read(8, 2) == b"\0\0"
        with pytest.raises(RuntimeError, match="outside"):
            video.read(9, 2)
    with pytest.raises(RuntimeError, match="closed"):
        video.read(0, 1)


def _seal_of(data: bytes) -> Seal:
    sha = hashlib.sha256(data).digest()
    return Seal(0, "unit", EXAMS["E1"], 0, GENESIS, sha, len(data), TS, TS + SEGMENT_MS)


@pytest.mark.parametrize(
    ("changes", "cut", "reason"),
    [
        ([2 * PIECE_BYTES + 5], 0, f"altered: .* up to its byte {2 * PIECE_BYTES + 5}, which"),
        ([5, 2 * PIECE_BYTES + 5], 0, "re-encoded or altered: .* start no sealed segment"),
        ([PIECE_BYTES - 1, PIECE_BYTES], 0, "re-encoded or altered"),
        ([], PIECE_BYTES + 7, f"trimmed: the {2 * PIECE_BYTES + 89} bytes .* are the first"),
        ([PIECE_BYTES + 3], PIECE_BYTES + 7, "re-encoded or altered"),
    ],
    ids=["one byte", "two pieces", "two bytes astride pieces", "trimmed", "trimmed and changed"],
)
def test_the_diagnosis_compares_a_segment_of_many_pieces_piece_by_piece(
    changes: list[int], cut: int, reason: str
) -> None:
    sealed = hashlib.sha256(b"segment").digest() * ((3 * PIECE_BYTES + 96) // 32)
    data = bytearray(sealed[: len(sealed) - cut])
    for at in changes:
        data[at] ^= 0x01
    seal = _seal_of(sealed)
    assert match_recording(MemoryBlob(sealed), [seal]) == [SegmentMatch(0, seal)]
    with pytest.raises(EvidenceError, match=reason):
        match_recording(
            MemoryBlob(bytes(data)), [seal], {seal.sha256.hex(): MemoryBlob(sealed)}.get
        )
