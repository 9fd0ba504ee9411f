"""Event types of a session: its opening, its roster seal, and each candidate's boarding.

``session.opened`` (an administrator) fixes what the rest of the day is checked against: the
subject, licence class, room or field, course map (for a 科目三 session, optionally also the
approved routes each candidate's route is drawn from), start time, the roster window, the
face-match threshold, how fresh a gate decision must be to start an exam, the candidates booked
and the crews on duty (each examiner with the tablet they carry and the car and in-car unit they
examine in).  ``session.sealed`` (the allocator, inside the window) names the roster: exactly the
candidates the log shows checked in, and the examiners on duty (DESIGN §4.1).
``boarding.confirmed`` (the examiner's tablet) says who boarded which car for which exam; the
audit compares it with the allocation.  Every person appears by pseudonymous id only.
"""

from __future__ import annotations

from exam_core.log.canonical import MAX_SAFE_INTEGER
from exam_core.log.schemas.exam import EXAM_ID, LICENCE_CLASS, VERSION
from exam_core.log.schemas.fields import Int, ListOf, Obj
from exam_core.log.schemas.ids import KEY_NAME, PSEUDONYM
from exam_core.log.schemas.types import ADMIN, ALLOCATOR, TABLET, EventSchema

MAX_CANDIDATES = 1000
MAX_CREWS = 100
MAX_ROUTES = 32
"""Bounds that keep a ``session.opened`` well inside the 65,535 bytes of an entry."""
TIME_MS = Int(minimum=0, maximum=MAX_SAFE_INTEGER)
CREW = Obj({"examiner": PSEUDONYM, "tablet": KEY_NAME, "vehicle": PSEUDONYM, "unit": KEY_NAME})

SCHEMAS = (
    EventSchema(
        type="session.opened",
        roles=frozenset({ADMIN}),
        fields={
            "session": PSEUDONYM,
            "subject": Int(minimum=2, maximum=3),
            "licence_class": LICENCE_CLASS,
            "room": PSEUDONYM,
            "route": VERSION,
            "start_ms": TIME_MS,
            "seal_from_ms": TIME_MS,
            "seal_until_ms": TIME_MS,
            "face_threshold": Int(minimum=0, maximum=1000),
            "gate_fresh_ms": Int(minimum=1, maximum=60_000),
            "booked": ListOf(PSEUDONYM, min_items=1, max_items=MAX_CANDIDATES),
            "crews": ListOf(CREW, min_items=1, max_items=MAX_CREWS),
            "routes": ListOf(VERSION, min_items=1, max_items=MAX_ROUTES),
        },
        optional=frozenset({"routes"}),
        doc="Opens a session: what every later step of it is checked against; a 科目三 session "
        "may name its approved routes (``route`` among them), from which each candidate's is "
        "drawn.",
    ),
    EventSchema(
        type="session.sealed",
        roles=frozenset({ALLOCATOR}),
        fields={
            "session": PSEUDONYM,
            "candidates": ListOf(PSEUDONYM, min_items=1, max_items=MAX_CANDIDATES),
            "examiners": ListOf(PSEUDONYM, min_items=1, max_items=MAX_CREWS),
        },
        doc="Seals the roster inside its window: the checked-in candidates, the crews on duty.",
    ),
    EventSchema(
        type="boarding.confirmed",
        roles=frozenset({TABLET}),
        fields={
            "session": PSEUDONYM,
            "exam": EXAM_ID,
            "candidate": PSEUDONYM,
            "examiner": PSEUDONYM,
            "vehicle": PSEUDONYM,
        },
        doc="The examiner's tablet confirms who boarded which car, for which exam.",
    ),
)
