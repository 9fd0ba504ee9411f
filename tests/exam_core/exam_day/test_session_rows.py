"""Sessions from the database: the plan, identification at check-in, the allocation's roster."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from allocation import (
    BeaconTarget,
    CandidateId,
    ExaminerId,
    Manifest,
    Roster,
    find_conflicts,
    prepare_manifest,
    vrf_public_key,
)
from exam_core.errors import ExamDayError, IdentityError
from exam_core.exam_day.imports import ImportContext, import_csv
from exam_core.exam_day.plan import Crew, parse_plan, session_opened_fields
from exam_core.exam_day.session_rows import allocation_roster, id_hashes_of, identify, plan_of
from tests.exam_core.exam_day import roster_files as rf
from tests.exam_core.exam_day.conftest import SECRET, TODAY


@pytest.fixture
def loaded(db: Session, context: ImportContext) -> Session:
    # E02 declared c-0003's holder a relative; c-0002 last failed with E01; E03 taught at school-2.
    relatives = rf.csv(
        "examiner_id,name,classes,former_schools,relatives",
        "E01,李四,C1;C2,school-9,",
        f"E02,王五,C1,,{rf.id_number(3)}",
        "E03,赵六,C1,school-2,",
    )
    for kind, data in (
        ("examiners", relatives),
        ("candidates", rf.CANDIDATES),
        ("vehicles", rf.VEHICLES),
        ("sessions", rf.SESSIONS),
        ("crews", rf.CREWS),
        ("bookings", rf.BOOKINGS),
    ):
        import_csv(db, kind, data, context)
    return db


def _manifest(roster: Roster) -> Manifest:
    return prepare_manifest(
        roster,
        scale=1000,
        cap=1000,
        beacon=BeaconTarget("dev", "{}", 1),
        vrf_key=vrf_public_key(bytes(32)),
    )


def test_the_plan_comes_from_the_rows_and_round_trips(loaded: Session) -> None:
    plan = plan_of(loaded, "s-am")
    assert plan.booked == {"c-0001", "c-0002", "c-0003"}
    assert plan.crews == (
        Crew("E01", f"{rf.ORIGIN}/tablet/T01", "car-01", f"{rf.ORIGIN}/vehicle/car-01"),
        Crew("E02", f"{rf.ORIGIN}/tablet/T02", "car-02", f"{rf.ORIGIN}/vehicle/car-02"),
    )
    assert (plan.subject, plan.licence_class, plan.room, plan.route) == (
        2,
        "C1",
        "field-1",
        "k2-field-a/1",
    )
    assert parse_plan(session_opened_fields(plan), rf.ORIGIN) == plan
    with pytest.raises(ExamDayError, match="unknown_session"):
        plan_of(loaded, "s-none")


def test_a_session_without_bookings_or_crews_cannot_open(
    db: Session, context: ImportContext
) -> None:
    import_csv(db, "sessions", rf.SESSIONS, context)
    with pytest.raises(ExamDayError, match="needs bookings and crews"):
        plan_of(db, "s-am")


def test_identify_finds_the_booked_holder_only(loaded: Session) -> None:
    candidate, id_hash = identify(loaded, SECRET, "s-am", rf.id_number(2), TODAY)
    assert candidate == "c-0002"
    assert id_hash == SECRET.id_hash(rf.id_number(2))
    assert id_hashes_of(loaded, "s-am")[candidate] == id_hash
    with pytest.raises(IdentityError):
        identify(loaded, SECRET, "s-am", rf.id_number(2)[:-1] + "0", TODAY)
    with pytest.raises(ExamDayError, match="not_booked"):
        identify(loaded, SECRET, "s-am", rf.id_number(900), TODAY)
    with pytest.raises(ExamDayError, match="unknown_session"):
        identify(loaded, SECRET, "s-pm", rf.id_number(2), TODAY)


def test_the_roster_carries_every_tie(loaded: Session) -> None:
    roster = allocation_roster(
        loaded, "s-am", ["c-0001", "c-0002", "c-0003"], ["E01", "E02", "E03"]
    )
    assert [c.id for c in roster.candidates] == ["c-0001", "c-0002", "c-0003"]
    by_id = {c.id: c for c in roster.candidates}
    previous = by_id[CandidateId("c-0002")].previous_fail
    assert previous is not None
    assert previous.examiner == "E01"
    assert [(r.examiner, r.candidate) for r in roster.relatives] == [("E02", "c-0003")]
    examiners = {e.id: e for e in roster.examiners}
    assert examiners[ExaminerId("E01")].classes == {"C1", "C2"}
    assert [s.school for s in examiners[ExaminerId("E03")].former_schools] == ["school-2"]
    conflicts = {(c.examiner, c.candidate) for c in find_conflicts(roster)}
    # a former school (E03, c-0002's school-2), a relative (E02), the last failed attempt (E01)
    assert conflicts == {("E03", "c-0002"), ("E02", "c-0003"), ("E01", "c-0002")}
    for tie in roster.relatives:
        assert rf.id_number(3) not in tie.evidence
    manifest = _manifest(roster)
    assert manifest.session == "s-am"
    with pytest.raises(ExamDayError, match="not in the database: c-9"):
        allocation_roster(loaded, "s-am", ["c-9"], ["E01"])


def test_a_k3_session_opens_and_draws_among_its_approved_routes(
    loaded: Session, context: ImportContext
) -> None:
    sessions = rf.csv(
        "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min",
        "s-k3,3,C1,field-1,k3-north/2;k3-east/1,2026-03-02T13:30:00+08:00,30,10",
    )
    import_csv(loaded, "sessions", sessions, context)
    crews = rf.csv(
        "session_id,examiner_id,tablet_key,vehicle_id",
        f"s-k3,E01,{rf.ORIGIN}/tablet/T01,car-01",
    )
    import_csv(loaded, "crews", crews, context)
    import_csv(
        loaded, "bookings", rf.csv("session_id,id_number", f"s-k3,{rf.id_number(1)}"), context
    )
    plan = plan_of(loaded, "s-k3")
    assert plan.route == "k3-north/2"
    assert plan.routes == ("k3-east/1", "k3-north/2")
    assert session_opened_fields(plan)["routes"] == ["k3-east/1", "k3-north/2"]
    assert parse_plan(session_opened_fields(plan), rf.ORIGIN) == plan
    roster = allocation_roster(loaded, "s-k3", ["c-0001"], ["E01"])
    assert roster.routes == ("k3-east/1", "k3-north/2")
    manifest = _manifest(roster)
    assert manifest.routes is not None  # the draw picks each candidate's route among them
    # a one-route session names no approved routes, as before
    assert plan_of(loaded, "s-am").routes == ()
    assert "routes" not in session_opened_fields(plan_of(loaded, "s-am"))
    assert allocation_roster(loaded, "s-am", ["c-0001"], ["E01"]).routes == ()
