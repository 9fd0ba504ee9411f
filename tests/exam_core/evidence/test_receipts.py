"""A candidate's receipt: made from the log, verified offline, shown as text and QR codes with no
personal data, and checked against today's log — where a result changed after the fact fails
with a consistency failure."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from api.cli.main import main
from api.cli.receipt import qr_codes
from exam_core.errors import CheckpointError, EvidenceError, ProofError
from exam_core.evidence.result_receipt import (
    make_result_receipt,
    parse_result_receipt,
    verify_result_receipt,
)
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import Policy, render_policy
from tests.exam_core.evidence.exam_log import CANDIDATES, EXAMS, ExamLog

EXAM = EXAMS["E1"]


def _day(score: int, *, later: bool) -> ExamLog:
    """E1's exam scored ``score``; with ``later``, E2's exam runs after it."""
    log = ExamLog()
    log.honest_exam("E1")
    log.score("E1", score)
    if later:
        log.honest_exam("E2")
    return log


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    bundle = _day(100, later=False).write(tmp_path / "issued")
    out = tmp_path / "receipt.txt"
    code, text, _ = _run(
        capsys, "receipt", "make", "--bundle", str(bundle), "--exam", EXAM, "--out", str(out)
    )
    assert code == 0, text
    return out


def test_a_receipt_verifies_offline(receipt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "receipt", "verify", str(receipt))
    assert (code, err) == (0, "")
    assert f"exam {EXAM}: 科目三 class C1, score 100, passed" in out
    assert "policy: the receipt's own" in out
    policy = receipt.parent / "issued" / "policy"
    code, out, _ = _run(capsys, "receipt", "verify", str(receipt), "--policy", str(policy))
    assert code == 0
    assert "policy: pinned" in out


def test_a_receipt_under_another_log_key_does_not_hold(
    receipt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = Ed25519Signer.from_seed("exam.example/c/370100-01", b"\x42" * 32)
    policy = tmp_path / "stranger"
    policy.write_bytes(render_policy(Policy.build(log=stranger.vkey)))
    code, _, err = _run(capsys, "receipt", "verify", str(receipt), "--policy", str(policy))
    assert code == 1
    assert "does not hold" in err


def test_every_changed_byte_of_a_receipt_is_refused(receipt: Path) -> None:
    data = receipt.read_bytes()  # the receipt's own policy too: a comment there included
    for i in sorted(random.Random(7).sample(range(len(data)), 250)):
        changed = bytearray(data)
        changed[i] ^= 0x01
        with pytest.raises((EvidenceError, CheckpointError, ProofError)):
            verify_result_receipt(bytes(changed))


def test_show_prints_text_and_qr_codes_without_personal_data(
    receipt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "receipt", "show", str(receipt))
    assert code == 0
    assert f"exam {EXAM}" in out
    assert "score 100, passed" in out
    for candidate in CANDIDATES.values():
        assert candidate not in out
    assert parse_result_receipt(receipt.read_bytes()).exam == EXAM
    codes = qr_codes(receipt.read_bytes())
    assert "".join(codes) in out
    assert f"QR {len(codes)} of {len(codes)}" in out


def test_a_large_receipt_becomes_a_structured_append_sequence() -> None:
    assert len(qr_codes(b"x" * 2_000)) == 1
    assert len(qr_codes(b"x" * 9_000)) == 4
    with pytest.raises(EvidenceError, match="do not fit 16 QR codes"):
        qr_codes(b"x" * 50_000)


def test_the_receipt_still_holds_in_the_log_of_today(
    receipt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = _day(100, later=True).write(tmp_path / "today")
    code, out, err = _run(capsys, "receipt", "check", str(receipt), "--bundle", str(today))
    assert (code, err) == (0, "")
    assert "receipt holds today" in out
    assert "is consistent with the receipt's checkpoint" in out


def test_a_result_changed_after_the_fact_fails_with_a_consistency_failure(
    receipt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The insider rebuilds the log with another score and signs a new checkpoint with the
    # log's own key: every checkpoint verifies, but the receipt's cannot be extended to it.
    rewritten = _day(60, later=True).write(tmp_path / "rewritten")
    code, _, err = _run(capsys, "receipt", "check", str(receipt), "--bundle", str(rewritten))
    assert code == 1
    assert "consistency failure" in err
    assert "an entry was changed or removed" in err


def test_a_log_cut_back_before_the_receipt_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _day(100, later=True)
    log.write(tmp_path / "issued")
    out = tmp_path / "r.txt"
    _run(
        capsys,
        "receipt",
        "make",
        "--bundle",
        str(tmp_path / "issued"),
        "--exam",
        EXAM,
        "--out",
        str(out),
    )
    shorter = _day(100, later=False).write(tmp_path / "shorter")
    code, _, err = _run(capsys, "receipt", "check", str(out), "--bundle", str(shorter))
    assert code == 1
    assert "fewer than" in err


def test_only_a_result_gets_a_receipt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _day(100, later=False)
    with pytest.raises(EvidenceError, match="not a result"):
        make_result_receipt(log.log.entries[1], b"proof", b"policy")
    bundle = log.write(tmp_path / "b")
    args: list[Any] = ["receipt", "make", "--bundle", str(bundle), "--out", str(tmp_path / "x")]
    assert _run(capsys, *args, "--exam", EXAMS["E2"])[0] == 2
    assert _run(capsys, *args, "--exam", "not-hex")[0] == 2
    for garbage in (b"", b"exam-integrity/result-receipt@v1\n", b"\x00" * 100):
        path = tmp_path / "garbage"
        path.write_bytes(garbage)
        code, _, err = _run(capsys, "receipt", "verify", str(path))
        assert code == 1
        assert "does not hold" in err
