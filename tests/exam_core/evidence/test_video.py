"""Sealed video: one changed byte, a dropped segment, two swapped segments — each caught by
``examctl evidence verify`` and by the audit; an honest recording proves its exam, its moments,
its place in the chain and its checkpoint."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli.main import main
from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.history import Replayer
from exam_core.audit.reader import MemoryBlob, read_bundle
from exam_core.errors import EvidenceError
from exam_core.evidence import GENESIS, Seal, match_recording
from exam_core.evidence.video_chain import check_chain, seal_link
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import Policy, render_policy
from tests.exam_core.evidence.exam_log import EXAMS, ExamLog, recording, segment_bytes


def _evidence_replayers() -> list[Replayer]:
    """The audit's replayers but the exam day's: this log holds exams with their evidence, not a
    whole day (no room configured, no check-in, no draw), which the day's own replay refuses
    (tests/exam_core/exam_day/test_day_audit.py)."""
    return [r for r in default_replayers() if not isinstance(r, ExamDayReplayer)]


def _audit(root: Path) -> list[str]:
    # The auditor pinned the log's policy out of band; here it is the one the log wrote.
    pinned = (root / "policy").read_bytes()
    report = check_bundle(read_bundle(root), _evidence_replayers(), policy=pinned)
    return [f.code for f in report.findings if f.severity == "error"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = ExamLog()
    log.honest_exam("E1", segments=4)
    log.honest_exam("E2", segments=2)
    return log.write(tmp_path_factory.mktemp("evidence") / "bundle")


def _verify(
    tmp_path: Path, bundle: Path, data: bytes, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    video = tmp_path / "video.bin"
    video.write_bytes(data)
    code = main(["evidence", "verify", str(video), "--bundle", str(bundle)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_honest_log_audits_clean(bundle: Path) -> None:
    assert _audit(bundle) == []


def test_one_sealed_segment_is_proven(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _verify(tmp_path, bundle, segment_bytes(EXAMS["E1"], 2), capsys)
    assert (code, err) == (0, "")
    assert f"segment 2 of exam {EXAMS['E1']}" in out
    assert "sealed by exam.example/c/370100-01/vehicle/unit-E1" in out
    assert "inclusion proof of" in out
    assert "under checkpoint exam.example/c/370100-01 size" in out


def test_the_whole_recording_is_proven_segment_by_segment(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _verify(tmp_path, bundle, recording("E1", [0, 1, 2, 3]), capsys)
    assert code == 0
    assert f"segments 0..3 of exam {EXAMS['E1']}" in out
    assert out.count("verified") == 4
    assert "warning" not in out


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: _flip(segment_bytes(EXAMS["E1"], 1), 2_000), "altered: .* up to its byte 2000"),
        (lambda: recording("E1", [0, 1]) + _flip(segment_bytes(EXAMS["E1"], 2), 2999), "altered"),
        (lambda: segment_bytes(EXAMS["E1"], 1)[:-7], "trimmed: .* are the first"),
        (lambda: recording("E1", [0, 1]) + segment_bytes(EXAMS["E1"], 2)[:100], "trimmed"),
        (lambda: hashlib.sha256(b"re-encoded").digest() * 90, "re-encoded or altered"),
        (lambda: recording("E1", [0, 2, 3]), "segment missing: .* segment 1 is not in the file"),
        (lambda: recording("E1", [0, 2, 1, 3]), "segment missing"),
        (lambda: recording("E1", [1, 0, 2]), "out of order: .*segments swapped"),
        (lambda: recording("E1", [0]) + recording("E2", [1]), "spliced: .* of another exam"),
        (lambda: b"", "the file is empty"),
    ],
    ids=[
        "one changed byte",
        "changed byte in a later segment",
        "trimmed segment",
        "trimmed recording",
        "re-encoded",
        "dropped segment",
        "swapped middle segments",
        "swapped first segments",
        "spliced",
        "empty",
    ],
)
def test_a_file_that_is_not_sealed_video_fails_with_the_reason(
    tmp_path: Path,
    bundle: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[], bytes],
    reason: str,
) -> None:
    data = make()
    code, out, err = _verify(tmp_path, bundle, data, capsys)
    assert code == 1, out
    assert err.startswith("not sealed: ")
    assert re.search(reason, err), err


def _flip(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


def test_a_pinned_policy_of_another_log_is_refused(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = ExamLog()  # the same origin, another log key
    policy = tmp_path / "policy"
    stranger = Policy.build(log=_stranger_vkey(), admins=[other.log.admin.vkey])
    policy.write_bytes(render_policy(stranger))
    video = tmp_path / "v.bin"
    video.write_bytes(segment_bytes(EXAMS["E1"], 0))
    code = main(
        ["evidence", "verify", str(video), "--bundle", str(bundle), "--policy", str(policy)]
    )
    assert code == 1
    assert "checkpoint signature: no known key signed" in capsys.readouterr().err


def _stranger_vkey() -> str:
    return Ed25519Signer.from_seed("exam.example/c/370100-01", b"\x99" * 32).vkey


# --- the audit catches the same three things in the log and its blobs -----------------------


def _dropped(log: ExamLog) -> None:
    """The unit lost segment 2: seals 0, 1, 3, 4; its end names what it sealed."""
    log.begin("E1")
    head = log.record("E1", 0, order=[0, 1, 3, 4])
    log.finish("E1", 4, head)


def _dropped_at_the_end(log: ExamLog) -> None:
    """The last seal never reached the log: the end names one segment more than was sealed."""
    log.begin("E1")
    head = GENESIS
    for number in range(3):
        head = log.seal("E1", number, head)
    data = segment_bytes(EXAMS["E1"], 3)
    last = seal_link(
        EXAMS["E1"],
        segment=3,
        prev=head,
        sha256=hashlib.sha256(data).digest(),
        length=len(data),
        start_ms=0,
        end_ms=1,
    )
    log.finish("E1", 4, last)


def _swapped(log: ExamLog) -> None:
    log.begin("E1")
    head = log.record("E1", 0, order=[0, 2, 1, 3])
    log.finish("E1", 4, head)


def _no_end_commitment(log: ExamLog) -> None:
    log.begin("E1")
    log.record("E1", 2)
    log.finish("E1", None, None)


def _no_video(log: ExamLog) -> None:
    log.begin("E1")
    log.finish("E1", 0, GENESIS)


def _other_unit(log: ExamLog) -> None:
    log.begin("E1")
    data = segment_bytes(EXAMS["E1"], 0)
    log.log.blob(data)
    log.add(
        log.units["E2"],
        "video.sealed",
        exam=EXAMS["E1"],
        segment=0,
        prev=GENESIS.hex(),
        sha256=hashlib.sha256(data).hexdigest(),
        length=len(data),
        start_ms=1,
        end_ms=2,
    )


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (_dropped, {"video_gap"}),
        (_dropped_at_the_end, {"video_tail"}),
        (_swapped, {"video_order", "video_gap", "video_time"}),
        (_no_end_commitment, {"video_unclosed"}),
        (_no_video, {"video_missing"}),
        (_other_unit, {"wrong_unit"}),
    ],
    ids=["dropped", "dropped at the end", "swapped", "unclosed", "no video", "another unit"],
)
def test_the_audit_finds_a_broken_chain(
    tmp_path: Path, script: Callable[[ExamLog], object], expected: set[str]
) -> None:
    log = ExamLog()
    script(log)
    assert set(_audit(log.write(tmp_path / "bundle"))) == expected


def test_the_audit_finds_a_changed_byte_of_a_stored_segment(tmp_path: Path) -> None:
    log = ExamLog()
    log.honest_exam("E1", segments=3)
    root = log.write(tmp_path / "bundle")
    sha = hashlib.sha256(segment_bytes(EXAMS["E1"], 1)).hexdigest()
    path = root / "blobs" / sha
    path.write_bytes(_flip(path.read_bytes(), 10))
    assert set(_audit(root)) == {"blob_hash", "blob_corrupt"}
    (root / "blobs" / sha).unlink()
    assert set(_audit(root)) == {"blob_missing"}


def test_check_chain_and_match_recording_directly() -> None:
    exam = EXAMS["E1"]
    seals, head = [], GENESIS
    for n in range(3):
        data = segment_bytes(exam, n)
        seal = Seal(n, "unit", exam, n, head, hashlib.sha256(data).digest(), len(data), n, n + 1)
        seals.append(seal)
        head = seal.link
    assert check_chain(seals) == []
    matches = match_recording(MemoryBlob(recording("E1", [0, 1, 2])), seals)
    assert [m.seal.segment for m in matches] == [0, 1, 2]
    with pytest.raises(EvidenceError, match="out of order"):
        match_recording(MemoryBlob(recording("E1", [1, 0, 2])), seals)
