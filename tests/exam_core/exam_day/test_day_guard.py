"""The exam day inside the centre: its writer refuses a step the day refuses, before sequencing.

A centre opened with the day's guard checks every day entry after the registry and records it
in sequence order; a refused entry is not sequenced and uses up no ``seq``; the day is rebuilt
from the log when the centre opens again (from its snapshot or by a replay).  Runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from exam_core.centre.blobs import BlobStore
from exam_core.centre.centre import Centre
from exam_core.centre.store import LogStore
from exam_core.errors import ExamDayError, StepError
from exam_core.exam_day.day_guard import DAY_TYPE, DayGuard
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.steps import Step
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import (
    ALLOCATOR,
    DEMO,
    GATEWAY,
    SCORER,
    SUPERVISOR,
    TABLET,
    TERMINAL,
    VEHICLE,
    Role,
)
from tests.exam_core.exam_day import day_script as ds


def script_guard(origin: str, _store: LogStore, blobs: BlobStore) -> DayGuard:
    return DayGuard(origin, blobs, lambda _session: {c: ds.id_hash(c) for c in ds.BOOKED})


@dataclass
class Clock:
    now: int = ds.CHECKIN - 60_000

    def __call__(self) -> int:
        return self.now


@dataclass
class GuardedDay(ds.DayScript):
    """A ``DayScript`` whose steps go through a centre that keeps the day itself."""

    root: Path = Path()
    centre: Centre | None = None
    clock: Clock = field(default_factory=Clock)
    signers: dict[str, Ed25519Signer] = field(default_factory=dict)

    @property
    def guard(self) -> DayGuard:
        assert self.centre is not None
        assert isinstance(self.centre.guard, DayGuard)
        return self.centre.guard

    def open(self, **options: Any) -> Centre:
        self.centre = Centre.open(self.root, clock_ms=self.clock, guard=script_guard, **options)
        self.day = self.guard.day
        return self.centre

    def do(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> Step:
        assert self.centre is not None
        if manifest is not None:
            self.centre.blobs.put(manifest)
        self.clock.now = ts
        index = self.centre.append(self.signers[actor], step_type, fields)
        self.index = index + 1
        return Step(index, step_type, actor, ts, {"type": step_type, **fields})

    def post(self, step_type: str, actor: str, ts: int, **fields: Any) -> ExamDayError:
        """Append a step the centre must refuse; check that nothing was sequenced."""
        assert self.centre is not None
        size, before = self.centre.store.size(), self.snapshot()
        self.clock.now = ts
        with pytest.raises(ExamDayError) as refused:
            self.centre.append(self.signers[actor], step_type, fields)
        assert self.centre.store.size() == size
        assert self.snapshot() == before
        return refused.value


@pytest.fixture
def guarded(db_url: str, tmp_path: Path) -> Iterator[GuardedDay]:
    script = GuardedDay(root=tmp_path / "centre")
    roles: dict[str, Role] = {
        ds.GATEWAY: GATEWAY,
        ds.TERMINAL: TERMINAL,
        ds.SUPERVISOR: SUPERVISOR,
        ds.ALLOCATOR: ALLOCATOR,
        ds.SCORER: SCORER,
        f"{ds.ORIGIN}/demo/d1": DEMO,
    }
    for examiner in ds.EXAMINERS:
        roles[ds.tablet(examiner)] = TABLET
        roles[ds.unit(examiner)] = VEHICLE
    with Centre.create(
        script.root, ds.ORIGIN, database_url=db_url, max_age_ms=5, clock_ms=script.clock
    ) as centre:
        script.signers[ds.ADMIN] = centre.admin()
        for name, role in roles.items():
            script.signers[name] = centre.register_key(name, role)
    script.open(max_age_ms=5)
    yield script
    assert script.centre is not None
    script.centre.close()


def test_a_step_out_of_order_is_refused_before_sequencing(guarded: GuardedDay) -> None:
    guarded.open_session()
    guarded.check_in("c-01")
    step = guarded.post(
        "boarding.confirmed",
        ds.tablet("E1"),
        ds.START,
        session=ds.SESSION,
        exam=exam_id(ds.SESSION, "c-01"),
        candidate="c-01",
        examiner="E1",
        vehicle=ds.car("E1"),
    )
    assert isinstance(step, StepError)
    assert "boarding.confirmed" not in step.expected
    assert "session.sealed" in step.expected


def test_a_step_that_contradicts_the_day_is_refused_with_its_code(guarded: GuardedDay) -> None:
    guarded.open_session()
    not_booked = guarded.post(
        "checkin.verified",
        ds.TERMINAL,
        ds.CHECKIN,
        session=ds.SESSION,
        candidate="c-99",
        id_hash=ds.id_hash("c-99"),
        face=950,
        attempt=1,
    )
    assert not isinstance(not_booked, StepError)
    assert not_booked.code == "not_booked"
    proxy = guarded.post(
        "checkin.verified",
        ds.TERMINAL,
        ds.CHECKIN,
        session=ds.SESSION,
        candidate="c-01",
        id_hash=ds.id_hash("c-02"),
        face=950,
        attempt=1,
    )
    assert proxy.code == "identity_mismatch"
    # The refusals used up no seq: the terminal's next check-in goes through.
    guarded.check_in("c-01")
    assert guarded.guard.day.sessions[ds.SESSION].checked_in() == ("c-01",)


def test_entries_of_other_types_pass_unchecked(guarded: GuardedDay) -> None:
    assert guarded.centre is not None
    signer = guarded.signers[f"{ds.ORIGIN}/demo/d1"]
    index = guarded.centre.append(signer, "demo.event", {"n": 1})
    assert guarded.guard.size == index + 1


def test_a_whole_session_then_a_reopened_centre_has_the_same_day(guarded: GuardedDay) -> None:
    guarded.open_session()
    guarded.allocate()
    candidate = guarded.day.sessions[ds.SESSION].roster[0]
    exam = guarded.board(candidate)
    guarded.start(candidate, exam)
    guarded.chunk(candidate, exam, 0)
    unit = ds.unit(guarded.assignment[candidate])
    refused = guarded.post("exam.ended", unit, ds.START + 9_000, exam=exam, chunks=2)
    assert isinstance(refused, StepError)
    assert refused.expected == "telemetry.chunk 1"
    guarded.end(candidate, exam, 1)
    guarded.score(exam, 1)
    before = guarded.snapshot()
    assert guarded.centre is not None
    guarded.centre.close()
    # From the snapshot written at closing: the day is replayed from the log all the same.
    reopened = guarded.open(max_age_ms=5)
    assert reopened.opening.snapshot_size is not None
    assert guarded.snapshot() == before
    assert guarded.guard.size == reopened.store.size()
    reopened.close()
    (guarded.root / "log.snapshot").unlink()
    reopened = guarded.open(max_age_ms=5)
    assert reopened.opening.snapshot_size is None
    assert guarded.snapshot() == before


def test_the_filter_finds_every_day_type_and_skips_others() -> None:
    # Key registrations and revocations too: the day judges a room's gateway by them.
    kinds = ("checkin.verified", "device.gate", "exam.scored", "telemetry.chunk", "key.revoked")
    for kind in (*kinds, "key.registered"):
        assert DAY_TYPE.search(b'{"actor":"x","type":"' + kind.encode() + b'","v":1}')
    assert DAY_TYPE.search(b'{"type":"demo.event","x":"\\"type\\":\\"exam.started"}') is None
    assert DAY_TYPE.search(b'{"type":"device.status"}') is None
