"""A session as the centre's database holds it: its plan, its candidates' keyed hashes, the
identification at check-in, and the roster the allocation is drawn over (with a 科目三
session's approved routes, when it draws its candidates' routes among several).

Why it exists: the service opens a session from the rows the administrator imported, checks the
ID card read at the terminal against the bookings, and hands the allocator a roster with every
tie that can make a conflict of interest (DESIGN §4.2): the candidate's driving school and the
examiner of their last failed attempt, the examiner's former schools and declared relatives
(matched by keyed hash, so the relative's ID number itself is never stored).  Evidence
references name the database rows the ties come from, never a person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocation.roster import (
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    PreviousFail,
    Relation,
    Roster,
    RouteId,
    SchoolId,
)
from exam_core.db import exam_day as rows
from exam_core.errors import ExamDayError
from exam_core.exam_day.identity import parse_id_number
from exam_core.exam_day.plan import DEFAULT_GATE_FRESH_MS, Crew, SessionPlan
from exam_core.exam_day.secret import CentreSecret


def _session_row(db: Session, session: str) -> rows.ExamSession:
    row = db.get(rows.ExamSession, session)
    if row is None:
        raise ExamDayError("unknown_session", f"no session {session}")
    return row


def plan_of(db: Session, session: str, gate_fresh_ms: int = DEFAULT_GATE_FRESH_MS) -> SessionPlan:
    """The plan of ``session`` from its rows, bookings and crews (for its ``session.opened``).

    Raises:
        ExamDayError: (``unknown_session``) no such session; (``session_plan``) it has no
            booking or no crew yet.
    """
    row = _session_row(db, session)
    booked = frozenset(
        db.scalars(select(rows.Booking.candidate_id).where(rows.Booking.session_id == session))
    )
    crews = tuple(
        Crew(crew.examiner_id, crew.tablet_key, crew.vehicle_id, unit)
        for crew, unit in db.execute(
            select(rows.SessionCrew, rows.Vehicle.unit_key)
            .join(rows.Vehicle, rows.Vehicle.id == rows.SessionCrew.vehicle_id)
            .where(rows.SessionCrew.session_id == session)
            .order_by(rows.SessionCrew.examiner_id)
        )
    )
    if not booked or not crews:
        raise ExamDayError("session_plan", f"session {session} needs bookings and crews first")
    return SessionPlan(
        session=row.id,
        subject=row.subject,
        licence_class=row.licence_class,
        room=row.room_id,
        route=row.route,
        start_ms=row.start_ms,
        seal_from_ms=row.seal_from_ms,
        seal_until_ms=row.seal_until_ms,
        face_threshold=row.face_threshold,
        gate_fresh_ms=gate_fresh_ms,
        booked=booked,
        crews=crews,
        routes=approved_routes(db, session),
    )


def approved_routes(db: Session, session: str) -> tuple[str, ...]:
    """The approved routes of a 科目三 session that draws its candidates' routes, ascending;
    () for a session with one route (its ``route``)."""
    return tuple(
        db.scalars(
            select(rows.SessionRoute.route)
            .where(rows.SessionRoute.session_id == session)
            .order_by(rows.SessionRoute.route)
        )
    )


def id_hashes_of(db: Session, session: str) -> dict[str, str]:
    """Booked candidate → keyed hash of their ID number, for the check-in of ``session``."""
    query = (
        select(rows.Candidate.id, rows.Candidate.id_hash)
        .join(rows.Booking, rows.Booking.candidate_id == rows.Candidate.id)
        .where(rows.Booking.session_id == session)
    )
    # .all(): a Result has keys() of its own, which dict() would take it by.
    return dict(db.execute(query).all())


def identify(
    db: Session, secret: CentreSecret, session: str, id_number: str, today: dt.date | None = None
) -> tuple[str, str]:
    """The booked candidate whose ID card the terminal read: (pseudonymous id, keyed hash).

    The terminal then signs its ``checkin.*`` entry with both; the number itself goes no further.

    Raises:
        IdentityError: the number is not a valid GB 11643-1999 ID number.
        ExamDayError: (``unknown_session``) no such session; (``not_booked``) the holder is not
            booked for it.
    """
    number = parse_id_number(id_number, today)
    _session_row(db, session)
    id_hash = secret.id_hash(number.number)
    candidate = db.scalar(
        select(rows.Candidate.id)
        .join(rows.Booking, rows.Booking.candidate_id == rows.Candidate.id)
        .where(rows.Booking.session_id == session, rows.Candidate.id_hash == id_hash)
    )
    if candidate is None:
        raise ExamDayError("not_booked", f"the holder of this ID card is not booked for {session}")
    return candidate, id_hash


def allocation_roster(
    db: Session, session: str, candidates: Sequence[str], examiners: Sequence[str]
) -> Roster:
    """The roster of a sealed ``session`` with every recorded tie, for ``prepare_manifest``.

    Raises:
        ExamDayError: (``unknown_session``) no such session; (``roster``) a candidate or
            examiner named is not in the database.
    """
    _session_row(db, session)
    people = {
        c.id: c for c in db.scalars(select(rows.Candidate).where(rows.Candidate.id.in_(candidates)))
    }
    staff = set(db.scalars(select(rows.Examiner.id).where(rows.Examiner.id.in_(examiners))))
    missing = sorted((set(candidates) - set(people)) | (set(examiners) - staff))
    if missing:
        raise ExamDayError("roster", f"not in the database: {', '.join(missing)}")
    classes: dict[str, set[str]] = {e: set() for e in examiners}
    for examiner, licence_class in db.execute(
        select(rows.ExaminerClass.examiner_id, rows.ExaminerClass.licence_class).where(
            rows.ExaminerClass.examiner_id.in_(examiners)
        )
    ):
        classes[examiner].add(licence_class)
    schools: dict[str, list[Employment]] = {e: [] for e in examiners}
    for examiner, school in db.execute(
        select(rows.ExaminerFormerSchool.examiner_id, rows.ExaminerFormerSchool.school_id)
        .where(rows.ExaminerFormerSchool.examiner_id.in_(examiners))
        .order_by(rows.ExaminerFormerSchool.school_id)
    ):
        schools[examiner].append(
            Employment(
                SchoolId(school), EvidenceRef(f"examiner_former_schools/{examiner}/{school}")
            )
        )
    by_hash = {c.id_hash: c.id for c in people.values()}
    relatives = sorted(
        (examiner, by_hash[id_hash])
        for examiner, id_hash in db.execute(
            select(rows.ExaminerRelative.examiner_id, rows.ExaminerRelative.id_hash).where(
                rows.ExaminerRelative.examiner_id.in_(examiners)
            )
        )
        if id_hash in by_hash
    )
    return Roster(
        session=session,
        candidates=tuple(
            Candidate(
                CandidateId(c.id),
                c.licence_class,
                SchoolId(c.school_id),
                None
                if c.last_failed_examiner_id is None
                else PreviousFail(
                    ExaminerId(c.last_failed_examiner_id), EvidenceRef(f"exam/{c.last_failed_exam}")
                ),
            )
            for c in sorted(people.values(), key=lambda c: c.id)
        ),
        examiners=tuple(
            Examiner(ExaminerId(e), frozenset(classes[e]), tuple(schools[e]))
            for e in sorted(examiners)
        ),
        relatives=tuple(
            Relation(
                ExaminerId(examiner),
                CandidateId(candidate),
                EvidenceRef(f"examiner_relatives/{examiner}/{candidate}"),
            )
            for examiner, candidate in relatives
        ),
        routes=tuple(RouteId(r) for r in approved_routes(db, session)),
    )
