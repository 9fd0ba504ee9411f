"""Each source of trouble gives its level, held against the right subjects, with its evidence;
points add up over the window and the level rises (and falls as signals age out)."""

from __future__ import annotations

import pytest

from exam_core.findings import WARNING, Finding
from exam_core.monitoring.exam_watch import ExamWatch
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.signals import Signal, centre_silent_signal, signals_from_findings
from exam_core.monitoring.warnings import GradedWarning, Subject, grade
from tests.exam_core.monitoring.day_events import CENTRE, DAY_MS, EXAMINER, START_MS, VEHICLE, Day

NOW = START_MS + DAY_MS


def watched(day: Day) -> tuple[ExamWatch, list[Signal]]:
    watch = ExamWatch(CENTRE)
    signals = [s for index, event in day.events for s in watch.observe(index, event)]
    return watch, signals


def by_subject(warnings: list[GradedWarning]) -> dict[tuple[str, str], GradedWarning]:
    return {(w.subject.kind, w.subject.name): w for w in warnings}


def exam_day() -> Day:
    day = Day()
    day.session()
    day.room()
    day.boarding()
    return day


def test_an_emergency_stop_is_blue_for_the_examiner_the_car_and_the_centre() -> None:
    day = exam_day()
    stop = day.add(
        "exam.stopped", "exam.example/c/370100-01/tablet/t1", exam="ab" * 16, reason="danger"
    )
    _, signals = watched(day)
    assert [s.source for s in signals] == ["emergency_stop"]
    warnings = by_subject(grade(signals, DEFAULT_TABLE, NOW))
    assert set(warnings) == {("centre", CENTRE), ("examiner", EXAMINER), ("vehicle", VEHICLE)}
    for w in warnings.values():
        assert (w.level, w.points, w.entries, w.status) == ("blue", 1, (stop,), "open")
    assert "danger" in signals[0].message


def test_an_examiners_call_is_held_against_the_examiner_through_the_tablet() -> None:
    day = Day()
    day.session()  # no boarding: the tablet names the examiner
    call = day.add(
        "exam.examiner_judged",
        "exam.example/c/370100-01/tablet/t1",
        exam="cd" * 16,
        rules="subject2-c1/1",
        code="20101",
        frame=50,
    )
    _, signals = watched(day)
    w = by_subject(grade(signals, DEFAULT_TABLE, NOW))[("examiner", EXAMINER)]
    assert (w.level, w.entries, w.signals[0].source) == ("blue", (call,), "examiner_judged_fail")
    assert ("vehicle", VEHICLE) not in by_subject(grade(signals, DEFAULT_TABLE, NOW))


def test_an_override_and_an_opening_of_personal_data_count_for_the_centre() -> None:
    day = Day()
    admit = day.add(
        "checkin.decided",
        f"{CENTRE}/supervisor/s1",
        session="s-1",
        candidate="c-1",
        decision="admit",
        reason="identity_confirmed",
    )
    day.add(
        "checkin.decided",
        f"{CENTRE}/supervisor/s1",
        session="s-1",
        candidate="c-2",
        decision="refuse",
        reason="proxy_suspected",
    )
    opened = day.add(
        "identity.opened",
        f"{CENTRE}/investigator/i1",
        id_hash="11" * 32,
        case="case-9",
        basis="court_order",
    )
    _, signals = watched(day)
    assert [(s.source, s.entries) for s in signals] == [
        ("face_match_override", (admit,)),
        ("personal_data_opened", (opened,)),
    ]
    (w,) = grade(signals, DEFAULT_TABLE, NOW)
    assert (w.subject.kind, w.level, w.points, w.entries) == ("centre", "blue", 4, (admit, opened))


def test_an_alarm_during_an_exam_counts_and_one_outside_an_exam_does_not() -> None:
    day = exam_day()
    day.device("device.alarm", exam=None, name="high-vswr", action="set")
    alarm = day.device("device.alarm", name="high-vswr", action="set")
    day.device("device.alarm", name="high-vswr", action="clear")
    seen = day.device("device.detection", device="detector-1", name="cellular", action="set")
    _, signals = watched(day)
    assert [(s.source, s.entries) for s in signals] == [
        ("device_alarm_during_exam", (alarm,)),
        ("device_alarm_during_exam", (seen,)),
    ]
    w = by_subject(grade(signals, DEFAULT_TABLE, NOW))[("examiner", EXAMINER)]
    assert (w.level, w.points, w.entries) == ("yellow", 10, (alarm, seen))  # 5 + 5 points


def test_a_required_band_not_radiating_during_an_exam_is_yellow_once_per_band() -> None:
    day = exam_day()
    day.device("device.status", state="jamming", values={"active_bands": 0b111})
    silent = day.device("device.status", state="jamming", values={"active_bands": 0b011})
    day.device("device.status", state="jamming", values={"active_bands": 0b011})  # heartbeat
    day.device("device.status", exam=None, state="jamming", values={"active_bands": 0})
    _, signals = watched(day)
    assert [(s.source, s.entries) for s in signals] == [("jammer_band_silent", (silent,))]
    assert "band 3" in signals[0].message
    w = by_subject(grade(signals, DEFAULT_TABLE, NOW))[("examiner", EXAMINER)]
    assert (w.level, w.entries) == ("yellow", (silent,))


@pytest.mark.parametrize(
    ("code", "severity", "source", "level"),
    [
        ("bad_signature", "error", "entry_invalid", "red"),
        ("a_code_of_the_mirror", "error", "entry_invalid", "red"),
        ("checkpoint_fork", "error", "log_forked", "red"),
        ("checkpoint_outside_inconsistent", "error", "log_forked", "red"),
        ("bundle_rolled_back", "error", "log_rolled_back", "red"),
        ("recommitted_changed", "error", "allocation_rerolled", "red"),
        ("exam_ungated", "error", "exam_ungated", "orange"),
        ("gate_unsupported", "error", "exam_ungated", "orange"),
        ("recommitted", WARNING, "allocation_recommitted", "blue"),
    ],
)
def test_findings_give_their_level_with_the_entry_that_caused_them(
    code: str, severity: str, source: str, level: str
) -> None:
    day = exam_day()
    started = day.add(
        "exam.started", "exam.example/c/370100-01/tablet/t1", session="s-1", exam="ab" * 16, gate=1
    )
    watch, _ = watched(day)
    finding = Finding(started, code, "what the check found", severity)
    signals = signals_from_findings(
        CENTRE, [finding], NOW, attribute=watch.attribute, entry_time=watch.entry_time
    )
    assert [(s.source, s.entries, s.examiner, s.vehicle) for s in signals] == [
        (source, (started,), EXAMINER, VEHICLE)
    ]
    assert signals[0].at_ms == day.events[started][1]["ts"]
    warnings = by_subject(grade(signals, DEFAULT_TABLE, NOW))
    assert warnings[("centre", CENTRE)].level == level
    assert warnings[("examiner", EXAMINER)].entries == (started,)
    assert code in warnings[("centre", CENTRE)].signals[0].message


def test_a_finding_of_no_entry_is_the_centres_and_entry_warnings_are_not_counted_twice() -> None:
    findings = [
        Finding(None, "checkpoint_fork", "two roots at size 40"),
        Finding(12, "examiner_judged", "a call", WARNING),
        Finding(13, "exam_device_alarm", "alarm at entry 9", WARNING),
        Finding(None, "policy_unpinned", "trusted the bundle's key", WARNING),
    ]
    signals = signals_from_findings(CENTRE, findings, NOW)
    assert [(s.source, s.entries, s.at_ms) for s in signals] == [("log_forked", (), NOW)]
    (w,) = grade(signals, DEFAULT_TABLE, NOW)
    assert (w.subject, w.level) == (Subject("centre", CENTRE, CENTRE), "red")


def test_a_silent_centre_is_yellow_once_per_silence() -> None:
    assert centre_silent_signal(CENTRE, NOW - 60_000, NOW, 300_000) is None
    silent = centre_silent_signal(CENTRE, NOW - 600_000, NOW, 300_000)
    again = centre_silent_signal(CENTRE, NOW - 600_000, NOW + 60_000, 300_000)
    assert silent is not None
    assert again is not None
    assert silent.id == again.id
    (w,) = grade([silent, again], DEFAULT_TABLE, NOW + 60_000)
    assert (w.level, w.points, w.entries) == ("yellow", 10, ())


def test_points_accumulate_over_the_window_and_the_level_rises_then_falls() -> None:
    day = exam_day()
    stops = []
    for n in range(50):
        day.ts = START_MS + n * DAY_MS // 2  # two stops a day for 25 days
        stops.append(
            day.add(
                "exam.stopped", "exam.example/c/370100-01/tablet/t1", exam="ab" * 16, reason="other"
            )
        )
    _, signals = watched(day)
    levels = []
    for count in (1, 9, 10, 24, 25, 49, 50):
        examiner = by_subject(grade(signals[:count], DEFAULT_TABLE, START_MS + 26 * DAY_MS))
        levels.append((count, examiner[("examiner", EXAMINER)].level))
    assert levels == [
        (1, "blue"),
        (9, "blue"),
        (10, "yellow"),
        (24, "yellow"),
        (25, "orange"),
        (49, "orange"),
        (50, "red"),
    ]
    red = by_subject(grade(signals, DEFAULT_TABLE, START_MS + 26 * DAY_MS))[("examiner", EXAMINER)]
    assert red.entries == tuple(stops)
    assert red.points == 50
    # 45 days in, only the stops of the last 30 days count: days 15-24.5, twenty of them.
    later = by_subject(grade(signals, DEFAULT_TABLE, START_MS + 45 * DAY_MS))[
        ("examiner", EXAMINER)
    ]
    assert (later.points, later.level) == (20, "yellow")
    assert later.entries == tuple(stops[30:])
    assert grade(signals, DEFAULT_TABLE, START_MS + 80 * DAY_MS) == []


def test_a_room_reconfigured_keeps_the_other_rooms_of_its_gateway() -> None:
    day = exam_day()
    day.add(
        "room.configured",
        f"{CENTRE}/admin",
        room="field-2",
        kind="field",
        gateway="exam.example/c/370100-01/gateway/g1",
        jammers=[{"device": "jammer-2", "bands": [5]}],
        detectors=[],
        canaries=[],
        max_age_ms=2000,
    )
    silent = day.device("device.status", state="jamming", values={"active_bands": 0b110})
    other = day.device(
        "device.status", device="jammer-2", state="jamming", values={"active_bands": 0}
    )
    _, signals = watched(day)
    assert [(s.source, s.entries) for s in signals] == [
        ("jammer_band_silent", (silent,)),
        ("jammer_band_silent", (other,)),
    ]
    assert "band 1" in signals[0].message
    assert "band 5" in signals[1].message


def test_an_uptime_suspect_during_an_exam_is_yellow_for_the_examiner_and_the_centre() -> None:
    day = exam_day()
    suspect = day.uptime("set")
    _, signals = watched(day)
    assert [(s.source, s.entries, s.examiner, s.vehicle) for s in signals] == [
        ("device_uptime_suspect", (suspect,), EXAMINER, None)
    ]
    assert "jammer-1 uptime frozen" in signals[0].message
    assert f"during exam {'ab' * 16}" in signals[0].message
    warnings = by_subject(grade(signals, DEFAULT_TABLE, NOW))
    assert set(warnings) == {("centre", CENTRE), ("examiner", EXAMINER)}
    for w in warnings.values():
        assert (w.level, w.points, w.entries) == ("yellow", 10, (suspect,))


def test_an_uptime_suspect_outside_an_exam_is_the_centres_alone() -> None:
    day = exam_day()
    suspect = day.uptime("set", exam=None)
    _, signals = watched(day)
    assert [(s.source, s.entries, s.examiner) for s in signals] == [
        ("device_uptime_suspect", (suspect,), None)
    ]
    assert "no exam running" in signals[0].message
    (w,) = grade(signals, DEFAULT_TABLE, NOW)
    assert (w.subject.kind, w.subject.name, w.level, w.entries) == (
        "centre",
        CENTRE,
        "yellow",
        (suspect,),
    )


def test_an_uptime_suspicion_cleared_raises_nothing() -> None:
    day = exam_day()
    day.uptime("clear")
    day.uptime("clear", exam=None)
    _, signals = watched(day)
    assert signals == []


def test_an_uptime_suspicion_counts_once_while_it_stands() -> None:
    day = exam_day()
    first = day.uptime("set", exam=None)
    day.uptime("set", exam=None)  # logged again before a clear (the gateway restarted)
    during = day.uptime("set")  # the same suspicion, now during an exam: the examiner's too
    day.uptime("set")
    other = day.uptime("set", device="detector-1")  # another device's own suspicion
    day.uptime("clear")
    again = day.uptime("set")  # a new suspicion after the clear
    _, signals = watched(day)
    assert [(s.entries, s.examiner) for s in signals] == [
        ((first,), None),
        ((during,), EXAMINER),
        ((other,), EXAMINER),
        ((again,), EXAMINER),
    ]
    # The same entries observed again (a watch rebuilt after a restart) are the same signals.
    _, seen_again = watched(day)
    assert [s.id for s in seen_again] == [s.id for s in signals]
    warnings = by_subject(grade(signals + seen_again, DEFAULT_TABLE, NOW))
    assert (warnings[("centre", CENTRE)].points, warnings[("centre", CENTRE)].level) == (
        40,
        "orange",
    )
    assert warnings[("examiner", EXAMINER)].entries == (during, other, again)
