"""Importing a centre's examiners, candidates, vehicles, sessions, crews and bookings from CSV.

Why it exists: exam centres exchange rosters as CSV files, and a file is imported whole or not
at all.  ``import_csv`` reads the file strictly (``csv_file``), checks every row — its values,
duplicates inside the file and against the database, references to rows that must exist — and
lists every bad row with its line; only a file without a single problem is written, in one
transaction.  Nothing that a refused file contained is left behind.

The columns of each kind (``*`` required; lists are separated by ``;``):

- ``examiners``: ``examiner_id*``, ``name*``, ``classes*``, ``former_schools``, ``relatives``
  (the resident ID numbers of declared relatives, kept only as keyed hashes);
- ``candidates``: ``id_number*``, ``name*``, ``licence_class*``, ``school_id*``,
  ``previous_attempts*``, ``last_failed_examiner`` and ``last_failed_exam`` (both or neither),
  ``photo`` (a JPEG or PNG file beside the CSV file, sealed before it is stored).  The centre gives
  each candidate a random pseudonymous id; the ID number is normalised (legacy numbers
  converted) and keyed-hashed;
- ``vehicles``: ``vehicle_id*``, ``plate*``, ``licence_class*``, ``unit_key*`` (the full key name
  of its in-car unit);
- ``sessions``: ``session_id*``, ``subject*`` (2 or 3), ``licence_class*``, ``room*`` (configured
  already), ``route*`` (the course map version, ``name/N``; a 科目三 session that draws each
  candidate's route lists its approved routes, ``;``-separated, the first being the session's
  ``route``, at most ``MAX_ROUTES``), ``start*`` (ISO 8601 with its UTC
  offset), ``seal_opens_min*`` and ``seal_closes_min*`` (the roster window, minutes before the
  start), ``face_threshold`` (per mille, default ``DEFAULT_FACE_THRESHOLD``);
- ``crews``: ``session_id*``, ``examiner_id*``, ``tablet_key*``, ``vehicle_id*``;
- ``bookings``: ``session_id*``, ``id_number*``.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from allocation.roster import LICENCE_CLASSES
from exam_core.db.exam_day import (
    Booking,
    Candidate,
    Examiner,
    ExaminerClass,
    ExaminerFormerSchool,
    ExaminerRelative,
    ExamSession,
    Room,
    SessionCrew,
    SessionRoute,
    Vehicle,
)
from exam_core.errors import ExamDayError, ImportFileError
from exam_core.exam_day.csv_file import CsvRow, Problems, read_csv
from exam_core.exam_day.identity import IdNumber
from exam_core.exam_day.lookups import existing, existing_pairs, rows_by
from exam_core.exam_day.row_values import (
    EXAM_ID,
    PLATE,
    PSEUDONYM,
    ROUTE,
    RowError,
    UniqueKeys,
    id_number,
    integer,
    items,
    key_name,
    licence_class_of,
    person_name,
    pseudonym,
    required,
    rowwise,
    start_ms,
)
from exam_core.exam_day.secret import CentreSecret
from exam_core.log.schemas.session import MAX_ROUTES

KINDS = ("examiners", "candidates", "vehicles", "sessions", "crews", "bookings")
DEFAULT_FACE_THRESHOLD = 800
"""Per mille: below it a face match fails (DESIGN §7); a session may set its own."""
MAX_ATTEMPTS = 99
MAX_WINDOW_MIN = 24 * 60
SUBJECT_DRAWING_ROUTES = 3
"""科目三: the one subject whose sessions draw each candidate's route among approved routes."""

PhotoSource = Callable[[str], bytes]
"""Reads a photo named in a candidates file (raises ``ExamDayError`` when it cannot)."""


def random_candidate_id() -> str:
    """A fresh pseudonymous candidate id: random, so it says nothing about the person."""
    return "c-" + secrets.token_hex(8)


@dataclass(frozen=True)
class ImportContext:
    """What an import needs beyond the file: the log's origin, the secret, photos, the date."""

    origin: str
    """Key names (tablets, in-car units) must be under it."""
    secret: CentreSecret | None = None
    """Needed by kinds that hash ID numbers (examiners, candidates, bookings)."""
    photos: PhotoSource | None = None
    today: dt.date | None = None
    new_candidate_id: Callable[[], str] = random_candidate_id


@dataclass(frozen=True)
class ImportReport:
    kind: str
    rows: int


@dataclass
class _Batch:
    """Rows to insert, parents before children, and the problems found building them."""

    problems: Problems = field(default_factory=Problems)
    parents: list[Any] = field(default_factory=list)
    children: list[Any] = field(default_factory=list)


def _secret(context: ImportContext) -> CentreSecret:
    if context.secret is None:
        raise RuntimeError("this kind of import hashes ID numbers: pass the centre secret")
    return context.secret


# --- the kinds -------------------------------------------------------------------------------


def _examiners(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    ids = UniqueKeys("examiner_id")
    known = existing(db, Examiner.id, (r.values["examiner_id"] for r in rows))

    def handle(row: CsvRow) -> None:
        examiner = pseudonym(row, "examiner_id")
        ids.claim(examiner, row.line)
        if examiner in known:
            raise RowError(f"examiner {examiner} exists already")
        name = person_name(row)
        classes = items(row, "classes")
        if not classes:
            raise RowError("classes: at least one licence class")
        for licence_class in classes:
            if licence_class not in LICENCE_CLASSES:
                raise RowError(f"classes: {licence_class!r} is not a licence class")
        schools = items(row, "former_schools")
        for school in schools:
            if PSEUDONYM.fullmatch(school) is None:
                raise RowError(f"former_schools: {school!r} is not an id")
        relatives = [
            id_number("relatives", number, context.today).number
            for number in items(row, "relatives")
        ]
        if len(set(relatives)) != len(relatives):
            raise RowError("relatives: the same person twice (a legacy and a new number)")
        batch.parents.append(Examiner(id=examiner, name=name))
        batch.children += [ExaminerClass(examiner_id=examiner, licence_class=c) for c in classes]
        batch.children += [ExaminerFormerSchool(examiner_id=examiner, school_id=s) for s in schools]
        if relatives:
            secret = _secret(context)
            batch.children += [
                ExaminerRelative(examiner_id=examiner, id_hash=secret.id_hash(n)) for n in relatives
            ]

    rowwise(rows, batch.problems, handle)
    return batch


def _candidates(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    secret = _secret(context)
    numbers = UniqueKeys("ID number")
    parsed: dict[int, IdNumber] = {}
    for row in rows:
        try:
            parsed[row.line] = id_number("id_number", required(row, "id_number"), context.today)
        except RowError as e:
            batch.problems.add(row.line, str(e))
    known_numbers = existing(db, Candidate.id_number, (p.number for p in parsed.values()))
    examiners = existing(
        db,
        Examiner.id,
        (r.values["last_failed_examiner"] for r in rows if r.values["last_failed_examiner"]),
    )

    def handle(row: CsvRow) -> None:
        number = parsed.get(row.line)
        if number is None:
            return
        numbers.claim(number.number, row.line, "ID number")
        if number.number in known_numbers:
            raise RowError("id_number: this candidate exists already")
        name = person_name(row)
        licence_class = licence_class_of(row)
        school = pseudonym(row, "school_id")
        attempts = integer(row, "previous_attempts", 0, MAX_ATTEMPTS)
        examiner = row.values["last_failed_examiner"] or None
        exam = row.values["last_failed_exam"] or None
        if (examiner is None) != (exam is None):
            raise RowError("last_failed_examiner and last_failed_exam go together")
        if examiner is not None and examiner not in examiners:
            raise RowError(f"last_failed_examiner: no examiner {examiner}")
        if exam is not None and EXAM_ID.fullmatch(exam) is None:
            raise RowError("last_failed_exam: an exam id is 32 lowercase hex digits")
        if examiner is not None and attempts == 0:
            raise RowError("previous_attempts: 0, yet a failed attempt is named")
        candidate = context.new_candidate_id()
        photo = None
        if row.values["photo"]:
            if context.photos is None:
                raise RuntimeError("a candidates file with photos needs a photo source")
            try:
                photo = secret.seal_photo(candidate, context.photos(row.values["photo"]))
            except ExamDayError as e:
                raise RowError(f"photo: {e.message}") from e
        batch.parents.append(
            Candidate(
                id=candidate,
                id_number=number.number,
                id_hash=secret.id_hash(number.number),
                name=name,
                licence_class=licence_class,
                school_id=school,
                previous_attempts=attempts,
                last_failed_examiner_id=examiner,
                last_failed_exam=exam,
                photo=photo,
            )
        )

    rowwise(rows, batch.problems, handle)
    return batch


def _vehicles(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    ids, plates, units = UniqueKeys("vehicle_id"), UniqueKeys("plate"), UniqueKeys("unit_key")
    known_ids = existing(db, Vehicle.id, (r.values["vehicle_id"] for r in rows))
    known_plates = existing(db, Vehicle.plate, (r.values["plate"] for r in rows))
    known_units = existing(db, Vehicle.unit_key, (r.values["unit_key"] for r in rows))

    def handle(row: CsvRow) -> None:
        vehicle = pseudonym(row, "vehicle_id")
        plate = required(row, "plate")
        if PLATE.fullmatch(plate) is None:
            raise RowError(f"plate: {plate!r} is not a licence plate")
        unit = key_name(row, "unit_key", context.origin)
        ids.claim(vehicle, row.line)
        plates.claim(plate, row.line)
        units.claim(unit, row.line)
        for value, known, what in (
            (vehicle, known_ids, "vehicle"),
            (plate, known_plates, "plate"),
            (unit, known_units, "in-car unit"),
        ):
            if value in known:
                raise RowError(f"{what} {value} exists already")
        batch.parents.append(
            Vehicle(id=vehicle, plate=plate, licence_class=licence_class_of(row), unit_key=unit)
        )

    rowwise(rows, batch.problems, handle)
    return batch


def _sessions(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    ids = UniqueKeys("session_id")
    known = existing(db, ExamSession.id, (r.values["session_id"] for r in rows))
    rooms = existing(db, Room.id, (r.values["room"] for r in rows))

    def handle(row: CsvRow) -> None:
        session = pseudonym(row, "session_id")
        ids.claim(session, row.line)
        if session in known:
            raise RowError(f"session {session} exists already")
        subject = integer(row, "subject", 2, 3)
        room = pseudonym(row, "room")
        if room not in rooms:
            raise RowError(f"room: {room} is not configured (room.configured first)")
        routes = _routes(row, subject)
        start = start_ms(row)
        opens = integer(row, "seal_opens_min", 1, MAX_WINDOW_MIN)
        closes = integer(row, "seal_closes_min", 0, MAX_WINDOW_MIN)
        if opens <= closes:
            raise RowError(
                "seal_opens_min must be more minutes before the start than seal_closes_min"
            )
        threshold = (
            integer(row, "face_threshold", 0, 1000)
            if row.values["face_threshold"]
            else DEFAULT_FACE_THRESHOLD
        )
        batch.parents.append(
            ExamSession(
                id=session,
                subject=subject,
                licence_class=licence_class_of(row),
                room_id=room,
                route=routes[0],
                start_ms=start,
                seal_from_ms=start - opens * 60_000,
                seal_until_ms=start - closes * 60_000,
                face_threshold=threshold,
            )
        )

        if len(routes) > 1:
            batch.children += [SessionRoute(session_id=session, route=r) for r in routes]

    rowwise(rows, batch.problems, handle)
    return batch


def _routes(row: CsvRow, subject: int) -> list[str]:
    """The session's routes: its one ``route``, or a 科目三 session's approved routes.

    Raises:
        RowError: a route is missing, malformed or listed twice; more than ``MAX_ROUTES``; or
            several for a session that is not 科目三.
    """
    required(row, "route")
    routes = items(row, "route")
    for route in routes:
        if ROUTE.fullmatch(route) is None:
            raise RowError(f"route: {route!r} is not a course map version (name/N)")
    if len(routes) > 1 and subject != SUBJECT_DRAWING_ROUTES:
        raise RowError("route: only a 科目三 (subject 3) session draws its route among several")
    if len(routes) > MAX_ROUTES:
        raise RowError(f"route: more than {MAX_ROUTES} approved routes")
    return routes


def _session_of(row: CsvRow, sessions: dict[str, ExamSession]) -> ExamSession:
    session = sessions.get(pseudonym(row, "session_id"))
    if session is None:
        raise RowError(f"session_id: no session {row.values['session_id']}")
    return session


def _crews(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    sessions: dict[str, ExamSession] = rows_by(
        db, ExamSession.id, (r.values["session_id"] for r in rows)
    )
    examiners = UniqueKeys("examiner")
    tablets = UniqueKeys("tablet_key")
    vehicles_used = UniqueKeys("vehicle")
    classes = existing_pairs(
        db,
        (ExaminerClass.examiner_id, ExaminerClass.licence_class),
        (
            (r.values["examiner_id"], sessions[r.values["session_id"]].licence_class)
            for r in rows
            if r.values["session_id"] in sessions
        ),
    )
    known_examiners = existing(db, Examiner.id, (r.values["examiner_id"] for r in rows))
    vehicles: dict[str, Vehicle] = rows_by(db, Vehicle.id, (r.values["vehicle_id"] for r in rows))
    on_duty = existing_pairs(
        db,
        (SessionCrew.session_id, SessionCrew.examiner_id),
        ((r.values["session_id"], r.values["examiner_id"]) for r in rows),
    )
    tablets_taken = existing_pairs(
        db,
        (SessionCrew.session_id, SessionCrew.tablet_key),
        ((r.values["session_id"], r.values["tablet_key"]) for r in rows),
    )
    vehicles_taken = existing_pairs(
        db,
        (SessionCrew.session_id, SessionCrew.vehicle_id),
        ((r.values["session_id"], r.values["vehicle_id"]) for r in rows),
    )

    def handle(row: CsvRow) -> None:
        session = _session_of(row, sessions)
        examiner = pseudonym(row, "examiner_id")
        tablet = key_name(row, "tablet_key", context.origin)
        vehicle_id = pseudonym(row, "vehicle_id")
        if examiner not in known_examiners:
            raise RowError(f"examiner_id: no examiner {examiner}")
        vehicle = vehicles.get(vehicle_id)
        if vehicle is None:
            raise RowError(f"vehicle_id: no vehicle {vehicle_id}")
        if (examiner, session.licence_class) not in classes:
            raise RowError(f"examiner {examiner} may not examine class {session.licence_class}")
        if vehicle.licence_class != session.licence_class:
            raise RowError(
                f"vehicle {vehicle_id} is class {vehicle.licence_class}, "
                f"the session {session.licence_class}"
            )
        examiners.claim((session.id, examiner), row.line, examiner)
        tablets.claim((session.id, tablet), row.line, tablet)
        vehicles_used.claim((session.id, vehicle_id), row.line, vehicle_id)
        if (session.id, examiner) in on_duty:
            raise RowError(f"examiner {examiner} is on duty for {session.id} already")
        if (session.id, tablet) in tablets_taken:
            raise RowError(f"tablet {tablet} serves {session.id} already")
        if (session.id, vehicle_id) in vehicles_taken:
            raise RowError(f"vehicle {vehicle_id} serves {session.id} already")
        batch.parents.append(
            SessionCrew(
                session_id=session.id,
                examiner_id=examiner,
                tablet_key=tablet,
                vehicle_id=vehicle_id,
            )
        )

    rowwise(rows, batch.problems, handle)
    return batch


def _bookings(db: Session, rows: Sequence[CsvRow], context: ImportContext) -> _Batch:
    batch = _Batch()
    secret = _secret(context)
    sessions: dict[str, ExamSession] = rows_by(
        db, ExamSession.id, (r.values["session_id"] for r in rows)
    )
    booked = UniqueKeys("booking of ID number")
    hashes: dict[int, str] = {}
    for row in rows:
        try:
            number = id_number("id_number", required(row, "id_number"), context.today)
            hashes[row.line] = secret.id_hash(number.number)
        except RowError as e:
            batch.problems.add(row.line, str(e))
    candidates: dict[str, Candidate] = rows_by(db, Candidate.id_hash, hashes.values())
    existing = existing_pairs(
        db,
        (Booking.session_id, Booking.candidate_id),
        (
            (r.values["session_id"], c.id)
            for r in rows
            if (c := candidates.get(hashes.get(r.line, ""))) is not None
        ),
    )

    def handle(row: CsvRow) -> None:
        id_hash = hashes.get(row.line)
        if id_hash is None:
            return
        session = _session_of(row, sessions)
        candidate = candidates.get(id_hash)
        if candidate is None:
            raise RowError("id_number: no candidate with this ID number")
        booked.claim((session.id, candidate.id), row.line, f"in {session.id}")
        if (session.id, candidate.id) in existing:
            raise RowError(f"this candidate is booked for {session.id} already")
        if candidate.licence_class != session.licence_class:
            raise RowError(
                f"the candidate is class {candidate.licence_class}, "
                f"the session {session.licence_class}"
            )
        batch.parents.append(Booking(session_id=session.id, candidate_id=candidate.id))

    rowwise(rows, batch.problems, handle)
    return batch


@dataclass(frozen=True)
class _Kind:
    required: tuple[str, ...]
    optional: tuple[str, ...]
    build: Callable[[Session, Sequence[CsvRow], ImportContext], _Batch]


_KINDS: dict[str, _Kind] = {
    "examiners": _Kind(
        ("examiner_id", "name", "classes"), ("former_schools", "relatives"), _examiners
    ),
    "candidates": _Kind(
        ("id_number", "name", "licence_class", "school_id", "previous_attempts"),
        ("last_failed_examiner", "last_failed_exam", "photo"),
        _candidates,
    ),
    "vehicles": _Kind(("vehicle_id", "plate", "licence_class", "unit_key"), (), _vehicles),
    "sessions": _Kind(
        (
            "session_id",
            "subject",
            "licence_class",
            "room",
            "route",
            "start",
            "seal_opens_min",
            "seal_closes_min",
        ),
        ("face_threshold",),
        _sessions,
    ),
    "crews": _Kind(("session_id", "examiner_id", "tablet_key", "vehicle_id"), (), _crews),
    "bookings": _Kind(("session_id", "id_number"), (), _bookings),
}


def import_csv(db: Session, kind: str, data: bytes, context: ImportContext) -> ImportReport:
    """Import one CSV file of ``kind`` in one transaction of ``db``: all rows or none.

    ``db`` must not be in a transaction; the import begins and ends its own.

    Raises:
        ExamDayError: ``kind`` is not one of ``KINDS``.
        ImportFileError: the file or a row is refused (every problem listed with its line);
            the database is left as it was.
    """
    spec = _KINDS.get(kind)
    if spec is None:
        raise ExamDayError("unknown_kind", f"cannot import {kind!r}; kinds are {', '.join(KINDS)}")
    rows = read_csv(data, spec.required, spec.optional)
    try:
        with db.begin():
            batch = spec.build(db, rows, context)
            batch.problems.raise_if_any()
            db.add_all(batch.parents)
            db.flush()
            db.add_all(batch.children)
            db.flush()
    except IntegrityError as e:
        # Another writer inserted a clashing row since the checks above read the database.
        first = str(e.orig).splitlines()[0] if e.orig is not None else type(e).__name__
        raise ImportFileError([(0, f"the database refused the rows: {first}")]) from e
    except SQLAlchemyError as e:
        raise ImportFileError([(0, f"the database failed: {type(e).__name__}")]) from e
    return ImportReport(kind, len(rows))
