"""The exam day through a real centre: each step checked, signed, sequenced, then replayed.

Every step of a scripted session is checked by the day before its entry is appended, then
appended through ingest (which checks the signer's role and the schema), then recorded; a fresh
day replaying the log must reach the same state.  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from allocation import LateChange
from exam_core.centre.centre import Centre
from exam_core.errors import EntryError
from exam_core.exam_day.day import ExamDay
from exam_core.exam_day.steps import Step
from exam_core.log.entry import parse_entry
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
from tests.exam_core.exam_day import day_script as ds


@dataclass
class Clock:
    now: int = ds.CHECKIN - 60_000

    def __call__(self) -> int:
        return self.now


@dataclass
class LoggedDay(ds.DayScript):
    """A ``DayScript`` whose steps are signed entries in a centre's log."""

    centre: Centre | None = None
    clock: Clock = field(default_factory=Clock)
    signers: dict[str, Ed25519Signer] = field(default_factory=dict)
    manifests: dict[str, bytes] = field(default_factory=dict)

    def do(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> Step:
        assert self.centre is not None
        self.index = self.centre.store.size()
        step = self.step(step_type, actor, ts, **fields)
        self.day.check(step, manifest)
        self.clock.now = ts
        index = self.centre.append(self.signers[actor], step_type, fields)
        assert index == step.index
        self.day.apply(step, manifest)
        if manifest is not None:
            self.manifests[hashlib.sha256(manifest).hexdigest()] = manifest
        return step


@pytest.fixture
def logged(db_url: str, tmp_path: Path) -> Iterator[LoggedDay]:
    script = LoggedDay()
    centre = Centre.create(
        tmp_path / "centre", ds.ORIGIN, database_url=db_url, max_age_ms=5, clock_ms=script.clock
    )
    script.centre = centre
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
    script.signers[ds.ADMIN] = centre.admin()
    for name, role in roles.items():
        script.signers[name] = centre.register_key(name, role)
    yield script
    centre.close()


def replay(centre: Centre, manifests: dict[str, bytes]) -> ExamDay:
    day = ExamDay(ds.ORIGIN)
    for index in range(centre.store.size()):
        entry = parse_entry(centre.store.entry(index))
        manifest = (
            manifests.get(entry.event.get("manifest_sha256", ""))
            if entry.type == "allocation.committed"
            else None
        )
        day.apply(Step.of(index, entry), manifest)
    return day


def test_a_session_on_the_log_replays_to_the_same_state(logged: LoggedDay) -> None:
    logged.open_session()
    for attempt in (1, 2, 3):
        logged.check_in("c-08", face=50, attempt=attempt)
    logged.do(
        "checkin.decided",
        ds.SUPERVISOR,
        ds.CHECKIN,
        session=ds.SESSION,
        candidate="c-08",
        decision="refuse",
        reason="proxy_suspected",
    )
    logged.allocate()
    flow = logged.day.sessions[ds.SESSION]
    candidate = "c-01"
    exam = logged.board(candidate)
    logged.start(candidate, exam)
    logged.chunk(candidate, exam, 0)
    logged.end(candidate, exam, 1)
    logged.score(exam, 1)
    absent = next(c for c in flow.roster if c != candidate)
    logged.repair(LateChange("no_show", absent), ts=ds.START + 80_000)
    assert logged.centre is not None
    replayed = replay(logged.centre, logged.manifests)
    original = logged.day
    logged.day = replayed
    after = logged.snapshot()
    logged.day = original
    assert after == logged.snapshot()


def test_ingest_keeps_each_step_to_its_role(logged: LoggedDay) -> None:
    logged.open_session()
    assert logged.centre is not None
    checkin = {
        "session": ds.SESSION,
        "candidate": "c-01",
        "id_hash": "ab" * 32,
        "face": 900,
        "attempt": 1,
    }
    for signer, step_type, fields in (
        (ds.SCORER, "checkin.verified", checkin),
        (
            ds.TERMINAL,
            "checkin.decided",
            {
                "session": ds.SESSION,
                "candidate": "c-01",
                "decision": "admit",
                "reason": "identity_confirmed",
            },
        ),
        (
            ds.TERMINAL,
            "session.sealed",
            {"session": ds.SESSION, "candidates": ["c-01"], "examiners": ["E1"]},
        ),
        (ds.ALLOCATOR, "session.opened", ds.OPENED_FIELDS),
        (ds.tablet("E1"), "exam.ended", {"exam": "ab" * 16, "chunks": 1}),
        (ds.unit("E1"), "exam.started", {"session": ds.SESSION, "exam": "ab" * 16, "gate": 1}),
        (
            ds.unit("E1"),
            "boarding.confirmed",
            {
                "session": ds.SESSION,
                "exam": "ab" * 16,
                "candidate": "c-01",
                "examiner": "E1",
                "vehicle": "car-E1",
            },
        ),
        (ds.GATEWAY, "room.configured", ds.ROOM_FIELDS),
    ):
        with pytest.raises(EntryError, match="role_forbidden"):
            logged.centre.append(logged.signers[signer], step_type, fields)
    with pytest.raises(EntryError, match="schema"):
        logged.centre.append(
            logged.signers[ds.TERMINAL], "checkin.verified", checkin | {"name": "张三"}
        )
    with pytest.raises(EntryError, match="schema"):
        logged.centre.append(
            logged.signers[ds.TERMINAL],
            "checkin.verified",
            checkin | {"id_number": "11010519491231002X"},
        )
