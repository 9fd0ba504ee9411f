"""An exam day in a served centre: the scripted session of ``day_script``, signed and logged.

The centre is opened with the day's guard (``script_guard``: the day script's ID hashes stand
for the centre's database); ``ServedDay`` signs each step with the key of the machine that takes
it and moves the centre's clock to the step's time, so the registry's clock check passes.
Steps go into the log through the centre (in process) or over HTTP (``post``), and both pass
the same guard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from exam_core.centre.blobs import BlobStore
from exam_core.centre.centre import Centre
from exam_core.centre.store import LogStore
from exam_core.db import exam_day as rows
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.room_rows import save_room
from exam_core.exam_day.rooms import parse_room_configuration
from exam_core.exam_day.steps import Step
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import (
    ALLOCATOR,
    GATEWAY,
    SCORER,
    SUPERVISOR,
    TABLET,
    TERMINAL,
    VEHICLE,
    Role,
)
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.roster_files import id_number

ROUTE = load_course(DEFAULT_MAPS[2]).version
"""A shipped map, so that the service's scorer can score the session's exams."""


def script_guard(origin: str, _store: LogStore, blobs: BlobStore) -> DayGuard:
    return DayGuard(origin, blobs, lambda _session: {c: ds.id_hash(c) for c in ds.BOOKED})


def register_day_keys(centre: Centre) -> dict[str, Ed25519Signer]:
    roles: dict[str, Role] = {
        ds.GATEWAY: GATEWAY,
        ds.TERMINAL: TERMINAL,
        ds.SUPERVISOR: SUPERVISOR,
        ds.ALLOCATOR: ALLOCATOR,
        ds.SCORER: SCORER,
    }
    for examiner in ds.EXAMINERS:
        roles[ds.tablet(examiner)] = TABLET
        roles[ds.unit(examiner)] = VEHICLE
    signers = {ds.ADMIN: centre.admin()}
    for name, role in roles.items():
        signers[name] = centre.register_key(name, role)
    return signers


@dataclass
class ServedDay(ds.DayScript):
    """A ``DayScript`` logged through a centre that keeps the day (``script_guard``)."""

    centre: Centre | None = None
    clock: list[int] = field(default_factory=lambda: [0])
    signers: dict[str, Ed25519Signer] = field(default_factory=dict)

    def attach(self, centre: Centre) -> None:
        self.centre = centre
        assert isinstance(centre.guard, DayGuard)
        self.day = centre.guard.day

    def do(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> Step:
        assert self.centre is not None
        if manifest is not None:
            self.centre.blobs.put(manifest)
        self.clock[0] = ts
        index = self.centre.append(self.signers[actor], step_type, fields)
        self.index = index + 1
        return Step(index, step_type, actor, ts, {"type": step_type, **fields})

    def signed(self, step_type: str, actor: str, ts: int, **fields: Any) -> bytes:
        """The entry ``actor`` would sign for this step now (with its next seq), unsent."""
        assert self.centre is not None
        self.clock[0] = ts
        signer = self.signers[actor]
        event = {
            "v": 1,
            "log": ds.ORIGIN,
            "type": step_type,
            "ts": ts,
            "actor": signer.name,
            "seq": self.centre.next_seq(signer.name),
            **fields,
        }
        return make_entry(signer, event)

    def open_session(self) -> None:
        self.do("room.configured", ds.ADMIN, ds.CHECKIN - 10_000, **ds.ROOM_FIELDS)
        opened = ds.OPENED_FIELDS | {"route": ROUTE}
        self.do("session.opened", ds.ADMIN, ds.CHECKIN - 5_000, **opened)

    def first(self) -> str:
        """The first candidate of the sealed roster."""
        return self.day.sessions[ds.SESSION].roster[0]


def seed_bookings(centre: Centre) -> None:
    """The script's room, session, candidates and bookings as rows of the centre's database,
    so that the service's own guard (``centre_day_guard``) finds their ID hashes."""
    with Session(centre.store.engine) as db, db.begin():
        save_room(db, parse_room_configuration(ds.ROOM_FIELDS, ds.ORIGIN), 0)
        db.add(
            rows.ExamSession(
                id=ds.SESSION,
                subject=2,
                licence_class="C1",
                room_id=ds.ROOM,
                route=ROUTE,
                start_ms=ds.START,
                seal_from_ms=ds.SEAL_FROM,
                seal_until_ms=ds.SEAL_UNTIL,
                face_threshold=800,
            )
        )
        for n, candidate in enumerate(ds.BOOKED, start=1):
            db.add(
                rows.Candidate(
                    id=candidate,
                    id_number=id_number(n),
                    id_hash=ds.id_hash(candidate),
                    name=f"考生{n}",
                    licence_class="C1",
                    school_id="school-1",
                    previous_attempts=0,
                )
            )
            db.flush()
            db.add(rows.Booking(session_id=ds.SESSION, candidate_id=candidate))


__all__ = ["ROUTE", "ServedDay", "register_day_keys", "script_guard", "seed_bookings"]
