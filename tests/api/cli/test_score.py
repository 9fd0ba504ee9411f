"""``examctl score simulate`` and ``examctl score replay`` through the real command line."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.main import main


def simulate(out: Path, *extra: str, subject: str = "2", seed: str = "5") -> int:
    return main(
        ["score", "simulate", "--subject", subject, "--seed", seed, "--out", str(out), *extra]
    )


def test_simulate_then_replay_prints_the_same_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exam"
    assert simulate(out, "--class", "C1", "--faults", "20104,10202") == 0
    written = capsys.readouterr().out
    result = json.loads((out / "result.json").read_text())
    assert set(result) == {"score", "passed", "deductions"}
    assert result["score"] == 85
    assert {d["code"] for d in result["deductions"]} == {"20104", "10202"}
    assert all(set(d) == {"code", "item", "points", "frame"} for d in result["deductions"])
    exam = json.loads((out / "exam.json").read_text())
    assert exam["map"] == "k2-field-a/3"
    assert exam["rules"] == "ga1026-2017/4"
    assert "examiner_calls" not in exam
    assert len(exam["chunks"]) == len(list((out / "telemetry").iterdir()))
    assert main(["score", "replay", str(out)]) == 0
    replayed = capsys.readouterr().out
    assert replayed == written
    assert replayed.encode() == (out / "result.json").read_bytes()


def test_subject_three_with_a_near_miss(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k3"
    assert simulate(out, "--faults", "X31203:near", subject="3") == 0
    assert json.loads(capsys.readouterr().out) == {"deductions": [], "passed": True, "score": 100}


def test_a_changed_telemetry_byte_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exam"
    assert simulate(out) == 0
    chunk = out / "telemetry" / "chunk-0001.bin"
    data = bytearray(chunk.read_bytes())
    data[100] ^= 1
    chunk.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["score", "replay", str(out)]) == 2
    err = capsys.readouterr().err
    assert "chunk 1 does not match" in err
    assert "Traceback" not in err


def test_a_doctored_result_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exam"
    assert simulate(out) == 0
    (out / "result.json").write_text('{"deductions":[],"passed":true,"score":99}\n')
    assert main(["score", "replay", str(out)]) == 1
    assert "does not match" in capsys.readouterr().err


@pytest.mark.parametrize(
    "faults", ["NOPE", "X30101", "10105:far"], ids=["unknown", "wrong-subject", "bad-variant"]
)
def test_bad_faults_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], faults: str
) -> None:
    assert simulate(tmp_path / "x", "--faults", faults) == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error:")
    assert err.count("\n") == 1


def test_replay_of_a_broken_directory_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", "replay", str(tmp_path)]) == 2
    (tmp_path / "exam.json").write_text("{")
    assert main(["score", "replay", str(tmp_path)]) == 2
    (tmp_path / "exam.json").write_text('{"exam": 1}')
    assert main(["score", "replay", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("examctl: error:") == 3
    assert "Traceback" not in err


def test_replay_in_fresh_processes_gives_the_same_bytes(tmp_path: Path) -> None:
    """Another interpreter, another hash seed: the result bytes do not move."""
    out = tmp_path / "exam"
    assert simulate(out, "--faults", "X30106,10202,X31203", subject="3") == 0
    outputs = set()
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "api.cli.main", "score", "replay", str(out)],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        outputs.add(done.stdout)
    assert outputs == {(out / "result.json").read_bytes()}


def test_truncated_telemetry_is_refused_with_its_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even when the logged hash matches (the unit itself sent a short chunk)."""
    out = tmp_path / "exam"
    assert simulate(out) == 0
    chunk = out / "telemetry" / "chunk-0002.bin"
    short = chunk.read_bytes()[:-100]
    chunk.write_bytes(short)
    exam = json.loads((out / "exam.json").read_text())
    exam["chunks"][2] = hashlib.sha256(short).hexdigest()
    (out / "exam.json").write_text(json.dumps(exam))
    capsys.readouterr()
    assert main(["score", "replay", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error: truncated")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("exam_id", "reason"), [("0" * 32, "exam_mismatch"), ("not-an-exam", "32 lowercase hex")]
)
def test_the_chunks_must_record_the_exam_the_folder_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], exam_id: str, reason: str
) -> None:
    out = tmp_path / "exam"
    assert simulate(out) == 0
    exam = json.loads((out / "exam.json").read_text())
    assert exam["exam"] != exam_id
    exam["exam"] = exam_id
    (out / "exam.json").write_text(json.dumps(exam))
    capsys.readouterr()
    assert main(["score", "replay", str(out)]) == 2
    err = capsys.readouterr().err
    assert reason in err
    assert err.count("\n") == 1


def test_rules_coverage_as_json_lists_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "rules", "--coverage", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 150
    for row in rows:
        assert {"code", "description", "points", "decided_by", "reason"} <= set(row)
        assert row["decided_by"] in {"machine", "examiner", "none"}
    assert main(["score", "rules", "--coverage"]) == 0
    summary = capsys.readouterr().out.splitlines()[0]
    machine = sum(1 for r in rows if r["decided_by"] == "machine")
    assert f"of {len(rows)} rules in the research's tables, {machine} decided by machine" in summary
    assert main(["score", "rules", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert {r["code"] for r in table} >= {r["code"] for r in rows if r["code"]}
    assert main(["score", "rules", "--rules", "ga1026-1999/1"]) == 2


def test_examiner_calls_go_into_the_directory_and_are_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exam"
    calls = ("--examiner-call", "X39012@300", "--examiner-call", "X39016@40")
    assert simulate(out, *calls, subject="3") == 0
    written = capsys.readouterr().out
    result = json.loads(written)
    assert result == {
        "deductions": [
            {"code": "X39016", "frame": 40, "item": "start", "points": 5},
            {"code": "X39012", "frame": 300, "item": "general", "points": 10},
        ],
        "passed": False,
        "score": 85,
    }
    exam = json.loads((out / "exam.json").read_text())
    assert exam["examiner_calls"] == [
        {"code": "X39012", "frame": 300},
        {"code": "X39016", "frame": 40},
    ]
    assert main(["score", "replay", str(out)]) == 0
    replayed = capsys.readouterr()
    assert replayed.out == written
    assert "2 examiner's call(s) counted, 15 points: X39012@300, X39016@40" in replayed.err
    # a call taken out of exam.json is a different score, and replay says so
    del exam["examiner_calls"][1]
    (out / "exam.json").write_text(json.dumps(exam))
    assert main(["score", "replay", str(out)]) == 1


@pytest.mark.parametrize(
    "call",
    ["X30101@300", "X29001@300", "X39012@99999999", "X39012", "X39012@-1", "@5", "x39012@1"],
    ids=["machine-rule", "other-subject", "beyond", "no-frame", "negative", "no-code", "case"],
)
def test_bad_examiner_calls_are_one_line_errors_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], call: str
) -> None:
    out = tmp_path / "x"
    assert simulate(out, "--examiner-call", call, subject="3") == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error:")
    assert err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize(
    "calls",
    [[], {"code": "X39012", "frame": 1}, [{"code": "X39012"}], [{"code": "X39012", "frame": True}],
     [{"code": "X39012", "frame": 1, "tablet": "T"}], [{"code": "X30101", "frame": 1}],
     [{"code": "X39012", "frame": 1}] * 101],
    ids=["empty", "not-a-list", "no-frame", "bool-frame", "extra-field", "machine-rule",
         "too-many"],
)  # fmt: skip
def test_malformed_examiner_calls_in_exam_json_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], calls: object
) -> None:
    out = tmp_path / "exam"
    assert simulate(out, subject="3") == 0
    exam = json.loads((out / "exam.json").read_text())
    exam["examiner_calls"] = calls
    (out / "exam.json").write_text(json.dumps(exam))
    capsys.readouterr()
    assert main(["score", "replay", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error:")
    assert "Traceback" not in err
