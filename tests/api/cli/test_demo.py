"""The exam-day demonstration runs end to end: an honest bundle audits clean, tampering fails."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from api.cli.demo_day import run_demo
from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files, read_bundle
from tests.exam_core.audit.bundle_factory import cut_back, read_files

DEMO_REPLAYERS = partial(default_replayers, allow_dev_beacon=True)
"""The replayers of the demonstration's own audit, which allows its development beacon."""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demonstration's directory and what it said."""
    directory = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    assert run_demo(directory, say=lines.append) == 0
    return directory, lines


def test_exam_day_audits_clean_and_tampering_is_caught(day: tuple[Path, list[str]]) -> None:
    directory, lines = day
    text = "\n".join(lines)
    assert "audit: OK" in text
    assert "the audit FAILS" in text
    assert text.count("scored at entry") == 5
    assert "the gate now refuses" in text
    # The bundle on disk is what an auditor gets: audit it again from scratch.
    pinned = (directory / "published-policy").read_bytes()
    bundle = read_bundle(directory / "bundle")
    # Its allocation is drawn on a development beacon: only allowed, as the demo does, it passes.
    strict = check_bundle(bundle, default_replayers(), policy=pinned)
    assert [f.code for f in strict.errors] == ["beacon_insecure"]
    report = check_bundle(bundle, DEMO_REPLAYERS(), policy=pinned)
    assert report.ok
    # No witness yet: the log's history and the commitment's timing rest on the centre alone.
    assert [w.code for w in report.warnings] == [
        "checkpoint_unwitnessed",
        "beacon_insecure",
        "commitment_unproven",
    ]
    assert not report.errors
    tampered = check_bundle(read_bundle(directory / "bundle-tampered"), DEMO_REPLAYERS())
    assert not tampered.ok


def test_the_demo_bundle_cut_back_fails_against_its_newest_checkpoint(
    day: tuple[Path, list[str]],
) -> None:
    """The last entries (the VSWR alarm, the refusing gate decisions) dropped and an older
    checkpoint the log really signed put on top: whole, but not what the log published."""
    directory, _ = day
    files = read_files(directory / "bundle")
    listed = [path for path in files if path.startswith("checkpoints/")]
    newest = max(int(path.split("/")[1]) for path in listed)
    rolled = bundle_from_files(cut_back(files, newest - 1))
    alone = check_bundle(rolled, DEMO_REPLAYERS())
    assert alone.ok
    held = check_bundle(rolled, DEMO_REPLAYERS(), outside=[("receipt", files["checkpoint"])])
    assert [f.code for f in held.errors] == ["bundle_rolled_back"]
