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

from exam_core.centre.centre import Centre
from exam_core.centre.store import LogStore
from exam_core.db import make_engine
from exam_core.log.checkpoint import verify_checkpoint
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import MerkleFrontier, leaf_hash
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.log.registry import KeyRegistry

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


def assert_log_sound(
    db_url: str, log_vkey: str, origin: str = ORIGIN, admit: bool = True
) -> list[bytes]:
    """Check what a kill or a race must never break; return the entries.

    No gap and no entry beyond the newest checkpoint; every checkpoint signed by the log key
    and equal to the root recomputed from the entries below its size; the stored tree hashes
    agree; and (``admit``) the whole log passes the admission rules again, in order (keys,
    roles, schema, signatures, per-actor seq without gaps or repeats).
    """
    store = LogStore.open(make_engine(db_url), migrate=False)
    try:
        size = store.size()
        entries = store.entries(0, size + 1_000_000)
        assert len(entries) == size, "entries beyond the newest checkpoint or a gap"
        verifier = ed25519_verifier_from_vkey(log_vkey)
        recomputed = MerkleFrontier()
        sizes = []
        for note in store.checkpoints():
            cp = verify_checkpoint(note, verifier)
            assert cp.size > recomputed.size, "checkpoint sizes must grow"
            recomputed.extend([leaf_hash(e) for e in entries[recomputed.size : cp.size]])
            assert cp.root_hash == recomputed.root()
            sizes.append(cp.size)
        assert not sizes or sizes[-1] == size
        assert store.frontier(size).root() == recomputed.root()
        if admit:
            registry = KeyRegistry(origin)
            for data in entries:
                registry.admit(parse_entry(data))
        return entries
    finally:
        store.close()
