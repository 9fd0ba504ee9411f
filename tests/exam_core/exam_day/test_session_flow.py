"""The session's state machine: the day in order, and every step out of order refused.

Each refusal is checked twice (``check`` and ``apply``) and must leave the state unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from allocation import (
    Candidate,
    CandidateId,
    LateChange,
    SchoolId,
    committed_fields,
    encode_manifest,
)
from exam_core.errors import ExamDayError, StepError
from exam_core.exam_day.checkin import CheckinState
from exam_core.exam_day.exam_flow import ExamPhase
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.session_flow import Phase, SessionFlow
from tests.exam_core.exam_day.day_script import (
    ADMIN,
    ALLOCATOR,
    BOOKED,
    CHECKIN,
    EXAMINERS,
    GATEWAY,
    OPENED_FIELDS,
    ROOM_FIELDS,
    ROUND,
    SCORER,
    SEAL_FROM,
    SEAL_UNTIL,
    SESSION,
    START,
    SUPERVISOR,
    TERMINAL,
    DayScript,
    car,
    chunk_hash,
    id_hash,
    scored,
    tablet,
    unit,
)


@pytest.fixture
def script() -> DayScript:
    s = DayScript()
    s.open_session()
    return s


def step_error(error: ExamDayError, code: str, expected: str) -> None:
    assert isinstance(error, StepError), error
    assert error.code == code, error
    assert expected in error.expected, error


def checkin_state(flow: SessionFlow, candidate: str) -> CheckinState:
    """``candidate``'s check-in state, read afresh: a step changes it behind the type checker's
    back, so an assertion on the attribute itself would narrow its type for the rest of the test."""
    return flow.checkins[candidate].state


def test_a_whole_session_in_order(script: DayScript) -> None:
    flow = script.day.sessions[SESSION]
    # Check-in: four pass at once; one passes on the second try; a proxy is locked and refused.
    for candidate in BOOKED[:4]:
        script.check_in(candidate)
    script.check_in("c-05", face=500)
    script.check_in("c-05", face=900, attempt=2)
    for attempt in (1, 2, 3):
        script.check_in("c-06", face=120, attempt=attempt)
    assert checkin_state(flow, "c-06") is CheckinState.LOCKED
    script.do(
        "checkin.decided",
        SUPERVISOR,
        CHECKIN,
        session=SESSION,
        candidate="c-06",
        decision="refuse",
        reason="proxy_suspected",
    )
    assert checkin_state(flow, "c-06") is CheckinState.REFUSED
    # The roster is the check-ins: c-06 (refused), c-07 and c-08 (absent) are not on it.
    script.seal()
    assert flow.roster == ("c-01", "c-02", "c-03", "c-04", "c-05")
    script.commit()
    with pytest.raises(StepError) as caught:
        flow.assignment_for(tablet("E1"))
    assert caught.value.expected == "allocation.made"
    script.make()
    assert flow.phase is Phase.ALLOCATED
    # Each tablet sees its own candidates, with their exam ids, and nobody else's.
    seen = []
    for examiner in EXAMINERS:
        mine = flow.assignment_for(tablet(examiner))
        assert all(script.assignment[c] == examiner for c, _ in mine)
        assert all(e == exam_id(SESSION, c) for c, e in mine)
        seen += [c for c, _ in mine]
    assert sorted(seen) == list(flow.roster)
    with pytest.raises(ExamDayError, match="not_on_duty"):
        flow.assignment_for(f"{tablet('E1')}-stolen")
    # One exam through to its result; another stopped by the examiner.
    first, second = (
        "c-01",
        next(c for c in flow.roster if script.assignment[c] != script.assignment["c-01"]),
    )
    exam = script.board(first)
    script.start(first, exam)
    for n in range(3):
        script.chunk(first, exam, n)
    script.end(first, exam, 3)
    script.score(exam, 3)
    assert flow.exams[exam].phase is ExamPhase.SCORED
    assert flow.exams[exam].passed is True
    other = script.board(second)
    script.start(second, other, ts=START + 5_000)
    script.chunk(second, other, 0, ts=START + 6_000)
    script.do(
        "exam.stopped",
        tablet(script.assignment[second]),
        START + 7_000,
        exam=other,
        reason="danger",
    )
    script.chunk(second, other, 1, ts=START + 8_000)  # buffered before the stop, uploaded after
    script.end(second, other, 2)
    script.score(other, 2, passed=False, stopped=True)
    assert flow.exams[other].stop_reason == "danger"


def test_checkin_refusals(script: DayScript) -> None:
    base = {
        "session": SESSION,
        "candidate": "c-01",
        "id_hash": id_hash("c-01"),
        "face": 900,
        "attempt": 1,
    }
    error = script.refused(
        "checkin.verified",
        TERMINAL,
        CHECKIN,
        **(base | {"candidate": "c-99", "id_hash": id_hash("c-99")}),
    )
    assert error.code == "not_booked"
    error = script.refused(
        "checkin.verified", TERMINAL, CHECKIN, **(base | {"id_hash": id_hash("c-02")})
    )
    assert error.code == "identity_mismatch"
    error = script.refused("checkin.verified", TERMINAL, CHECKIN, **(base | {"face": 799}))
    assert error.code == "face_score"
    error = script.refused("checkin.face_failed", TERMINAL, CHECKIN, **(base | {"face": 800}))
    assert error.code == "face_score"
    step_error(
        script.refused("checkin.verified", TERMINAL, CHECKIN, **(base | {"attempt": 2})),
        "attempt_number",
        "attempt 1",
    )
    step_error(
        script.refused(
            "checkin.decided",
            SUPERVISOR,
            CHECKIN,
            session=SESSION,
            candidate="c-01",
            decision="admit",
            reason="identity_confirmed",
        ),
        "not_locked",
        "checkin.verified",
    )
    step_error(
        script.refused("checkin.verified", TERMINAL, SEAL_UNTIL, **base),
        "checkin_closed",
        "session.sealed",
    )
    script.check_in("c-01")
    step_error(
        script.refused("checkin.verified", TERMINAL, CHECKIN, **base),
        "checked_in",
        "session.sealed",
    )
    for attempt in (1, 2, 3):
        script.check_in("c-02", face=100, attempt=attempt)
    locked = base | {"candidate": "c-02", "id_hash": id_hash("c-02"), "attempt": 4 - 3}
    step_error(
        script.refused("checkin.verified", TERMINAL, CHECKIN, **locked),
        "checkin_locked",
        "checkin.decided",
    )
    decided = {"session": SESSION, "candidate": "c-02", "decision": "admit"}
    error = script.refused(
        "checkin.decided", SUPERVISOR, CHECKIN, **(decided | {"reason": "proxy_suspected"})
    )
    assert error.code == "decision_reason"
    script.do(
        "checkin.decided", SUPERVISOR, CHECKIN, **(decided | {"reason": "identity_confirmed"})
    )
    flow = script.day.sessions[SESSION]
    assert flow.checkins["c-02"].state is CheckinState.CHECKED_IN
    assert flow.checkins["c-02"].admitted_by_supervisor
    assert flow.checked_in() == ("c-01", "c-02")
    script.seal()
    step_error(
        script.refused(
            "checkin.verified",
            TERMINAL,
            CHECKIN,
            **(base | {"candidate": "c-03", "id_hash": id_hash("c-03")}),
        ),
        "out_of_order",
        "allocation.committed",
    )


def test_the_roster_is_sealed_inside_its_window_and_equals_the_checkins(script: DayScript) -> None:
    for candidate in BOOKED[:3]:
        script.check_in(candidate)
    roster = {"session": SESSION, "candidates": BOOKED[:3], "examiners": EXAMINERS}
    step_error(
        script.refused("session.sealed", ALLOCATOR, SEAL_FROM - 1, **roster),
        "too_early",
        "session.sealed",
    )
    step_error(
        script.refused("session.sealed", ALLOCATOR, SEAL_UNTIL + 1, **roster),
        "window_missed",
        "no step",
    )
    for wrong in (BOOKED[:2], BOOKED[:4], [BOOKED[1], BOOKED[0], BOOKED[2]]):
        error = script.refused(
            "session.sealed", ALLOCATOR, SEAL_FROM, **(roster | {"candidates": wrong})
        )
        assert error.code == "roster_mismatch"
    error = script.refused(
        "session.sealed", ALLOCATOR, SEAL_FROM, **(roster | {"examiners": EXAMINERS[:2]})
    )
    assert error.code == "roster_mismatch"
    script.do("session.sealed", ALLOCATOR, SEAL_UNTIL, **roster)
    step_error(
        script.refused("session.sealed", ALLOCATOR, SEAL_UNTIL, **roster),
        "out_of_order",
        "allocation.committed",
    )


def test_allocation_steps_in_order(script: DayScript) -> None:
    for candidate in BOOKED[:6]:
        script.check_in(candidate)
    data = script.prepare()
    assert script.manifest is not None
    fields = committed_fields(data, script.manifest)
    step_error(
        script.refused("allocation.committed", ALLOCATOR, SEAL_UNTIL, data, **fields),
        "out_of_order",
        "session.sealed",
    )
    script.seal()
    with pytest.raises(RuntimeError, match="with the manifest"):
        script.day.check(script.step("allocation.committed", ALLOCATOR, SEAL_UNTIL, **fields))
    error = script.refused("allocation.committed", ALLOCATOR, SEAL_UNTIL, data + b" ", **fields)
    assert error.code == "manifest_mismatch"
    # A manifest over another roster (a candidate who did not check in) is refused.
    original = script.manifest
    other = script.prepare()
    assert other == data
    roster = replace(
        original.roster,
        candidates=(
            *original.roster.candidates[:-1],
            Candidate(CandidateId("c-08"), "C1", SchoolId("s")),
        ),
    )
    forged = encode_manifest(replace(original, roster=roster))
    error = script.refused(
        "allocation.committed",
        ALLOCATOR,
        SEAL_UNTIL,
        forged,
        **committed_fields(forged, replace(original, roster=roster)),
    )
    assert error.code == "manifest"
    script.commit()
    # An abort re-commits the same manifest for a later round only.
    earlier = script.prepare(ROUND - 1)
    assert script.manifest is not None
    step_error(
        script.refused(
            "allocation.committed",
            ALLOCATOR,
            SEAL_UNTIL,
            earlier,
            **committed_fields(earlier, script.manifest),
        ),
        "recommit",
        "later round",
    )
    script.commit(ROUND + 5)
    flow = script.day.sessions[SESSION]
    assert (flow.commits, flow.round) == (2, ROUND + 5)
    step_error(
        script.refused(
            "boarding.confirmed",
            tablet("E1"),
            START,
            session=SESSION,
            exam=exam_id(SESSION, "c-01"),
            candidate="c-01",
            examiner="E1",
            vehicle=car("E1"),
        ),
        "out_of_order",
        "allocation.made",
    )
    script.make()
    step_error(
        script.refused(
            "allocation.committed",
            ALLOCATOR,
            SEAL_UNTIL,
            script.manifest_bytes,
            **committed_fields(script.manifest_bytes, script.manifest),
        ),
        "out_of_order",
        "boarding.confirmed",
    )


def test_boarding_only_as_assigned(script: DayScript) -> None:
    script.allocate()
    candidate = "c-01"
    examiner = script.assignment[candidate]
    stranger = next(e for e in EXAMINERS if e != examiner)
    exam = exam_id(SESSION, candidate)
    board = {
        "session": SESSION,
        "exam": exam,
        "candidate": candidate,
        "examiner": examiner,
        "vehicle": car(examiner),
    }
    assert (
        script.refused("boarding.confirmed", tablet(stranger), START, **board).code == "wrong_actor"
    )
    assert (
        script.refused(
            "boarding.confirmed",
            tablet(stranger),
            START,
            **(board | {"examiner": stranger, "vehicle": car(stranger)}),
        ).code
        == "not_assigned"
    )
    assert (
        script.refused(
            "boarding.confirmed", tablet(examiner), START, **(board | {"vehicle": car(stranger)})
        ).code
        == "wrong_vehicle"
    )
    assert (
        script.refused(
            "boarding.confirmed", tablet(examiner), START, **(board | {"exam": "00" * 16})
        ).code
        == "exam_id"
    )
    assert (
        script.refused(
            "boarding.confirmed", tablet(examiner), START, **(board | {"examiner": "E9"})
        ).code
        == "not_on_duty"
    )
    assert (
        script.refused(
            "boarding.confirmed",
            tablet(examiner),
            START,
            **(board | {"candidate": "c-07", "exam": exam_id(SESSION, "c-07")}),
        ).code
        == "not_assigned"
    )
    script.board(candidate)
    step_error(
        script.refused("boarding.confirmed", tablet(examiner), START, **board),
        "boarded_already",
        "exam.started",
    )
    # The crew's car is taken until the exam ends.
    busy = next((c for c, e in script.assignment.items() if e == examiner and c != candidate), None)
    if busy is not None:
        other = board | {"candidate": busy, "exam": exam_id(SESSION, busy)}
        step_error(
            script.refused("boarding.confirmed", tablet(examiner), START, **other),
            "crew_busy",
            "exam.ended",
        )


def test_an_exam_starts_only_on_a_fresh_gate_for_it(script: DayScript) -> None:
    script.allocate()
    candidate = "c-01"
    exam = script.board(candidate)
    me = tablet(script.assignment[candidate])
    start = {"session": SESSION, "exam": exam}
    step_error(
        script.refused("exam.started", me, START + 2_000, **(start | {"gate": 999})),
        "gate_not_latest",
        "device.gate",
    )
    closed = script.gate(exam, allowed=False, ts=START + 1_000)
    step_error(
        script.refused("exam.started", me, START + 2_000, **(start | {"gate": closed.index})),
        "gate_closed",
        "allows",
    )
    other = script.gate(exam_id(SESSION, "c-02"), ts=START + 1_500)
    step_error(
        script.refused("exam.started", me, START + 2_000, **(start | {"gate": other.index})),
        "gate_other_exam",
        exam,
    )
    gate = script.gate(exam, ts=START + 1_800)
    step_error(
        script.refused("exam.started", me, START + 1_800 + 5_001, **(start | {"gate": gate.index})),
        "gate_stale",
        "5000 ms",
    )
    step_error(
        script.refused("exam.started", me, START - 1, **(start | {"gate": gate.index})),
        "too_early",
        str(START),
    )
    assert (
        script.refused(
            "exam.started", tablet("E9"), START + 2_000, **(start | {"gate": gate.index})
        ).code
        == "wrong_actor"
    )
    # A newer decision, even for another room's exam, must be cited: the older one is not latest.
    newer = script.gate(exam, ts=START + 1_900)
    step_error(
        script.refused("exam.started", me, START + 2_000, **(start | {"gate": gate.index})),
        "gate_not_latest",
        "device.gate",
    )
    script.do("exam.started", me, START + 2_000, **(start | {"gate": newer.index}))
    step_error(
        script.refused("exam.started", me, START + 2_500, **(start | {"gate": newer.index})),
        "out_of_order",
        "telemetry.chunk",
    )
    # A gate decision signed by another gateway than the room's is refused.
    error = script.refused(
        "device.gate",
        f"{GATEWAY}-rogue",
        START,
        room="field-1",
        allowed=True,
        reasons=[],
        evidence=[],
        mono_ms=1,
    )
    assert error.code == "wrong_gateway"


def test_telemetry_end_and_score_in_order(script: DayScript) -> None:
    script.allocate()
    candidate = "c-01"
    exam = script.board(candidate)
    mine = unit(script.assignment[candidate])
    chunk = {
        "exam": exam,
        "chunk": 0,
        "first_frame": 0,
        "frames": 100,
        "sha256": chunk_hash(exam, 0),
        "length": 9,
    }
    step_error(
        script.refused("telemetry.chunk", mine, START, **chunk), "out_of_order", "exam.started"
    )
    step_error(
        script.refused("exam.scored", SCORER, START, **scored(exam, 1)),
        "out_of_order",
        "exam.started",
    )
    script.start(candidate, exam)
    assert script.refused("telemetry.chunk", unit("E9"), START, **chunk).code == "wrong_actor"
    step_error(
        script.refused("telemetry.chunk", mine, START, **(chunk | {"chunk": 1})),
        "chunk_order",
        "telemetry.chunk 0",
    )
    assert (
        script.refused("telemetry.chunk", mine, START, **(chunk | {"first_frame": 5})).code
        == "frame_gap"
    )
    script.chunk(candidate, exam, 0)
    script.chunk(candidate, exam, 1)
    step_error(
        script.refused("exam.ended", mine, START, exam=exam, chunks=3),
        "chunks_missing",
        "telemetry.chunk 2",
    )
    assert script.refused("exam.ended", mine, START, exam=exam, chunks=1).code == "chunk_count"
    step_error(
        script.refused("exam.scored", SCORER, START, **scored(exam, 2)),
        "out_of_order",
        "exam.ended",
    )
    script.end(candidate, exam, 2)
    step_error(
        script.refused(
            "telemetry.chunk", mine, START, **(chunk | {"chunk": 2, "first_frame": 200})
        ),
        "out_of_order",
        "exam.scored",
    )
    assert script.refused("exam.scored", SCORER, START, **scored(exam, 1)).code == "score_chunks"
    assert (
        script.refused(
            "exam.scored", SCORER, START, **(scored(exam, 2) | {"map": "k2-field-b/1"})
        ).code
        == "score_route"
    )
    assert (
        script.refused("exam.scored", SCORER, START, **(scored(exam, 2) | {"subject": 3})).code
        == "score_session"
    )
    assert (
        script.refused(
            "exam.scored", SCORER, START, **scored(exam, 2, stopped=True, passed=False)
        ).code
        == "score_stop"
    )
    script.score(exam, 2)
    step_error(
        script.refused("exam.scored", SCORER, START, **scored(exam, 2)), "out_of_order", "no step"
    )
    step_error(
        script.refused(
            "exam.stopped", tablet(script.assignment[candidate]), START, exam=exam, reason="danger"
        ),
        "out_of_order",
        "no step",
    )
    step_error(
        script.refused("telemetry.chunk", mine, START, **(chunk | {"exam": "ab" * 16})),
        "not_boarded",
        "boarding.confirmed",
    )


def test_a_stopped_exam_cannot_pass(script: DayScript) -> None:
    script.allocate()
    exam = script.board("c-01")
    script.start("c-01", exam)
    me = tablet(script.assignment["c-01"])
    assert (
        script.refused("exam.stopped", tablet("E9"), START, exam=exam, reason="danger").code
        == "wrong_actor"
    )
    script.do("exam.stopped", me, START + 3_000, exam=exam, reason="vehicle_fault")
    step_error(
        script.refused("exam.stopped", me, START, exam=exam, reason="danger"),
        "out_of_order",
        "exam.ended",
    )
    script.chunk("c-01", exam, 0)
    script.end("c-01", exam, 1)
    assert (
        script.refused(
            "exam.scored", SCORER, START, **scored(exam, 1, stopped=True, passed=True)
        ).code
        == "score_stop"
    )
    assert (
        script.refused("exam.scored", SCORER, START, **scored(exam, 1, passed=False)).code
        == "score_stop"
    )
    script.score(exam, 1, passed=False, stopped=True)


def test_no_show_and_withdrawal_are_repaired(script: DayScript) -> None:
    script.allocate()
    flow = script.day.sessions[SESSION]
    boarded = "c-01"
    exam = script.board(boarded)
    busy_examiner = script.assignment[boarded]
    # A boarded candidate is no no-show; a running exam's examiner cannot withdraw yet.
    assert script.allocation is not None
    base = {
        "session": SESSION,
        "manifest_sha256": script.allocation.manifest_sha256.hex(),
        "repair": 1,
        "reason": "late",
        "assignment": [list(p) for p in script.assignment.items()],
    }
    error = script.refused(
        "allocation.repaired",
        ALLOCATOR,
        START,
        **(base | {"changes": [{"kind": "no_show", "subject": boarded}]}),
    )
    assert error.code == "repair"
    step_error(
        script.refused(
            "allocation.repaired",
            ALLOCATOR,
            START,
            **(base | {"changes": [{"kind": "examiner_withdrawn", "subject": busy_examiner}]}),
        ),
        "examiner_busy",
        "exam.ended",
    )
    step_error(
        script.refused(
            "allocation.repaired",
            ALLOCATOR,
            START,
            **(base | {"repair": 2, "changes": [{"kind": "no_show", "subject": "c-02"}]}),
        ),
        "repair_number",
        "number 1",
    )
    absent = next(c for c in flow.roster if c != boarded)
    script.repair(LateChange("no_show", absent))
    assert absent in flow.no_shows
    assert absent not in flow.assignment
    assert flow.assignment_for(tablet(script.assignment[boarded]))
    assert all(c != absent for e in EXAMINERS for c, _ in flow.assignment_for(tablet(e)))
    error = script.refused(
        "boarding.confirmed",
        tablet(EXAMINERS[0]),
        START,
        session=SESSION,
        exam=exam_id(SESSION, absent),
        candidate=absent,
        examiner=EXAMINERS[0],
        vehicle=car(EXAMINERS[0]),
    )
    assert error.code == "no_show"
    # Finish the running exam; then an idle examiner withdraws and their candidates move.
    script.start(boarded, exam)
    script.chunk(boarded, exam, 0)
    script.end(boarded, exam, 1)
    leaving = next(e for e in EXAMINERS if e != busy_examiner)
    script.repair(LateChange("examiner_withdrawn", leaving), ts=START + 100_000)
    assert leaving in flow.withdrawn
    assert leaving not in flow.assignment.values()
    assert flow.assignment_for(tablet(leaving)) == ()
    assert flow.repairs == 2


def test_steps_of_unknown_sessions_and_rooms(script: DayScript) -> None:
    step_error(
        script.refused(
            "checkin.verified",
            TERMINAL,
            CHECKIN,
            session="other",
            candidate="c-01",
            id_hash=id_hash("c-01"),
            face=900,
            attempt=1,
        ),
        "unknown_session",
        "session.opened",
    )
    step_error(
        script.refused(
            "session.opened",
            ADMIN,
            CHECKIN,
            **(OPENED_FIELDS | {"session": "s2", "room": "field-9"}),
        ),
        "room_not_configured",
        "room.configured",
    )
    assert (
        script.refused("session.opened", ADMIN, CHECKIN, **OPENED_FIELDS).code == "session_exists"
    )
    assert (
        script.refused(
            "room.configured",
            ADMIN,
            CHECKIN,
            **(ROOM_FIELDS | {"jammers": [], "detectors": [], "canaries": []}),
        ).code
        == "room_config"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seal_until_ms": START + 1}, "window must close before the start"),
        ({"seal_from_ms": SEAL_UNTIL}, "window must close before the start"),
        ({"booked": ["c-01", "c-01"]}, "booked: a value appears twice"),
        (
            {"crews": [OPENED_FIELDS["crews"][0], OPENED_FIELDS["crews"][0]]},
            "a value appears twice",
        ),
        (
            {"crews": [OPENED_FIELDS["crews"][0] | {"unit": "other.example/vehicle/u"}]},
            "not a key under",
        ),
        ({"face_threshold": 1001}, "face_threshold"),
        ({"name": "张三"}, "unknown field"),
    ],
)
def test_a_session_plan_is_checked_as_a_whole(
    script: DayScript, changes: dict[str, object], message: str
) -> None:
    error = script.refused(
        "session.opened", ADMIN, CHECKIN, **(OPENED_FIELDS | {"session": "s2"} | changes)
    )
    assert error.code == "session_plan"
    assert message in error.message


def test_steps_of_other_domains_pass_through(script: DayScript) -> None:
    before = script.snapshot()
    script.do("demo.event", ADMIN, 1, n=1)
    script.do(
        "device.status",
        GATEWAY,
        1,
        device="field-1/jammer",
        kind="jammer",
        mono_ms=1,
        state="jamming",
        values={},
        raw="",
    )
    assert script.snapshot() == before
