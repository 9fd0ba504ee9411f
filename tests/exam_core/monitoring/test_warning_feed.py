"""The mirror's side: verified entries and findings in, signals recorded; the statistics run on
placements read from real manifests, draws, boardings and scores."""

from __future__ import annotations

import datetime
import hashlib
import random
from pathlib import Path

from allocation.draw import draw_assignment
from allocation.manifest import encode_manifest
from exam_core.findings import Finding
from exam_core.monitoring.home import open_monitor
from exam_core.monitoring.month_simulation import (
    SCHOOL_PASS_RATES,
    SCHOOLS,
    MonthShape,
    session_pool,
)
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.warning_feed import CentreFeed
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import grade
from tests.exam_core.monitoring.day_events import CENTRE, DAY_MS, START_MS, TABLET, Day

ALLOCATOR = f"{CENTRE}/allocator/a1"
SCORER = f"{CENTRE}/scorer/s1"
NOW = START_MS + 25 * DAY_MS


def month_of_entries(seed: int, colluding: tuple[str, str] | None) -> tuple[Day, dict[str, bytes]]:
    """A month's allocations, boardings and scores as entries; the manifests as blobs."""
    rng = random.Random(seed)
    day, blobs = Day(), {}
    for n, (manifest, picks) in enumerate(session_pool(MonthShape())[:22]):
        day.ts = START_MS + n * DAY_MS
        data = encode_manifest(manifest)
        sha = hashlib.sha256(data).hexdigest()
        blobs[sha] = data
        drawn = draw_assignment(manifest, rng.randbytes(32))
        day.add(
            "allocation.made",
            ALLOCATOR,
            session=manifest.session,
            manifest_sha256=sha,
            round=1,
            beacon_value="00",
            beacon_evidence="00",
            proof="00" * 80,
            assignment=[[c, e] for c, e in drawn],
        )
        for k, ((candidate, examiner), school) in enumerate(zip(drawn, picks, strict=True)):
            exam = hashlib.sha256(f"{manifest.session}/{candidate}".encode()).hexdigest()[:32]
            day.add(
                "boarding.confirmed",
                TABLET,
                session=manifest.session,
                exam=exam,
                candidate=candidate,
                examiner=examiner,
                vehicle=f"v-{k % 10}",
            )
            rate = 1.0 if (examiner, SCHOOLS[school]) == colluding else SCHOOL_PASS_RATES[school]
            passed = rng.random() < rate
            day.add(
                "exam.scored",
                SCORER,
                exam=exam,
                subject=2,
                licence_class="C1",
                map="field-map/1",
                rules="subject2-c1/1",
                chunks=["00" * 32],
                stopped=False,
                score=90 if passed else 70,
                passed=passed,
                deductions=[],
            )
    return day, blobs


def test_a_colluding_month_fed_entry_by_entry_raises_an_orange_warning(monitor_dir: Path) -> None:
    day, blobs = month_of_entries(5, ("e-05", "school-2"))
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        feed = CentreFeed(CENTRE, store, DEFAULT_TABLE, blobs.get, clock_ms=lambda: NOW)
        for index, event in day.events:
            feed.entry(index, event)
        placements = feed.tally.placements(0)
        assert len(placements) == 22 * 60
        assert all(p.passed is not None and p.result_entry is not None for p in placements)
        assert feed.statistics() >= 1
        assert feed.statistics() == 0  # the same month again: the same signals
        warnings = grade(store.signals_since(0), DEFAULT_TABLE, NOW, store.actions())
        examiner = next(
            w for w in warnings if (w.subject.kind, w.subject.name) == ("examiner", "e-05")
        )
        assert examiner.level == "orange"
        flagged = [s for s in examiner.signals if s.source == "examiner_school_passes"]
        assert len(flagged) == 1
        assert "school-2" in flagged[0].message
        month = datetime.datetime.fromtimestamp(NOW / 1000, tz=datetime.UTC).strftime("%Y-%m")
        assert flagged[0].message.startswith(f"{month}: examiner e-05 passed")
        scored = {i for i, e in day.events if e["type"] == "exam.scored"}
        assert set(flagged[0].entries) & scored  # the results that caused it, by index


def test_an_honest_month_fed_the_same_way_raises_nothing(monitor_dir: Path) -> None:
    day, blobs = month_of_entries(5, None)
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        feed = CentreFeed(CENTRE, store, DEFAULT_TABLE, blobs.get, clock_ms=lambda: NOW)
        for index, event in day.events:
            feed.entry(index, event)
        assert feed.statistics() == 0
        assert store.signals_since(0) == []


def test_repairs_missing_manifests_and_second_scores(monitor_dir: Path) -> None:
    day, blobs = month_of_entries(5, None)
    first_made = next(e for _, e in day.events if e["type"] == "allocation.made")
    moved = first_made["assignment"][0][0]
    day.add(
        "allocation.repaired",
        ALLOCATOR,
        session=first_made["session"],
        manifest_sha256=first_made["manifest_sha256"],
        repair=1,
        changes=[{"kind": "no_show", "subject": moved}],
        reason="no-show",
        assignment=[pair for pair in first_made["assignment"] if pair[0] != moved],
    )
    missing = next(e for _, e in reversed(day.events) if e["type"] == "allocation.made")
    del blobs[str(missing["manifest_sha256"])]
    with open_monitor(monitor_dir) as monitor:
        feed = CentreFeed(CENTRE, WarningStore(monitor.store.engine), DEFAULT_TABLE, blobs.get)
        for index, event in day.events:
            feed.entry(index, event)
        placements = {(p.candidate, p.allocation_entry): p for p in feed.tally.placements(0)}
    assert len(placements) == 21 * 60  # the session without its manifest is left out
    repaired = [p for (c, _), p in placements.items() if c == moved and p.at_ms == START_MS + 1000]
    assert [p.examiner for p in repaired] == [None]


def test_findings_and_silence_are_recorded_once(monitor_dir: Path) -> None:
    day = Day()
    day.session()
    day.boarding()
    started = day.add("exam.started", TABLET, session="s-1", exam="ab" * 16, gate=0)
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        feed = CentreFeed(CENTRE, store, DEFAULT_TABLE, lambda _: None, clock_ms=lambda: NOW)
        for index, event in day.events:
            feed.entry(index, event)
        findings = [
            Finding(started, "exam_ungated", "no allowed gate"),
            Finding(None, "checkpoint_fork", "x"),
        ]
        assert feed.findings(findings) == 2
        assert feed.findings(findings) == 0  # a restarted mirror finding them again
        assert feed.silence(NOW - 60_000) == 0
        assert feed.silence(NOW - 3_600_000) == 1
        assert feed.silence(NOW - 3_600_000) == 0
        signals = store.signals_since(0)
    assert sorted(s.source for s in signals) == ["centre_silent", "exam_ungated", "log_forked"]
    ungated = next(s for s in signals if s.source == "exam_ungated")
    assert (ungated.examiner, ungated.entries) == ("e-07", (started,))


def test_an_uptime_suspicion_handed_over_twice_is_recorded_once(monitor_dir: Path) -> None:
    day = Day()
    day.session()
    day.room()
    day.boarding()
    suspect = day.uptime("set")
    day.uptime("clear")
    with open_monitor(monitor_dir) as monitor:
        store = WarningStore(monitor.store.engine)
        recorded = []
        for _ in range(2):  # a restarted mirror handing the same entries over again
            feed = CentreFeed(CENTRE, store, DEFAULT_TABLE, lambda _: None, clock_ms=lambda: NOW)
            recorded.append(sum(feed.entry(index, event) for index, event in day.events))
        assert recorded == [1, 0]
        signals = store.signals_since(0)
    assert [(s.source, s.entries, s.examiner) for s in signals] == [
        ("device_uptime_suspect", (suspect,), "e-07")
    ]
    (centre,) = [w for w in grade(signals, DEFAULT_TABLE, NOW) if w.subject.kind == "centre"]
    assert (centre.level, centre.points) == ("yellow", 10)
