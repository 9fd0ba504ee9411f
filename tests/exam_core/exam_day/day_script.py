"""A scripted exam day for the state-machine tests: one field, one session, three crews.

Steps are values (``Step``), not signed entries: the state machine is pure, and signing is
tested where entries are made.  ``DayScript.do`` applies a step, ``refused`` checks that a step
is refused and that the refusal changed nothing.  Their own arguments (type, actor, time and
manifest) are positional-only, so that every keyword is an event field and none can be taken
for one of them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest

from allocation import (
    BeaconTarget,
    Candidate,
    CandidateId,
    DevBeacon,
    Examiner,
    ExaminerId,
    LateChange,
    Manifest,
    Roster,
    SchoolId,
    committed_fields,
    draw_seed,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    repair_assignment,
    repaired_fields,
    vrf_public_key,
)
from allocation.draw import Allocation
from exam_core.errors import ExamDayError
from exam_core.exam_day.day import ExamDay
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.steps import Step

ORIGIN = "exam.example/c/370100-01"
ADMIN = f"{ORIGIN}/admin"
GATEWAY = f"{ORIGIN}/gateway/g1"
TERMINAL = f"{ORIGIN}/terminal/k1"
SUPERVISOR = f"{ORIGIN}/supervisor/s1"
ALLOCATOR = f"{ORIGIN}/allocator/a1"
SCORER = f"{ORIGIN}/scorer/s1"
SESSION = "2026-03-02/k2/am"
ROOM = "field-1"
START = 10_000_000
SEAL_FROM, SEAL_UNTIL = START - 30 * 60_000, START - 10 * 60_000
CHECKIN = SEAL_FROM - 60_000
BOOKED = [f"c-{i:02d}" for i in range(1, 9)]
EXAMINERS = ["E1", "E2", "E3"]
VRF_SECRET = hashlib.sha256(b"day script VRF key").digest()
BEACON = DevBeacon(b"\x07" * 32, genesis_ms=0, period_ms=1000, clock=lambda: 2**52)
ROUND = SEAL_UNTIL // 1000 + 10


def tablet(examiner: str) -> str:
    return f"{ORIGIN}/tablet/T-{examiner}"


def unit(examiner: str) -> str:
    return f"{ORIGIN}/vehicle/unit-{examiner}"


def car(examiner: str) -> str:
    return f"car-{examiner}"


def id_hash(candidate: str) -> str:
    return hashlib.sha256(candidate.encode()).hexdigest()


ROOM_FIELDS: dict[str, Any] = {
    "room": ROOM,
    "kind": "field",
    "gateway": GATEWAY,
    "jammers": [{"device": "field-1/jammer", "bands": [1, 2, 3]}],
    "detectors": ["field-1/detector"],
    "canaries": ["field-1/canary"],
    "max_age_ms": 2000,
}
OPENED_FIELDS: dict[str, Any] = {
    "session": SESSION,
    "subject": 2,
    "licence_class": "C1",
    "room": ROOM,
    "route": "k2-field-a/1",
    "start_ms": START,
    "seal_from_ms": SEAL_FROM,
    "seal_until_ms": SEAL_UNTIL,
    "face_threshold": 800,
    "gate_fresh_ms": 5000,
    "booked": BOOKED,
    "crews": [
        {"examiner": e, "tablet": tablet(e), "vehicle": car(e), "unit": unit(e)} for e in EXAMINERS
    ],
}


@dataclass
class DayScript:
    day: ExamDay = field(
        default_factory=lambda: ExamDay(ORIGIN, id_hashes=lambda s: {c: id_hash(c) for c in BOOKED})
    )
    index: int = 0
    manifest: Manifest | None = None
    manifest_bytes: bytes = b""
    allocation: Allocation | None = None
    assignment: dict[str, str] = field(default_factory=dict)
    repairs: int = 0

    def __post_init__(self) -> None:
        # The log registered the room's gateway before the day began: a room names a gateway
        # key the day has seen registered (``rooms.check_room_gateway``).
        registered = {"v": 1, "log": ORIGIN, "type": "key.registered", "ts": 0, "actor": ADMIN}
        registered |= {"seq": 1, "name": GATEWAY, "role": "gateway"}
        self.day.apply(Step(-1, "key.registered", ADMIN, 0, registered))

    def step(self, step_type: str, actor: str, ts: int, /, **fields: Any) -> Step:
        event = {"v": 1, "log": ORIGIN, "type": step_type, "ts": ts, "actor": actor, "seq": 1}
        return Step(self.index, step_type, actor, ts, event | fields)

    def do(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> Step:
        step = self.step(step_type, actor, ts, **fields)
        self.day.check(step, manifest)
        self.day.apply(step, manifest)
        self.index += 1
        return step

    def refused(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> ExamDayError:
        before = self.snapshot()
        step = self.step(step_type, actor, ts, **fields)
        with pytest.raises(ExamDayError) as caught:
            self.day.check(step, manifest)
        with pytest.raises(type(caught.value)):
            self.day.apply(step, manifest)
        assert self.snapshot() == before, "a refused step changed the state"
        return caught.value

    def snapshot(self) -> object:
        flows = self.day.sessions
        return (
            sorted(self.day.rooms),
            {
                s: (
                    f.phase,
                    f.roster,
                    dict(f.assignment),
                    dict(f.vehicles),
                    dict(f.routes),
                    sorted(f.no_shows),
                    sorted(f.withdrawn),
                    f.repairs,
                    f.commits,
                    {c: (k.state, k.failures) for c, k in f.checkins.items()},
                    {
                        e: (
                            x.phase,
                            list(x.chunks),
                            x.stop_reason,
                            x.camera,
                            x.void_reason,
                            x.snapshots,
                            x.video.count,
                        )
                        for e, x in f.exams.items()
                    },
                )
                for s, f in flows.items()
            },
        )

    # --- the day's steps, in order --------------------------------------------------------------

    def open_session(self) -> None:
        self.do("room.configured", ADMIN, CHECKIN - 10_000, **ROOM_FIELDS)
        self.do("session.opened", ADMIN, CHECKIN - 5_000, **OPENED_FIELDS)

    def check_in(
        self, candidate: str, face: int = 950, attempt: int = 1, ts: int = CHECKIN
    ) -> Step:
        kind = "checkin.verified" if face >= 800 else "checkin.face_failed"
        return self.do(
            kind,
            TERMINAL,
            ts,
            session=SESSION,
            candidate=candidate,
            id_hash=id_hash(candidate),
            face=face,
            attempt=attempt,
        )

    def seal(self, ts: int = SEAL_FROM + 60_000) -> Step:
        flow = self.day.sessions[SESSION]
        return self.do("session.sealed", ALLOCATOR, ts, **flow.sealed_fields())

    def prepare(self, round_number: int = ROUND) -> bytes:
        roster = Roster(
            SESSION,
            tuple(
                Candidate(CandidateId(c), "C1", SchoolId("school-1"))
                for c in (
                    self.day.sessions[SESSION].roster or self.day.sessions[SESSION].checked_in()
                )
            ),
            tuple(Examiner(ExaminerId(e), frozenset({"C1"})) for e in EXAMINERS),
        )
        self.manifest = prepare_manifest(
            roster,
            scale=1000,
            cap=1000,
            beacon=BeaconTarget("dev", BEACON.commitment_text, round_number),
            vrf_key=vrf_public_key(VRF_SECRET),
        )
        self.manifest_bytes = encode_manifest(self.manifest)
        return self.manifest_bytes

    def commit(self, round_number: int = ROUND) -> Step:
        data = self.prepare(round_number)
        assert self.manifest is not None
        return self.do(
            "allocation.committed",
            ALLOCATOR,
            SEAL_UNTIL,
            data,
            **committed_fields(data, self.manifest),
        )

    def make(self) -> Step:
        assert self.manifest is not None
        self.allocation = make_allocation(
            self.manifest_bytes,
            self.manifest,
            BEACON.reveal(self.manifest.beacon.round),
            VRF_SECRET,
        )
        self.assignment = dict(self.allocation.assignment)
        return self.do(
            "allocation.made",
            ALLOCATOR,
            SEAL_UNTIL + 20_000,
            **made_fields(self.allocation, SESSION),
        )

    def repair(self, *changes: LateChange, ts: int = START) -> Step:
        assert self.manifest is not None
        assert self.allocation is not None
        self.repairs += 1
        repaired = repair_assignment(
            self.manifest,
            tuple((CandidateId(c), ExaminerId(e)) for c, e in self.assignment.items()),
            changes,
            draw_seed(self.allocation.beta),
            self.repairs,
        )
        self.assignment = dict(repaired)
        return self.do(
            "allocation.repaired",
            ALLOCATOR,
            ts,
            **repaired_fields(
                session=SESSION,
                manifest_hash=self.allocation.manifest_sha256,
                number=self.repairs,
                changes=changes,
                reason="late change",
                assignment=repaired,
            ),
        )

    def allocate(self) -> None:
        """Check in the first six booked candidates, seal, commit, make."""
        for candidate in BOOKED[:6]:
            self.check_in(candidate)
        self.seal()
        self.commit()
        self.make()

    def board(self, candidate: str, ts: int = START, *, camera: str | None = "ok") -> str:
        """Board ``candidate`` with their crew; the car's unit then reports ``camera``."""
        examiner = self.assignment[candidate]
        exam = exam_id(SESSION, candidate)
        self.do(
            "boarding.confirmed",
            tablet(examiner),
            ts,
            session=SESSION,
            exam=exam,
            candidate=candidate,
            examiner=examiner,
            vehicle=car(examiner),
        )
        if camera is not None:
            self.camera(candidate, exam, camera, ts=ts)
        return exam

    def camera(self, candidate: str, exam: str, state: str, ts: int = START) -> Step:
        return self.do(
            "camera.status", unit(self.assignment[candidate]), ts, exam=exam, state=state
        )

    def gate(self, exam: str | None, allowed: bool = True, ts: int = START + 1_000) -> Step:
        fields: dict[str, Any] = {
            "room": ROOM,
            "allowed": allowed,
            "reasons": [] if allowed else ["jammer alarm"],
            "evidence": [],
            "mono_ms": ts,
        }
        if exam is not None:
            fields["exam"] = exam
        return self.do("device.gate", GATEWAY, ts, **fields)

    def start(self, candidate: str, exam: str, ts: int = START + 2_000) -> Step:
        gate = self.gate(exam, ts=ts - 1_000)
        return self.do(
            "exam.started",
            tablet(self.assignment[candidate]),
            ts,
            session=SESSION,
            exam=exam,
            gate=gate.index,
        )

    def chunk(
        self, candidate: str, exam: str, number: int, frames: int = 100, ts: int = START + 3_000
    ) -> Step:
        return self.do(
            "telemetry.chunk",
            unit(self.assignment[candidate]),
            ts,
            exam=exam,
            chunk=number,
            first_frame=number * frames,
            frames=frames,
            sha256=chunk_hash(exam, number),
            length=999,
        )

    def end(self, candidate: str, exam: str, chunks: int, ts: int = START + 60_000) -> Step:
        return self.do("exam.ended", unit(self.assignment[candidate]), ts, exam=exam, chunks=chunks)

    def score(self, exam: str, chunks: int, *, passed: bool = True, stopped: bool = False) -> Step:
        return self.do(
            "exam.scored",
            SCORER,
            START + 70_000,
            **scored(exam, chunks, passed=passed, stopped=stopped),
        )


def chunk_hash(exam: str, number: int) -> str:
    return hashlib.sha256(f"{exam}/{number}".encode()).hexdigest()


def scored(exam: str, chunks: int, *, passed: bool = True, stopped: bool = False) -> dict[str, Any]:
    return {
        "exam": exam,
        "subject": 2,
        "licence_class": "C1",
        "map": "k2-field-a/1",
        "rules": "ga1026-2017/1",
        "chunks": [chunk_hash(exam, n) for n in range(chunks)],
        "stopped": stopped,
        "score": 100 if passed else 0,
        "passed": passed,
        "deductions": [],
    }
