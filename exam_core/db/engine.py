"""Engines for the log database: SQLite (embedded default) and PostgreSQL (DESIGN §8).

SQLite runs in WAL mode with ``synchronous=FULL``, so a committed batch survives a power cut,
and its transactions are begun by us rather than by the driver, so that the writer can take
the database's write lock at the start of its transaction (``BEGIN IMMEDIATE``) before it reads
the size it appends to.  PostgreSQL needs nothing special here; its writer lock is an advisory
lock taken by the store.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from exam_core.errors import StoreError

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a second writer waits for the first one's batch before it gives up."""

SQLITE_POOL_SIZE = 20
"""Connections kept open to a SQLite file (the HTTP service reads from up to 40 threads)."""

WRITE_LOCK_OPTION = "exam_write_lock"
"""Execution option asking for a transaction that holds the database's write lock."""


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (a PostgreSQL search path may ride in its ``options`` query).

    Raises:
        StoreError: ``url`` is not a database URL, or names a database other than SQLite or
            PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"not a database URL: {url!r}") from e
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise StoreError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _sqlite_engine(url: str) -> Engine:
    # In-memory databases live and die with their connection: nothing to pool.  File
    # databases keep a few connections open, which saves a connect and the pragmas per batch.
    if make_url(url).database in (None, "", ":memory:"):
        engine = create_engine(url, poolclass=NullPool)
    else:
        # Enough pooled connections for a service's worker threads: a connection beyond the
        # pool is closed when returned, and the next one pays a connect and the pragmas.
        engine = create_engine(url, pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_POOL_SIZE)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite would otherwise defer it past our reads).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_LOCK_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
