"""Fixtures of the exam-day tests: a migrated database with one configured field, and the
context an import runs in (a fixed secret, photos beside the test's files, a fixed date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from exam_core.db import upgrade
from exam_core.db.engine import make_engine
from exam_core.db.exam_day import Room
from exam_core.exam_day.imports import ImportContext
from exam_core.exam_day.photos import PhotoFolder
from exam_core.exam_day.secret import CentreSecret
from tests.exam_core.exam_day import roster_files as rf

SECRET = CentreSecret(bytes(range(32)))
TODAY = dt.date(2026, 3, 1)


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    engine: Engine = make_engine(db_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(
            Room(
                id="field-1",
                kind="field",
                gateway=f"{rf.ORIGIN}/gateway/g1",
                max_age_ms=2000,
                configured_idx=1,
            )
        )
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def context(tmp_path: Path) -> ImportContext:
    (tmp_path / "c1.jpg").write_bytes(rf.JPEG)
    counter = iter(range(1, 10_000))
    return ImportContext(
        origin=rf.ORIGIN,
        secret=SECRET,
        photos=PhotoFolder(tmp_path),
        today=TODAY,
        new_candidate_id=lambda: f"c-{next(counter):04d}",
    )
