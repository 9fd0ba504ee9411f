"""A session's plan: what its ``session.opened`` entry fixes for the rest of the day.

Why it exists: every later step of a session is checked against the same few facts — who is
booked, which crews are on duty with which tablet and car, the roster window, the face-match
threshold, the room, the route or the approved routes a 科目三 candidate's is drawn from — and
they must come from the signed opening, not from a database an insider could edit afterwards.
``parse_plan`` checks the opening as a whole (the schema checks each field);
``session_opened_fields`` lays a plan out as the entry's fields, canonically.
``exam_id`` derives the pseudonymous id of a candidate's exam in a session, so that anyone can
recompute which exam a boarding names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from exam_core.errors import EntryError, ExamDayError
from exam_core.log.schemas import check_type_fields

SESSION_OPENED = "session.opened"
DEFAULT_GATE_FRESH_MS = 5_000
"""How old the allowing gate decision an exam starts on may be, by default."""
_EXAM_ID_LABEL = b"exam-integrity/exam-id/v1\n"


@dataclass(frozen=True)
class Crew:
    """An examiner on duty, the tablet they carry, the car and in-car unit they examine in."""

    examiner: str
    tablet: str
    vehicle: str
    unit: str


@dataclass(frozen=True)
class SessionPlan:
    session: str
    subject: int
    licence_class: str
    room: str
    route: str
    start_ms: int
    seal_from_ms: int
    seal_until_ms: int
    face_threshold: int
    gate_fresh_ms: int
    booked: frozenset[str]
    crews: tuple[Crew, ...]
    routes: tuple[str, ...] = ()
    """The approved routes the opening names (``route`` among them); () when it names none."""

    @property
    def approved_routes(self) -> tuple[str, ...]:
        """The routes a candidate of this session may be examined on: the approved routes the
        opening names, else its one ``route``."""
        return self.routes or (self.route,)

    def crew_of(self, examiner: str) -> Crew | None:
        return next((c for c in self.crews if c.examiner == examiner), None)

    def crew_with_tablet(self, tablet: str) -> Crew | None:
        return next((c for c in self.crews if c.tablet == tablet), None)


def exam_id(session: str, candidate: str, attempt: int = 1) -> str:
    """The pseudonymous id of ``candidate``'s ``attempt``-th exam in ``session`` (16 bytes, hex)."""
    data = _EXAM_ID_LABEL + f"{session}\n{candidate}\n{attempt}".encode()
    return hashlib.sha256(data).digest()[:16].hex()


def _distinct(values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise ExamDayError("session_plan", f"{what}: a value appears twice")


def parse_plan(fields: Mapping[str, object], origin: str) -> SessionPlan:
    """The plan in the type-specific ``fields`` of a ``session.opened`` event.

    Raises:
        ExamDayError: (``session_plan``) a field is missing, unknown or malformed; the roster
            window does not close before the start; a booking, examiner, tablet, car or unit
            appears twice; or a key is not under ``origin``; or approved routes are named for a
            session that is not 科目三, twice, or without the session's ``route``.
    """
    try:
        check_type_fields(SESSION_OPENED, fields)
    except EntryError as e:
        raise ExamDayError("session_plan", e.message) from e
    # The schema has checked every shape: the casts below only tell the type checker so.
    f = cast(Mapping[str, Any], fields)
    if not f["seal_from_ms"] < f["seal_until_ms"] <= f["start_ms"]:
        raise ExamDayError("session_plan", "the roster window must close before the start")
    booked = list(f["booked"])
    _distinct(booked, "booked")
    crews = tuple(Crew(c["examiner"], c["tablet"], c["vehicle"], c["unit"]) for c in f["crews"])
    for what in ("examiner", "tablet", "vehicle", "unit"):
        _distinct([getattr(c, what) for c in crews], f"crews' {what}")
    for crew in crews:
        for key in (crew.tablet, crew.unit):
            if not key.startswith(origin + "/"):
                raise ExamDayError("session_plan", f"{key} is not a key under {origin}/")
    routes = tuple(f.get("routes", ()))
    _distinct(list(routes), "routes")
    if routes and f["subject"] != 3:
        raise ExamDayError("session_plan", "only a 科目三 session draws routes")
    if routes and f["route"] not in routes:
        raise ExamDayError("session_plan", f"route {f['route']} is not an approved route")
    return SessionPlan(
        session=f["session"],
        subject=f["subject"],
        licence_class=f["licence_class"],
        room=f["room"],
        route=f["route"],
        start_ms=f["start_ms"],
        seal_from_ms=f["seal_from_ms"],
        seal_until_ms=f["seal_until_ms"],
        face_threshold=f["face_threshold"],
        gate_fresh_ms=f["gate_fresh_ms"],
        booked=frozenset(booked),
        crews=crews,
        routes=routes,
    )


def session_opened_fields(plan: SessionPlan) -> dict[str, object]:
    """The type-specific fields of ``plan``'s ``session.opened`` entry, canonically ordered
    (``routes`` only when the plan names approved routes)."""
    fields: dict[str, object] = {
        "session": plan.session,
        "subject": plan.subject,
        "licence_class": plan.licence_class,
        "room": plan.room,
        "route": plan.route,
        "start_ms": plan.start_ms,
        "seal_from_ms": plan.seal_from_ms,
        "seal_until_ms": plan.seal_until_ms,
        "face_threshold": plan.face_threshold,
        "gate_fresh_ms": plan.gate_fresh_ms,
        "booked": sorted(plan.booked),
        "crews": [
            {"examiner": c.examiner, "tablet": c.tablet, "vehicle": c.vehicle, "unit": c.unit}
            for c in sorted(plan.crews, key=lambda c: c.examiner)
        ],
    }
    if plan.routes:
        fields["routes"] = list(plan.routes)
    return fields
