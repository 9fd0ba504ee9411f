"""Shared fixtures: a real, migrated log database on SQLite, and on PostgreSQL when configured.

``db_url`` is parametrised over SQLite (always) and PostgreSQL (when
``EXAM_TEST_DATABASE_URL`` names one).  Several test runs share one PostgreSQL database, so each
PostgreSQL test gets a schema of its own, selected through the connection's ``search_path``
and dropped afterwards; the URL carries that setting, so another process opening the same URL
sees the same tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from exam_core.centre import Centre
from exam_core.db import make_engine

PG_ENV = "EXAM_TEST_DATABASE_URL"

_BACKENDS = [pytest.param("sqlite", id="sqlite")]
if os.environ.get(PG_ENV):
    _BACKENDS.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty database (migrate it yourself or through ``LogStore``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    base = os.environ[PG_ENV]
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url``; disposed after the test."""
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


ORIGIN = "exam.example/c/370100-01"


@pytest.fixture
def centre(db_url: str, tmp_path: Path) -> Iterator[Centre]:
    """A new centre whose log lives in ``db_url``; its genesis entry registers the admin.

    Batches close after 5 ms rather than the default 250 ms, so tests do not wait on them.
    """
    c = Centre.create(tmp_path / "centre", ORIGIN, database_url=db_url, max_age_ms=5)
    yield c
    c.close()
