"""The exam-day tables on SQLite and PostgreSQL: rows round-trip and constraints hold."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exam_core.db import upgrade
from exam_core.db.exam_day import (
    Booking,
    Candidate,
    Examiner,
    ExaminerClass,
    ExamSession,
    Room,
    RoomDevice,
    RoomJammerBand,
    SessionCrew,
    Vehicle,
)

HASH = "ab" * 32


def _candidate(cid: str, number: str, id_hash: str = HASH) -> Candidate:
    return Candidate(
        id=cid,
        id_number=number,
        id_hash=id_hash,
        name="张三",
        licence_class="C1",
        school_id="school-1",
        previous_attempts=0,
        photo=b"\x01" + bytes(40),
    )


def _fill(db: Session) -> None:
    db.add(
        Room(id="field-1", kind="field", gateway="o/gateway/g1", max_age_ms=2000, configured_idx=3)
    )
    db.flush()
    db.add(RoomDevice(room_id="field-1", device="field-1/jammer", kind="jammer"))
    db.flush()
    db.add_all(RoomJammerBand(room_id="field-1", device="field-1/jammer", band=b) for b in (1, 2))
    db.add(Vehicle(id="car-07", plate="鲁A1234学", licence_class="C1", unit_key="o/vehicle/car-07"))
    db.add(Examiner(id="E01", name="李四"))
    db.flush()
    db.add(ExaminerClass(examiner_id="E01", licence_class="C1"))
    db.add(_candidate("c-1", "11010519491231002X"))
    db.add(
        ExamSession(
            id="s1",
            subject=2,
            licence_class="C1",
            room_id="field-1",
            route="k2-field-a/1",
            start_ms=10_000,
            seal_from_ms=1_000,
            seal_until_ms=9_000,
            face_threshold=800,
        )
    )
    db.flush()
    db.add(
        SessionCrew(
            session_id="s1", examiner_id="E01", tablet_key="o/tablet/T1", vehicle_id="car-07"
        )
    )
    db.add(Booking(session_id="s1", candidate_id="c-1"))
    db.flush()


def test_rows_round_trip(engine: Engine) -> None:
    upgrade(engine)
    with Session(engine) as db, db.begin():
        _fill(db)
    with Session(engine) as db:
        candidate = db.get(Candidate, "c-1")
        assert candidate is not None
        assert (candidate.name, candidate.photo) == ("张三", b"\x01" + bytes(40))
        bands = db.scalars(select(RoomJammerBand.band).order_by(RoomJammerBand.band)).all()
        assert list(bands) == [1, 2]
        assert db.get(SessionCrew, ("s1", "E01")) is not None


@pytest.mark.parametrize(
    "bad",
    [
        lambda: _candidate("c-2", "11010519491231002X", "cd" * 32),  # the same ID number twice
        lambda: _candidate("c-2", "110105194912310029", HASH),  # the same keyed hash twice
        lambda: Booking(session_id="s1", candidate_id="nobody"),  # a booking of no candidate
        lambda: RoomJammerBand(room_id="field-1", device="field-1/jammer", band=19),  # no band 19
        lambda: Room(id="r2", kind="hall", gateway="g", max_age_ms=1, configured_idx=0),
        lambda: ExamSession(
            id="s2",
            subject=1,
            licence_class="C1",
            room_id="field-1",
            route="r/1",
            start_ms=3,
            seal_from_ms=1,
            seal_until_ms=2,
            face_threshold=800,
        ),
        lambda: ExamSession(
            id="s3",
            subject=2,
            licence_class="C1",
            room_id="field-1",
            route="r/1",
            start_ms=3,
            seal_from_ms=2,
            seal_until_ms=4,  # the roster window must close before the start
            face_threshold=800,
        ),
        lambda: SessionCrew(
            session_id="s1", examiner_id="E01", tablet_key="x", vehicle_id="car-07"
        ),
    ],
    ids=["id_number", "id_hash", "booking", "band", "room_kind", "subject", "window", "crew"],
)
def test_constraints_refuse_bad_rows(engine: Engine, bad: Callable[[], object]) -> None:
    upgrade(engine)
    with Session(engine) as db, db.begin():
        _fill(db)
    with Session(engine) as db, db.begin():
        db.add(bad())
        with pytest.raises(IntegrityError):
            db.flush()
        db.rollback()
