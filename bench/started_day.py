"""A centre whose exam day has ``n`` exams running: the setup of ``api_load.py``, not measured.

Why it exists: the served centre checks every day step against the exam day (its guard), so a
load of telemetry is only real if the exams it belongs to boarded and started.  This builds, in
a fresh centre, one field and one session with ``n`` crews (examiner, tablet, car, in-car unit)
and ``n`` booked candidates, every step signed by the registered key of the machine that takes
it, in the order the day takes them: room configured, session opened, ``n`` check-ins, roster
sealed, allocation committed (its manifest uploaded) and made, then for each examiner its first
candidate boarded, the unit's camera ok, the gate allowing that exam, and ``exam.started``.

The centre's clock is pinned to each step's time while the morning is logged, an hour before
the wall clock, so that telemetry signed later with the wall clock comes after it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from allocation import (
    BeaconTarget,
    Candidate,
    CandidateId,
    DevBeacon,
    Examiner,
    ExaminerId,
    Roster,
    SchoolId,
    committed_fields,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    vrf_public_key,
)
from exam_core.centre.centre import Centre
from exam_core.db import exam_day as rows
from exam_core.exam_day.day_guard import DayGuard, centre_day_guard
from exam_core.exam_day.identity import check_character
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.room_rows import save_room
from exam_core.exam_day.rooms import parse_room_configuration
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import ALLOCATOR, GATEWAY, TABLET, TERMINAL, VEHICLE
from exam_core.scoring.course import DEFAULT_MAPS, load_course

ROOM = "field-1"
SESSION = "bench/k2/am"
VRF_SECRET = hashlib.sha256(b"bench day VRF key").digest()
BEACON = DevBeacon(b"\x09" * 32, genesis_ms=0, period_ms=1000, clock=lambda: 2**52)


@dataclass(frozen=True)
class RunningExam:
    """An exam that has started: its id, and the crew's in-car unit and tablet keys."""

    exam: str
    unit: Ed25519Signer
    tablet: str


@dataclass
class StartedDay:
    """What the load needs of the day: the running exams."""

    exams: list[RunningExam] = field(default_factory=list)


def _id_number(n: int) -> str:
    first17 = "370102" + "19900101" + f"{n:03d}"
    return first17 + check_character(first17)


def _id_hash(candidate: str) -> str:
    return hashlib.sha256(candidate.encode()).hexdigest()


@contextmanager
def _pinned(root: Path, clock: list[int]) -> Iterator[Centre]:
    with Centre.open(
        root, max_age_ms=0, clock_ms=lambda: clock[0], guard=centre_day_guard
    ) as centre:
        yield centre


def start_day(root: Path, origin: str, n: int) -> StartedDay:
    """Create a centre in ``root`` and log a morning of ``n`` started exams in it."""
    start = (time.time_ns() // 1_000_000) - 3_600_000
    seal_from, seal_until = start - 30 * 60_000, start - 10 * 60_000
    checkin = seal_from - 60_000
    clock = [checkin - 600_000]
    Centre.create(root, origin, clock_ms=lambda: clock[0]).close()
    route = load_course(DEFAULT_MAPS[2]).version
    examiners = [f"E{i:03d}" for i in range(n)]
    candidates = [f"c-{i:03d}" for i in range(n)]
    room: dict[str, Any] = {
        "room": ROOM,
        "kind": "field",
        "gateway": f"{origin}/gateway/g1",
        "jammers": [{"device": f"{ROOM}/jammer", "bands": [1, 2, 3]}],
        "detectors": [f"{ROOM}/detector"],
        "canaries": [f"{ROOM}/canary"],
        "max_age_ms": 2000,
    }
    crews = [
        {
            "examiner": e,
            "tablet": f"{origin}/tablet/T-{e}",
            "vehicle": f"car-{e}",
            "unit": f"{origin}/vehicle/unit-{e}",
        }
        for e in examiners
    ]
    with _pinned(root, clock) as centre:
        _seed(centre, room, candidates, route, start, seal_from, seal_until, origin)
        signers = {origin + "/admin": centre.admin()}
        for name, role in [
            (f"{origin}/gateway/g1", GATEWAY),
            (f"{origin}/terminal/k1", TERMINAL),
            (f"{origin}/allocator/a1", ALLOCATOR),
            *[(c["tablet"], TABLET) for c in crews],
            *[(c["unit"], VEHICLE) for c in crews],
        ]:
            signers[name] = centre.register_key(name, role)

        def do(actor: str, step_type: str, ts: int, **fields: Any) -> int:
            clock[0] = ts
            return centre.append(signers[actor], step_type, fields)

        admin, gateway = f"{origin}/admin", f"{origin}/gateway/g1"
        terminal, allocator = f"{origin}/terminal/k1", f"{origin}/allocator/a1"
        do(admin, "room.configured", checkin - 10_000, **room)
        do(
            admin,
            "session.opened",
            checkin - 5_000,
            session=SESSION,
            subject=2,
            licence_class="C1",
            room=ROOM,
            route=route,
            start_ms=start,
            seal_from_ms=seal_from,
            seal_until_ms=seal_until,
            face_threshold=800,
            gate_fresh_ms=5000,
            booked=candidates,
            crews=crews,
        )
        for c in candidates:
            do(
                terminal,
                "checkin.verified",
                checkin,
                session=SESSION,
                candidate=c,
                id_hash=_id_hash(c),
                face=950,
                attempt=1,
            )
        guard = centre.guard
        assert isinstance(guard, DayGuard)
        flow = guard.day.sessions[SESSION]
        do(allocator, "session.sealed", seal_from + 60_000, **flow.sealed_fields())
        round_number = seal_until // 1000 + 10
        manifest = prepare_manifest(
            Roster(
                SESSION,
                tuple(Candidate(CandidateId(c), "C1", SchoolId("school-1")) for c in candidates),
                tuple(Examiner(ExaminerId(e), frozenset({"C1"})) for e in examiners),
            ),
            scale=1000,
            cap=1000,
            beacon=BeaconTarget("dev", BEACON.commitment_text, round_number),
            vrf_key=vrf_public_key(VRF_SECRET),
        )
        data = encode_manifest(manifest)
        centre.blobs.put(data)
        do(allocator, "allocation.committed", seal_until, **committed_fields(data, manifest))
        allocation = make_allocation(
            data, manifest, BEACON.reveal(manifest.beacon.round), VRF_SECRET
        )
        do(allocator, "allocation.made", seal_until + 20_000, **made_fields(allocation, SESSION))
        first: dict[str, str] = {}
        for candidate_id, examiner_id in sorted(dict(allocation.assignment).items()):
            first.setdefault(str(examiner_id), str(candidate_id))
        day = StartedDay()
        for crew in crews:
            candidate = first.get(crew["examiner"])
            if candidate is None:
                continue
            exam = exam_id(SESSION, candidate)
            do(
                crew["tablet"],
                "boarding.confirmed",
                start,
                session=SESSION,
                exam=exam,
                candidate=candidate,
                examiner=crew["examiner"],
                vehicle=crew["vehicle"],
            )
            do(crew["unit"], "camera.status", start, exam=exam, state="ok")
            gate = do(
                gateway,
                "device.gate",
                start + 1_000,
                room=ROOM,
                exam=exam,
                allowed=True,
                reasons=[],
                evidence=[],
                mono_ms=start + 1_000,
            )
            do(crew["tablet"], "exam.started", start + 2_000, session=SESSION, exam=exam, gate=gate)
            day.exams.append(RunningExam(exam, signers[crew["unit"]], crew["tablet"]))
    return day


def _seed(
    centre: Centre,
    room: dict[str, Any],
    candidates: list[str],
    route: str,
    start: int,
    seal_from: int,
    seal_until: int,
    origin: str,
) -> None:
    """The room, session, candidates and bookings as rows of the centre's database (the guard
    checks each check-in's ID hash against them)."""
    with Session(centre.store.engine) as db, db.begin():
        save_room(db, parse_room_configuration(room, origin), 0)
        db.add(
            rows.ExamSession(
                id=SESSION,
                subject=2,
                licence_class="C1",
                room_id=ROOM,
                route=route,
                start_ms=start,
                seal_from_ms=seal_from,
                seal_until_ms=seal_until,
                face_threshold=800,
            )
        )
        for n, candidate in enumerate(candidates, start=1):
            db.add(
                rows.Candidate(
                    id=candidate,
                    id_number=_id_number(n),
                    id_hash=_id_hash(candidate),
                    name=f"考生{n}",
                    licence_class="C1",
                    school_id="school-1",
                    previous_attempts=0,
                )
            )
            db.flush()
            db.add(rows.Booking(session_id=SESSION, candidate_id=candidate))
