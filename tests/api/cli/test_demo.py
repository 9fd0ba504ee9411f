"""The exam-day demonstration runs end to end over HTTP (a smaller day than ``make demo``'s)
with its monitoring centre in a process of its own: its bundle audits clean with no development
beacon allowed, its checkpoints are cosigned by the monitor's witness, its allocations are
drawn on the monitor's hash-chain beacon, the monitor mirrors the whole log, its receipts
verify, and the copy with a changed score fails."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from api.cli.demo_day import ProgressBoard, run_demo
from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import bundle_from_files, read_bundle
from exam_core.evidence.result_receipt import verify_result_receipt
from exam_core.log.entry import parse_entry
from exam_core.log.policy import parse_policy
from exam_core.log.tiles import decode_entry_bundle
from exam_core.monitoring.home import CONFIG_FILE
from tests.exam_core.audit.bundle_factory import cut_back, read_files

DEMO_REPLAYERS = default_replayers
"""The replayers of ``examctl audit`` as it runs by default: no development beacon allowed."""


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
    # The bundle on disk is what an auditor gets: audit it again from scratch, as strictly as
    # ``examctl audit`` (no --allow-dev-beacon), with the published policy pinned.
    pinned = (directory / "published-policy").read_bytes()
    bundle = read_bundle(directory / "bundle")
    report = check_bundle(bundle, default_replayers(), policy=pinned)
    assert report.ok, [f"{f.index} {f.code} {f.message}" for f in report.errors]
    # Witnessed, drawn on a real beacon, each commitment shown by a cosignature to precede its
    # round: only the day's own events are left to warn about.
    assert {w.code for w in report.warnings} == {"day_checkin_refused", "exam_device_alarm"}
    tampered = check_bundle(read_bundle(directory / "bundle-tampered"), DEMO_REPLAYERS())
    assert not tampered.ok
    assert tampered.errors[0].index is not None


def test_the_monitor_witnesses_the_log_and_its_beacon_draws_every_allocation(
    day: tuple[Path, list[str], str],
) -> None:
    directory, lines, _ = day
    policy = parse_policy((directory / "published-policy").read_bytes())
    monitor = json.loads((directory / "monitor" / CONFIG_FILE).read_bytes())
    assert monitor["beacon_period_ms"] == 1000
    # The centre's policy names the monitor's witness, quorum 1, and pins its beacon key.
    assert [w.name for w in policy.witnesses] == ["monitor.example/witness"]
    assert policy.quorum_met(["monitor.example/witness"])
    assert not policy.quorum_met([])
    assert [v.name for v in policy.beacon_verifiers] == ["monitor.example/beacon"]
    # Every checkpoint the bundle lists is cosigned by that witness, the newest one included.
    files = read_files(directory / "bundle")
    notes = [data for path, data in files.items() if path.startswith("checkpoints/")]
    assert notes
    for note in [*notes, files["checkpoint"]]:
        _, witnesses = policy.verify_checkpoint(note)
        assert witnesses == ("monitor.example/witness",)
    # Every allocation committed to the monitor's hash chain (whose commitment the audit above
    # accepted only as signed by the pinned beacon key).  An entry can be in a full bundle and
    # in a partial one: each counts once.
    committed = [
        parse_entry(entry)
        for entry in {
            entry
            for path, data in files.items()
            if path.startswith("tile/entries/")
            for entry in decode_entry_bundle(data)
        }
        if b'"type":"allocation.committed"' in entry
    ]
    assert len(committed) == 4
    assert {e.event["beacon_kind"] for e in committed} == {"hashchain"}
    # The monitor mirrored the whole log and says what it holds.
    line = next(x for x in lines if x.startswith("  monitor: "))
    held = re.search(r"mirrored (\d+) of (\d+) entries", line)
    assert held is not None
    assert held.group(1) == held.group(2)
    assert "the newest among them" in line  # the witness cosigned the checkpoint exported
    assert "warnings it holds:" in line
    assert "/dashboard" in line


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
