"""``examctl audit --save-state`` and ``--since`` on a real centre's exports: a log grown in
steps is audited from each saved state with a full audit's report, in one process or several;
a state that is changed or of another centre is refused with one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli.main import main

ORIGIN = "exam.example/c/370100-07"


def _audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    capsys.readouterr()
    code = main(["audit", "--json", *args])
    out = capsys.readouterr()
    return code, json.loads(out.out) if out.out else {}, out.err


def _grow(centre: Path, bundle: Path, count: int) -> None:
    assert main(["log", "append", "--dir", str(centre), "--count", str(count), "--quiet"]) == 0
    assert main(["log", "export", "--dir", str(centre), "--out", str(bundle)]) == 0


def test_a_log_grown_in_steps_audits_from_its_saved_states_as_in_full(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db_url: str
) -> None:
    centre = tmp_path / "centre"
    init = ["init", "--dir", str(centre), "--origin", ORIGIN, "--database-url", db_url]
    assert main(init) == 0
    states = [tmp_path / "state-1", tmp_path / "state-2"]
    _grow(centre, tmp_path / "b1", 300)
    code, first, _ = _audit(capsys, str(tmp_path / "b1"), "--save-state", str(states[0]))
    assert code == 0
    assert states[0].read_bytes().startswith(b"exam-integrity/audit-state/v1 sha256:")
    _grow(centre, tmp_path / "b2", 120)
    _grow(centre, tmp_path / "b3", 40)
    for bundle in ("b2", "b3"):
        full = _audit(capsys, str(tmp_path / bundle), "--jobs", "1")
        for jobs in ("1", "2"):
            resumed = _audit(
                capsys,
                str(tmp_path / bundle),
                "--since",
                str(states[0]),
                "--jobs",
                jobs,
                "--save-state",
                str(states[1]),
            )
            assert resumed == full
    assert full[1]["entries"] == first["entries"] + 160
    # The state saved on the way is the one a full audit of b3 saves.
    assert _audit(capsys, str(tmp_path / "b3"), "--save-state", str(tmp_path / "s"))[0] == 0
    assert (tmp_path / "s").read_bytes() == states[1].read_bytes()


def test_a_changed_or_foreign_state_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, origin in (("a", ORIGIN), ("b", "exam.example/c/370100-08")):
        assert main(["init", "--dir", str(tmp_path / name), "--origin", origin]) == 0
        _grow(tmp_path / name, tmp_path / f"bundle-{name}", 20)
        assert (
            _audit(
                capsys,
                str(tmp_path / f"bundle-{name}"),
                "--save-state",
                str(tmp_path / f"s-{name}"),
            )[0]
            == 0
        )
    state = tmp_path / "s-a"
    changed = bytearray(state.read_bytes())
    changed[len(changed) // 2] ^= 0x20
    (tmp_path / "changed").write_bytes(bytes(changed))
    code, report, err = _audit(
        capsys, str(tmp_path / "bundle-a"), "--since", str(tmp_path / "changed")
    )
    assert (code, report) == (2, {})
    assert "does not match its SHA-256" in err
    assert len(err.strip().splitlines()) == 1
    code, report, err = _audit(capsys, str(tmp_path / "bundle-b"), "--since", str(state))
    assert (code, report) == (2, {})
    assert f"is of log {ORIGIN!r}" in err
    code, _, err = _audit(capsys, str(tmp_path / "bundle-a"), "--since", "/dev/zero")
    assert code == 2
    assert "Traceback" not in err


def test_a_failing_audit_saves_no_state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    centre, bundle = tmp_path / "centre", tmp_path / "bundle"
    assert main(["init", "--dir", str(centre), "--origin", ORIGIN]) == 0
    _grow(centre, bundle, 10)
    (bundle / "checkpoint").write_bytes(b"not a checkpoint\n")
    code, _, err = _audit(capsys, str(bundle), "--save-state", str(tmp_path / "state"))
    assert code == 1
    assert "no state saved" in err
    assert not (tmp_path / "state").exists()
