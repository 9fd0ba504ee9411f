"""The exam-day demonstration runs end to end over HTTP (a smaller day than ``make demo``'s):
its bundle audits clean, its receipts verify, and the copy with a changed score fails."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import pytest

from api.cli.demo_day import ProgressBoard, run_demo
from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files, read_bundle
from exam_core.evidence.result_receipt import verify_result_receipt
from exam_core.log.policy import parse_policy
from tests.exam_core.audit.bundle_factory import cut_back, read_files

DEMO_REPLAYERS = partial(default_replayers, allow_dev_beacon=True)
"""The replayers of the demonstration's own audit, which allows its development beacon."""


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], str]:
    """The demonstration's directory, what it said, and its progress lines."""
    directory = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    progress = io.StringIO()
    code = run_demo(
        directory, say=lines.append, candidates=24, examiners=8, out=progress, live=False
    )
    assert code == 0, "\n".join(lines)
    return directory, lines, progress.getvalue()


def test_the_day_runs_over_http_audits_clean_and_tampering_is_caught(
    day: tuple[Path, list[str], str],
) -> None:
    directory, lines, progress = day
    text = "\n".join(lines)
    assert "audit: OK" in text
    assert "the audit FAILS" in text
    # A line per session as it moves on, ending done.
    for session in ("k2-field-1", "k2-field-2", "k3-route-1", "k3-route-2"):
        assert f"{session} 科目" in progress
        assert any(session in line and "done" in line for line in progress.splitlines())
    assert "jammer!" in progress
    assert "1 proxy refused" in text
    assert "1 no-show repaired" in text
    assert "(1 stopped)" in text
    assert "1 card refused" in text
    assert "科目二:" in text
    assert "科目三:" in text
    assert "most frequent deductions:" in text
    # The bundle on disk is what an auditor gets: audit it again from scratch.
    pinned = (directory / "published-policy").read_bytes()
    bundle = read_bundle(directory / "bundle")
    # Its allocations are drawn on a development beacon: only allowed, as the demo does, it passes.
    strict = check_bundle(bundle, default_replayers(), policy=pinned)
    assert {f.code for f in strict.errors} == {"beacon_insecure"}
    report = check_bundle(bundle, DEMO_REPLAYERS(), policy=pinned)
    assert report.ok
    assert {"checkpoint_unwitnessed", "beacon_insecure", "commitment_unproven"} <= {
        w.code for w in report.warnings
    }
    tampered = check_bundle(read_bundle(directory / "bundle-tampered"), DEMO_REPLAYERS())
    assert not tampered.ok
    assert tampered.errors[0].index is not None


def test_every_result_has_a_receipt_that_verifies(day: tuple[Path, list[str], str]) -> None:
    directory, lines, _ = day
    receipts = sorted((directory / "receipts").iterdir())
    scored = sum(int(line.split()[1]) for line in lines if line.startswith("  科目"))
    assert len(receipts) == scored > 0
    policy = parse_policy((directory / "published-policy").read_bytes())
    for path in receipts:
        verified = verify_result_receipt(path.read_bytes(), policy)
        assert verified.exam == path.name.removesuffix(".receipt")


def test_the_demo_bundle_cut_back_fails_against_its_newest_checkpoint(
    day: tuple[Path, list[str], str],
) -> None:
    """The last entries (the last results) dropped and an older checkpoint the log really
    signed put on top: whole, but not what the log published."""
    directory, _, _ = day
    files = read_files(directory / "bundle")
    listed = [path for path in files if path.startswith("checkpoints/")]
    newest = max(int(path.split("/")[1]) for path in listed)
    rolled = bundle_from_files(cut_back(files, newest - 1))
    alone = check_bundle(rolled, DEMO_REPLAYERS())
    assert alone.ok
    held = check_bundle(rolled, DEMO_REPLAYERS(), outside=[("receipt", files["checkpoint"])])
    assert [f.code for f in held.errors] == ["bundle_rolled_back"]


def test_on_a_terminal_the_progress_lines_are_redrawn_in_place() -> None:
    out = io.StringIO()
    board = ProgressBoard(["a", "b"], out, live=True)
    board.update("a", "a 科目二: check-in   checked in 1/5")
    board.update("b", "b 科目三: exams      started 2")
    text = out.getvalue()
    first, second = text.split("\x1b[2F")
    assert first.count("\x1b[2K") == second.count("\x1b[2K") == 2
    assert "started 2" in second
    assert "checked in 1/5" in second  # the other session's line is kept
