"""Signals recorded in the monitor's database (SQLite and PostgreSQL), graded, and acted on:
each acknowledgement or closing is a signed entry of the monitoring centre's own log, whose
bundle audits clean; the database copy is rebuilt from the log after an interrupted act."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from exam_core.db.warnings import WarningActionRow
from exam_core.errors import WarningsError
from exam_core.log.entry import parse_entry
from exam_core.monitoring.desk_log import act_on_warning, open_desk_log, sync_actions
from exam_core.monitoring.home import open_monitor
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import ACKNOWLEDGED, CLOSED, GradedWarning, grade, signals_digest
from tests.api.cli.test_log import run
from tests.exam_core.monitoring.conftest import MONITOR_NAME

CENTRE = "exam.example/c/370100-01"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def stops(first: int, count: int) -> list[Signal]:
    return [
        Signal(
            source="emergency_stop",
            centre=CENTRE,
            at_ms=now_ms() - 1000,
            entries=(first + k,),
            message=f"entry {first + k}: exam stopped",
            examiner="e-07",
        )
        for k in range(count)
    ]


def examiner_warnings(store: WarningStore) -> list[GradedWarning]:
    now = now_ms()
    return [
        w
        for w in grade(
            store.signals_since(now - DEFAULT_TABLE.window_ms), DEFAULT_TABLE, now, store.actions()
        )
        if w.subject.kind == "examiner"
    ]


def examiner_warning(store: WarningStore) -> GradedWarning:
    (warning,) = examiner_warnings(store)
    return warning


def test_signals_are_recorded_once_and_read_back_whole(monitor_dir: Path) -> None:
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        batch = stops(100, 3)
        assert store.record_signals(batch, now_ms()) == 3
        assert store.record_signals(batch, now_ms()) == 0  # a mirror seeing them again
        back = store.signals_since(0)
        assert sorted((s.id, s.entries, s.message, s.examiner) for s in back) == sorted(
            (s.id, s.entries, s.message, s.examiner) for s in batch
        )
        assert all(s.recorded_ms is not None for s in back)


def test_acknowledging_and_closing_are_signed_entries_that_audit(
    monitor_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        store.record_signals(stops(100, 12), now_ms())
        warning = examiner_warning(store)
        assert (warning.level, warning.points, warning.status) == ("yellow", 12, "open")
        with open_desk_log(monitor.root, monitor.config.name) as desk:
            ack = act_on_warning(
                desk,
                store,
                warning,
                ACKNOWLEDGED,
                by="li.wei",
                why="called the centre; stops were rain",
            )
            entry = parse_entry(desk.store.entry(ack.log_index))
            assert entry.type == "warning.acknowledged"
            assert entry.actor == f"{MONITOR_NAME}/log/duty/li.wei"
            assert entry.event["warning"] == warning.id
            assert entry.event["signals"] == 12
            assert entry.event["signals_sha256"] == signals_digest(s.id for s in warning.signals)
            assert entry.event["why"] == "called the centre; stops were rain"
            assert examiner_warning(store).status == "acknowledged"

            time.sleep(0.002)  # recorded strictly after the acknowledgement
            store.record_signals(stops(200, 1), now_ms())
            reopened = examiner_warning(store)
            assert (reopened.status, reopened.points) == ("open", 13)
            assert [a.action for a in reopened.actions] == [ACKNOWLEDGED]

            close = act_on_warning(
                desk, store, reopened, CLOSED, by="zhang.min", why="reviewed the videos"
            )
            assert close.log_index > ack.log_index
            assert examiner_warnings(store) == []  # its signals no longer count
            time.sleep(0.002)
            store.record_signals(stops(300, 1), now_ms())
            after = examiner_warning(store)
            assert (after.status, after.points, after.entries) == ("open", 1, (300,))

            # refused acts append nothing
            size = desk.store.size()
            for by, why in (("li.wei", "   "), ("a/b", "why"), ("", "why"), ("li wei", "why")):
                with pytest.raises(WarningsError):
                    act_on_warning(desk, store, after, ACKNOWLEDGED, by=by, why=why)
            with pytest.raises(WarningsError, match="at most"):
                act_on_warning(desk, store, after, ACKNOWLEDGED, by="li.wei", why="x" * 2001)
            assert desk.store.size() == size

    bundle = tmp_path / "desk-bundle"
    code, _, err = run(
        capsys, "log", "export", "--dir", str(monitor_dir / "log"), "--out", str(bundle)
    )
    assert code == 0, err
    code, out, err = run(capsys, "audit", str(bundle), "--json")
    report = json.loads(out)
    assert code == 0, out + err
    assert report["ok"]
    assert report["errors"] == 0
    assert report["origin"] == f"{MONITOR_NAME}/log"


def test_an_act_interrupted_before_its_copy_is_copied_from_the_log(monitor_dir: Path) -> None:
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        store.record_signals(stops(100, 2), now_ms())
        with open_desk_log(monitor.root, monitor.config.name) as desk:
            act_on_warning(
                desk, store, examiner_warning(store), ACKNOWLEDGED, by="li.wei", why="seen"
            )
            before = store.actions()
            with Session(monitor.store.engine) as session, session.begin():
                session.execute(delete(WarningActionRow))
            assert store.actions() == []
            assert examiner_warning(store).status == "open"
            assert sync_actions(desk, store) == 1
            assert store.actions() == before
            assert sync_actions(desk, store) == 1  # again: copied, not duplicated
            assert store.actions() == before
            assert examiner_warning(store).status == "acknowledged"
