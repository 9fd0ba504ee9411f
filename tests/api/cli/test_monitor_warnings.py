"""``examctl monitor warnings | ack | close`` as an operator runs them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TypedDict

import pytest

from exam_core.monitoring.home import open_monitor
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.warning_store import WarningStore
from tests.api.cli.test_log import one_line_error, run

CENTRE = "exam.example/c/370100-01"


@pytest.fixture
def monitor_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "m"
    code, _, err = run(
        capsys, "monitor", "init", "--dir", str(root), "--name", "monitor.example/p1"
    )
    assert code == 0, err
    now = time.time_ns() // 1_000_000
    with open_monitor(root) as monitor:
        WarningStore(monitor.store.engine).record_signals(
            [
                Signal(
                    "log_forked",
                    CENTRE,
                    now - 5000,
                    (),
                    "the log: checkpoint_fork: two roots at 40",
                ),
                Signal(
                    "emergency_stop",
                    CENTRE,
                    now - 4000,
                    (17,),
                    "entry 17: exam stopped\x1b[2J",
                    "e-07",
                    "v-3",
                ),
            ],
            now,
        )
    return root


class ListedSubject(TypedDict):
    kind: str
    name: str


class ListedSignal(TypedDict):
    entries: list[int]


class ListedAction(TypedDict):
    why: str


class ListedWarning(TypedDict):
    """The fields of ``monitor warnings --json`` that these tests read."""

    id: str
    level: str
    status: str
    subject: ListedSubject
    entries: list[int]
    signals: list[ListedSignal]
    actions: list[ListedAction]


def warnings_json(capsys: pytest.CaptureFixture[str], root: Path) -> list[ListedWarning]:
    code, out, err = run(capsys, "monitor", "warnings", "--dir", str(root), "--json")
    assert code == 0, err
    listed: list[ListedWarning] = json.loads(out)["warnings"]
    return listed


def test_warnings_are_listed_highest_first_with_their_evidence(
    monitor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = warnings_json(capsys, monitor_dir)
    assert [(w["level"], w["subject"]["kind"]) for w in listed] == [
        ("red", "centre"),
        ("blue", "examiner"),
        ("blue", "vehicle"),
    ]
    assert listed[0]["entries"] == [17]
    assert listed[1]["signals"][0]["entries"] == [17]
    code, out, _ = run(capsys, "monitor", "warnings", "--dir", str(monitor_dir))
    assert code == 0
    assert out.splitlines()[0].split()[1] == "red"
    assert "\x1b" not in out  # a centre's text cannot drive the terminal
    assert "entries 17" in out


def test_ack_and_close_by_prefix_are_entries_of_the_monitors_log(
    monitor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    red = warnings_json(capsys, monitor_dir)[0]
    wid = str(red["id"])
    code, out, err = run(
        capsys,
        "monitor",
        "ack",
        "--dir",
        str(monitor_dir),
        wid[:8],
        "--by",
        "li.wei",
        "--why",
        "escalated to the bureau",
    )
    assert code == 0, err
    assert out.startswith(f"acknowledged {wid} (red) by monitor.example/p1/log/duty/li.wei: entry ")
    after = warnings_json(capsys, monitor_dir)[0]
    assert after["status"] == "acknowledged"
    assert after["actions"][0]["why"] == "escalated to the bureau"
    code, out, err = run(
        capsys,
        "monitor",
        "close",
        "--dir",
        str(monitor_dir),
        wid,
        "--by",
        "li.wei",
        "--why",
        "fork explained",
    )
    assert code == 0, err
    # the centre's warning is closed with both its signals; the examiner's and the car's stay
    left = warnings_json(capsys, monitor_dir)
    assert [(w["level"], w["subject"]["kind"]) for w in left] == [
        ("blue", "examiner"),
        ("blue", "vehicle"),
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ack", "{dir}", "0123", "--by", "x", "--why", "y"], "at least 6"),
        (["ack", "{dir}", "ffffffffff", "--by", "x", "--why", "y"], "no current warning"),
        (["ack", "{dir}", "{red}", "--by", "x/y", "--why", "y"], "not a name on duty"),
        (["close", "{dir}", "{red}", "--by", "x", "--why", " "], "say why"),
    ],
)
def test_refused_acts_say_why_in_one_line(
    monitor_dir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    red = str(warnings_json(capsys, monitor_dir)[0]["id"])
    args = [a.format(dir=monitor_dir, red=red) for a in argv]
    code, _, err = run(capsys, "monitor", args[0], "--dir", *args[1:])
    assert code == 2
    assert says in one_line_error(err)
    assert warnings_json(capsys, monitor_dir)[0]["status"] == "open"


def test_a_hostile_points_table_is_refused_in_one_line(
    monitor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (monitor_dir / "warnings.json").write_text(
        '{"version": 1, "sources": {"emergency_stop": {"points": -5}}}'
    )
    code, _, err = run(capsys, "monitor", "warnings", "--dir", str(monitor_dir))
    assert code == 2
    assert "sources.emergency_stop.points is -5" in one_line_error(err)
    (monitor_dir / "warnings.json").write_text(
        '{"version": 1, "sources": {"emergency_stop": {"points": 60}}}'
    )
    listed = warnings_json(capsys, monitor_dir)
    assert {w["level"] for w in listed} == {"red"}  # one stop now weighs 60 points


def test_text_lists_the_newest_signals_and_json_lists_all(
    monitor_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = time.time_ns() // 1_000_000
    stops = [
        Signal(
            "emergency_stop",
            CENTRE,
            now - 100_000 + k,
            (100 + k,),
            f"entry {100 + k}: stop",
            "e-09",
        )
        for k in range(15)
    ]
    with open_monitor(monitor_dir) as monitor:
        WarningStore(monitor.store.engine).record_signals(stops, now)
    code, out, _ = run(capsys, "monitor", "warnings", "--dir", str(monitor_dir))
    assert code == 0
    block = out.split("examiner e-09")[1].split("\n")[1:12]
    assert block[0].strip().startswith("emergency_stop  entries 105")
    assert block[10].strip() == "… and 5 earlier signals (--json lists all)"
    listed = warnings_json(capsys, monitor_dir)
    e09 = next(w for w in listed if w["subject"]["name"] == "e-09")
    assert (e09["level"], len(e09["signals"])) == ("yellow", 15)
