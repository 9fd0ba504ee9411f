"""``examctl init``, ``keys new``, ``log append`` and ``log export`` through the real dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api.cli.main import main
from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry
from exam_core.log.note import parse_vkey

ORIGIN = "exam.example/c/370100-02"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("examctl: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def centre_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "centre"
    code, out, _ = run(capsys, "init", "--dir", str(root), "--origin", ORIGIN)
    assert code == 0
    vkey = parse_vkey(out.strip())
    assert vkey.name == ORIGIN
    assert json.loads((root / "centre.json").read_text())["log_vkey"] == out.strip()
    return root


def test_keys_new_and_log_append(centre_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "keys", "new", "--dir", str(centre_dir), "--role", "demo", "--name", "demo/k1"
    )
    assert code == 0
    assert parse_vkey(out.strip()).name == f"{ORIGIN}/demo/k1"
    code, out, err = run(
        capsys, "log", "append", "--dir", str(centre_dir), "--count", "3", "--actor", "demo/k1"
    )
    assert code == 0
    assert out.split() == ["2", "3", "4"]
    assert "appended 3 entries" in err
    code, out, _ = run(capsys, "log", "append", "--dir", str(centre_dir), "--count", "2")
    assert code == 0
    indices = [int(x) for x in out.split()]
    assert indices == [6, 7]  # index 5 registered the default demo key
    with Centre.open(centre_dir) as centre:
        events = [parse_entry(e).event for e in centre.store.entries(0, 8)]
    assert [e["type"] for e in events] == ["key.registered"] * 2 + ["demo.event"] * 3 + [
        "key.registered"
    ] + ["demo.event"] * 2
    assert [e["seq"] for e in events[2:5]] == [1, 2, 3]


def test_refusals_are_one_line_errors(centre_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = str(centre_dir)
    code, _, err = run(capsys, "init", "--dir", d, "--origin", ORIGIN)
    assert code == 2
    assert "not empty" in one_line_error(err)
    code, _, err = run(capsys, "log", "append", "--dir", d, "--count", "1", "--actor", "nobody")
    assert code == 2
    assert "no key file" in one_line_error(err)
    assert run(capsys, "keys", "new", "--dir", d, "--role", "tablet", "--name", "tablet/T1")[0] == 0
    code, _, err = run(capsys, "log", "append", "--dir", d, "--count", "1", "--actor", "tablet/T1")
    assert code == 2
    assert "role_forbidden" in one_line_error(err)
    code, _, err = run(capsys, "log", "append", "--dir", str(centre_dir.parent), "--count", "1")
    assert code == 2
    assert "not a centre directory" in one_line_error(err)


@pytest.mark.parametrize(
    "argv",
    [
        ["log", "append", "--dir", "x", "--count", "0"],
        ["log", "append", "--dir", "x", "--count", "many"],
        ["keys", "new", "--dir", "x", "--role", "pilot", "--name", "n"],
        ["log", "append", "--count", "1"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_passphrase_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(tmp_path / "c")
    monkeypatch.setenv("CENTRE_PASS", "open sesame")
    assert (
        run(capsys, "init", "--dir", root, "--origin", ORIGIN, "--passphrase-env", "CENTRE_PASS")[0]
        == 0
    )
    code, out, _ = run(
        capsys, "log", "append", "--dir", root, "--count", "1", "--passphrase-env", "CENTRE_PASS"
    )
    assert code == 0
    assert out.split() == ["2"]
    code, _, err = run(capsys, "log", "append", "--dir", root, "--count", "1")
    assert code == 2
    one_line_error(err)
    code, _, err = run(
        capsys, "log", "append", "--dir", root, "--count", "1", "--passphrase-env", "UNSET_VAR"
    )
    assert code == 2
    assert "UNSET_VAR" in one_line_error(err)


def test_export_writes_a_bundle_the_audit_accepts(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "log", "append", "--dir", str(centre_dir), "--count", "5")[0] == 0
    bundle = tmp_path / "bundle"
    code, out, _ = run(capsys, "log", "export", "--dir", str(centre_dir), "--out", str(bundle))
    assert code == 0
    assert str(bundle) in out
    with Centre.open(centre_dir) as centre:
        assert (bundle / "checkpoint").read_bytes() == centre.store.latest_checkpoint()
        assert (bundle / "policy").read_text() == centre.policy_text()
    code, out, err = run(capsys, "audit", str(bundle), "--jobs", "1")
    assert code == 0, out + err
