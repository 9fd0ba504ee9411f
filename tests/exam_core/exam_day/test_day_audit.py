"""The audit replays the exam day: a clean day passes, a tampered one fails naming what and where.

Every bundle here is whole and signed (``signed_day``): the tampered steps are signed with the
keys of the actors who would have signed them, so the audit's own steps (signatures, ``seq``,
tree, checkpoints, blobs) all pass and only ``ExamDayReplayer`` can catch the tampering.
"""

from __future__ import annotations

from typing import Any

import pytest

from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.exam_day.gate_standard import weaker_than_configured
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.exam_day.rooms import parse_room_configuration
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.policy import render_policy
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.signed_day import (
    EXAM_SPACING_MS,
    EXAMS,
    INVESTIGATOR,
    LAST_EXAM,
    REQUIRES,
    SignedDay,
    Tamper,
)


def _audit(tamper: Tamper | None = None, **script: Any) -> tuple[SignedDay, AuditReport]:
    day = SignedDay(tamper=tamper, strict=tamper is None, **script)
    day.whole_day()
    return day, day.audit()


def _only(report: AuditReport, severity: str = ERROR) -> list[Finding]:
    return [f for f in report.findings if f.severity == severity]


def _roster(day: SignedDay) -> list[str]:
    return list(day.day.sessions[ds.SESSION].roster)


def test_a_whole_clean_day_passes_with_no_finding() -> None:
    day, report = _audit()
    assert report.ok
    assert not report.findings
    flow = day.day.sessions[ds.SESSION]
    assert len(flow.exams) == EXAMS  # the day did examine: the audit had steps to replay
    assert report.entries == len(day.log.entries)


def test_a_check_in_removed_fails_at_the_seal_and_holds_back_the_session() -> None:
    removed = "c-03"

    def drop_checkin(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "checkin.verified" and fields["candidate"] == removed:
            return None
        return actor, fields

    day, report = _audit(drop_checkin)
    seal = day.index_of("session.sealed")
    errors = _only(report)
    assert [(f.index, f.code) for f in errors] == [(seal, "day_refused")]
    assert "roster_mismatch" in errors[0].message
    assert f"not checked in ['{removed}']" in errors[0].message
    # What the refused seal holds back is counted once, not listed step by step.
    (held,) = _only(report, WARNING)
    assert held.code == "day_unchecked"
    assert f"in consequence of entry {seal}" in held.message
    assert held.index == seal + 1


def test_an_examiner_swapped_after_the_draw_is_named_at_the_boarding() -> None:
    day = SignedDay(strict=False)
    day.log.checkpoint()
    day.open_session()
    day.allocate()
    candidate = _roster(day)[0]
    assigned = day.assignment[candidate]
    swapped = next(e for e in ds.EXAMINERS if e != assigned)
    day.assignment[candidate] = swapped  # the swapped examiner's crew runs the whole exam
    day.exam(0, candidate)
    day.log.checkpoint()
    report = day.audit()
    boarding = day.index_of("boarding.confirmed")
    (error,) = _only(report)
    assert (error.index, error.code) == (boarding, "day_refused")
    assert f"not_assigned: {candidate} is not assigned to {swapped}" in error.message
    assert ds.tablet(swapped) in error.message
    assert [w.code for w in _only(report, WARNING)] == ["day_unchecked"]


def test_a_boarding_by_another_tablet_is_refused() -> None:
    def other_tablet(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "boarding.confirmed" and fields["examiner"] != "E3":
            return ds.tablet("E3"), fields
        return actor, fields

    day, report = _audit(other_tablet)
    errors = _only(report)
    first = day.index_of("boarding.confirmed")
    assert errors
    assert errors[0].index == first
    assert errors[0].code == "day_refused"
    assert "wrong_actor" in errors[0].message
    assert f"is signed by {ds.tablet(day.assignment[_roster(day)[0]])}" in errors[0].message


def test_a_jammer_alarm_removed_fails_the_gate_and_the_start_it_opened() -> None:
    """The gate refused on band 3's alarm; the refusal is dropped and the allowing decision
    re-signed under requirements without band 3, by which it is right."""

    def hide_alarm(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind != "device.gate":
            return actor, fields
        if not fields["allowed"]:
            return None
        if ds.START + 2 * EXAM_SPACING_MS <= fields["mono_ms"] < ds.START + 3 * EXAM_SPACING_MS:
            weaker = dict(fields["requires"]) | {"jammers": {"field-1/jammer": [1, 2]}}
            return actor, fields | {"requires": weaker}
        return actor, fields

    day, report = _audit(hide_alarm)
    exam = exam_id(ds.SESSION, _roster(day)[2])
    gate = day.index_of("device.gate", exam=exam)
    start = day.index_of("exam.started", exam=exam)
    assert [(f.index, f.code) for f in _only(report)] == [
        (gate, "day_gate_standard"),
        (start, "day_start_gate_standard"),
    ]
    gate_finding, start_finding = _only(report)
    assert "configured bands [1, 2, 3], the gate required [1, 2] (band 3 not checked)" in (
        gate_finding.message
    )
    assert "room field-1's configuration (entry " in gate_finding.message
    assert f"started on gate decision {gate}" in start_finding.message


def test_a_changed_score_of_a_stopped_exam_is_refused() -> None:
    def pass_it(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "exam.scored" and fields["stopped"]:
            return actor, fields | {"stopped": False, "passed": True, "score": 100}
        return actor, fields

    day, report = _audit(pass_it)
    exam = exam_id(ds.SESSION, _roster(day)[LAST_EXAM])
    (error,) = _only(report)
    assert (error.index, error.code) == (day.index_of("exam.scored", exam=exam), "day_refused")
    assert f"score_stop: exam {exam} was stopped" in error.message


def test_an_exam_started_with_no_gate_is_refused_at_its_start() -> None:
    def no_gate(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "device.gate" and fields.get("exam") == second:
            return None
        return actor, fields

    day = SignedDay(tamper=no_gate, strict=False)
    day.log.checkpoint()
    day.open_session()
    day.allocate()
    roster = _roster(day)
    second = exam_id(ds.SESSION, roster[1])
    for number in range(EXAMS):
        day.exam(number, roster[number])
    day.log.checkpoint()
    report = day.audit()
    start = day.index_of("exam.started", exam=second)
    (error,) = _only(report)
    assert (error.index, error.code) == (start, "day_out_of_order")
    assert f"entry {start} is not the latest gate decision of room {ds.ROOM}" in error.message
    first_gate = day.index_of("device.gate")
    first = exam_id(ds.SESSION, roster[0])
    assert f"latest gate decision of room {ds.ROOM} is entry {first_gate}, allowing, " in (
        error.message
    )
    assert f"for exam {first}" in error.message
    # The exam never started, so it never ends: its crew's next boarding is a consequence.
    (held,) = _only(report, WARNING)
    assert held.code == "day_unchecked"
    assert f"in consequence of entry {start}" in held.message


def test_an_exam_with_no_result_fails_when_the_log_goes_on_long_after() -> None:
    dropped: list[str] = []

    def drop_score(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "exam.scored" and not dropped:
            dropped.append(fields["exam"])
            return None
        return actor, fields

    day, report = _audit(drop_score)
    (first,) = dropped
    (error,) = _only(report)
    ended = day.index_of("exam.ended", exam=first)
    assert (error.index, error.code) == (ended, "day_no_result")
    assert f"exam {first} (started at entry" in error.message
    assert "has no result" in error.message


def test_an_exam_running_at_the_end_is_a_warning_within_its_time_and_an_error_after() -> None:
    def cut_first_exam(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind in ("exam.ended", "exam.scored") and fields["exam"] == first:
            return None
        return actor, fields

    day = SignedDay(tamper=cut_first_exam, strict=False)
    day.log.checkpoint()
    day.open_session()
    day.allocate()
    first = exam_id(ds.SESSION, _roster(day)[0])
    day.exam(0, _roster(day)[0])
    day.log.checkpoint()
    soon = day.audit()
    (warning,) = soon.findings
    assert warning.severity == WARNING
    assert warning.code == "day_no_result"
    assert warning.index == day.index_of("exam.started", exam=first)
    assert "still running when the log ends" in warning.message
    assert soon.ok
    # Three hours later, the day goes on: the exam is lost, not late.
    day.exam(1, _roster(day)[1])
    day.exam(2, _roster(day)[2])
    day.exam(3, _roster(day)[3])
    day.log.checkpoint()
    late = day.audit()
    (error,) = late.errors
    assert (error.index, error.code) == (warning.index, "day_no_result")


def test_overrides_of_face_checks_and_openings_of_identity_are_listed_as_warnings() -> None:
    day = SignedDay()
    day.log.checkpoint()
    day.open_session()
    for candidate, decision, reason in (
        ("c-07", "admit", "identity_confirmed"),
        ("c-08", "refuse", "proxy_suspected"),
    ):
        for attempt in (1, 2, 3):
            day.check_in(candidate, face=100, attempt=attempt)
        day.do(
            "checkin.decided",
            ds.SUPERVISOR,
            ds.CHECKIN,
            session=ds.SESSION,
            candidate=candidate,
            decision=decision,
            reason=reason,
        )
    day.do(
        "identity.opened",
        INVESTIGATOR,
        ds.START,
        id_hash=ds.id_hash("c-08"),
        case="case-2026/17",
        basis="investigation",
    )
    day.log.checkpoint()
    report = day.audit()
    assert report.ok
    admitted, refused, opened = report.findings
    assert (admitted.code, admitted.severity) == ("day_face_override", WARNING)
    assert f"supervisor {ds.SUPERVISOR} admitted c-07" in admitted.message
    assert "after 3 failed face matches (reason: identity_confirmed)" in admitted.message
    assert refused.code == "day_checkin_refused"
    assert "refused c-08" in refused.message
    assert "proxy_suspected" in refused.message
    assert opened.code == "day_identity_opened"
    assert opened.index == day.index_of("identity.opened")
    assert INVESTIGATOR in opened.message
    assert "case-2026/17" in opened.message


def test_a_committed_manifest_that_is_absent_is_named_and_holds_the_session_back() -> None:
    day = SignedDay()
    day.whole_day()
    files = day.log.files()
    (manifest,) = [p for p in files if p.startswith("blobs/") and len(files[p]) > 200]
    report = check_bundle(
        bundle_from_files({p: d for p, d in files.items() if p != manifest}),
        [ExamDayReplayer()],
        policy=render_policy(day.log.policy()),
    )
    commit = day.index_of("allocation.committed")
    assert [(f.index, f.code) for f in report.errors] == [
        (commit, "day_refused"),
        (commit, "blob_missing"),
    ]
    assert "its manifest is absent" in report.errors[0].message
    assert [w.code for w in report.warnings] == ["day_unchecked"]


def test_one_replayer_audits_two_bundles_alike() -> None:
    replayer = ExamDayReplayer()
    policy = render_policy(SignedDay().log.policy())

    def drop_checkin(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "checkin.verified" and fields["candidate"] == "c-01":
            return None
        return actor, fields

    reports = []
    for tamper in (drop_checkin, None, drop_checkin):
        day = SignedDay(tamper=tamper, strict=tamper is None)
        day.whole_day()
        reports.append(check_bundle(bundle_from_files(day.log.files()), [replayer], policy=policy))
    assert not reports[0].ok
    assert reports[1].ok
    assert not reports[1].findings
    assert reports[2].findings == reports[0].findings


def test_sessions_never_opened_are_not_judged_until_the_day_begins() -> None:
    """A log from before the exam day's steps (its allocation names no opened session) passes;
    once a session is opened, a step of a session nobody opened is refused."""
    day = SignedDay(strict=False)
    day.log.checkpoint()
    stray = {"session": "2026-03-01/legacy", "candidates": ["c-01"], "examiners": ["E1"]}
    day.do("session.sealed", ds.ALLOCATOR, ds.SEAL_FROM, **stray)
    day.open_session()
    day.do("session.sealed", ds.ALLOCATOR, ds.SEAL_FROM + 1, **stray)
    day.log.checkpoint()
    report = day.audit()
    (error,) = report.errors
    assert (error.index, error.code) == (day.index_of("session.sealed", 1), "day_out_of_order")
    assert "unknown_session: no session 2026-03-01/legacy" in error.message


@pytest.mark.parametrize(
    ("requires", "short"),
    [
        (REQUIRES, []),
        (
            REQUIRES
            | {"jammers": {"field-1/jammer": [1, 2, 3, 4], "x/jammer": [1]}, "max_age_ms": 500},
            [],
        ),
        (
            REQUIRES | {"jammers": {}},
            ["jammer field-1/jammer (bands [1, 2, 3]) is not required"],
        ),
        (
            REQUIRES | {"detectors": [], "canaries": ["field-1/detector"]},
            ["detector field-1/detector is not required", "canary field-1/canary is not required"],
        ),
        (
            REQUIRES | {"max_age_ms": 60_000},
            ["statuses up to 60000 ms old accepted, the configuration allows 2000 ms"],
        ),
        (None, ["the gate names no requirements"]),
    ],
)
def test_a_gate_must_apply_at_least_the_configured_standard(
    requires: object, short: list[str]
) -> None:
    config = parse_room_configuration(ds.ROOM_FIELDS, ds.ORIGIN)
    assert weaker_than_configured(config, requires) == short


def test_a_session_opened_in_a_room_never_configured_holds_its_session_back() -> None:
    day = SignedDay(strict=False)
    day.log.checkpoint()
    day.do("session.opened", ds.ADMIN, ds.CHECKIN - 5_000, **ds.OPENED_FIELDS)
    for candidate in ds.BOOKED[:3]:
        day.check_in(candidate)
    day.log.checkpoint()
    report = day.audit()
    opened = day.index_of("session.opened")
    (error,) = report.errors
    assert (error.index, error.code) == (opened, "day_out_of_order")
    assert f"room_not_configured: room {ds.ROOM} is not configured" in error.message
    (held,) = report.warnings
    assert held.code == "day_unchecked"
    assert f"3 later steps of session {ds.SESSION}" in held.message


def test_a_room_whose_gateway_is_not_a_gateway_key_is_refused_as_ingest_refuses_it() -> None:
    """Signed over a door that did not check it, a room naming a tablet as its gateway: the
    audit refuses it with the service's words (``room_gateway``), and the day it held back."""
    tablet = ds.tablet(ds.EXAMINERS[0])

    def tablet_gateway(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "room.configured":
            return actor, fields | {"gateway": tablet}
        return actor, fields

    day, report = _audit(tablet_gateway)
    configured = day.index_of("room.configured")
    errors = _only(report)
    assert (errors[0].index, errors[0].code) == (configured, "day_refused")
    assert f"room_gateway: gateway {tablet} is a tablet key, not a gateway key" in errors[0].message
    assert not report.ok
