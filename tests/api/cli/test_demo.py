"""The exam-day demonstration runs end to end: an honest bundle audits clean, tampering fails."""

from __future__ import annotations

from pathlib import Path

from api.cli.demo_day import run_demo
from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import read_bundle


def test_exam_day_audits_clean_and_tampering_is_caught(tmp_path: Path) -> None:
    lines: list[str] = []
    assert run_demo(tmp_path, say=lines.append) == 0
    text = "\n".join(lines)
    assert "audit: OK" in text
    assert "the audit FAILS" in text
    assert text.count("scored at entry") == 5
    assert "the gate now refuses" in text
    # The bundle on disk is what an auditor gets: audit it again from scratch.
    report = check_bundle(read_bundle(tmp_path / "bundle"), default_replayers())
    assert report.ok
    assert [w.code for w in report.warnings] == ["beacon_insecure"]
    assert not report.errors
    tampered = check_bundle(read_bundle(tmp_path / "bundle-tampered"), default_replayers())
    assert not tampered.ok
