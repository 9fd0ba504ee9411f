"""``examctl audit`` runs the exam day's replayer: a day tampered with is named on its line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli.main import main
from exam_core.log.policy import render_policy
from tests.exam_core.audit.bundle_factory import write_files
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.signed_day import SignedDay


def test_examctl_audit_names_a_removed_check_in_at_the_seal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def drop_checkin(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "checkin.verified" and fields["candidate"] == "c-02":
            return None
        return actor, fields

    day = SignedDay(tamper=drop_checkin, strict=False)
    day.whole_day()
    root = write_files(tmp_path / "bundle", day.log.files())
    pinned = tmp_path / "published-policy"
    pinned.write_bytes(render_policy(day.log.policy()))
    args = ["audit", str(root), "--jobs", "1", "--policy", str(pinned), "--allow-dev-beacon"]
    assert main([*args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    seal = day.index_of("session.sealed")
    day_findings = [f for f in report["findings"] if f["code"].startswith("day_")]
    assert [(f["index"], f["code"], f["severity"]) for f in day_findings] == [
        (seal, "day_refused", "error"),
        (seal + 1, "day_unchecked", "warning"),
    ]
    assert f"session.sealed of session {ds.SESSION}" in day_findings[0]["message"]
    assert "not checked in ['c-02']" in day_findings[0]["message"]
    assert main(args) == 1
    assert f"index {seal}: day_refused: session.sealed of session" in capsys.readouterr().out
