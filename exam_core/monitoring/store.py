"""The monitoring centre's persistence: the one module of ``exam_core.monitoring`` with SQL.

It keeps the logs the monitoring centre watches and, per log, the newest checkpoint its witness
cosigned (``exam_core.db.monitoring``).  The witness state only moves by ``advance_witness``, a
compare-and-swap: the row is replaced only if it still holds the size and root the request was
checked against, in one transaction that commits before the witness answers.  Two requests
racing from the same old size cannot both advance, and a crash after the commit leaves a state
the log can recover from (its retry gets 409 with the new size, then the same cosignature).

Several monitor processes may share one database (PostgreSQL in production, SQLite to try it
out); nothing here keeps state in memory between calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from exam_core.db.engine import WRITE_LOCK_OPTION
from exam_core.db.failures import store_error
from exam_core.db.migrate import upgrade_store
from exam_core.db.monitoring import MonitoredLog, WitnessState
from exam_core.errors import StoreError

__all__ = ["KnownLog", "MonitorStore", "WitnessRecord"]


@dataclass(frozen=True)
class KnownLog:
    """A log the monitoring centre watches: its origin, its key and where it serves its tiles."""

    origin: str
    vkey: str
    url: str | None


@dataclass(frozen=True)
class WitnessRecord:
    """The newest checkpoint cosigned for one log (see ``exam_core.db.monitoring``)."""

    size: int
    root_hash: bytes
    cosigned_at: int
    checkpoint: bytes


class MonitorStore:
    """The monitoring centre's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: BEGIN IMMEDIATE, so that a racing writer waits for the lock and then reads
        # the committed state, rather than failing on a stale snapshot.  PostgreSQL re-checks
        # the UPDATE's condition on the row version that won.
        self._write_engine = engine.execution_options(**{WRITE_LOCK_OPTION: True})

    @classmethod
    def open(cls, engine: Engine, migrate: bool = True) -> MonitorStore:
        """Open the store on ``engine``, migrating its tables first if asked.

        Raises:
            StoreError: the database cannot be migrated.
        """
        if migrate:
            upgrade_store(engine, "monitoring database")
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except SQLAlchemyError as e:
            raise store_error(what, e) from e

    # --- the logs watched ------------------------------------------------------------------

    def add_log(self, log: KnownLog, now_ms: int) -> bool:
        """Watch ``log``; False if it was watched already with the same key and URL.

        Raises:
            StoreError: the origin is watched already with another key or URL, or the database
                cannot be written.
        """
        existing = self.log(log.origin)
        if existing is not None:
            if existing != log:
                raise StoreError(
                    f"log {log.origin} is watched already with key {existing.vkey} "
                    f"at {existing.url or 'no URL'}"
                )
            return False
        try:
            with self._transaction("cannot add the log") as session:
                session.add(
                    MonitoredLog(origin=log.origin, vkey=log.vkey, url=log.url, added_ms=now_ms)
                )
        except StoreError:
            if self.log(log.origin) == log:
                return False  # another process added the same log meanwhile
            raise
        return True

    def log(self, origin: str) -> KnownLog | None:
        """The watched log of ``origin``, or None.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the watched logs") as session:
            row = session.get(MonitoredLog, origin)
            return None if row is None else KnownLog(row.origin, row.vkey, row.url)

    def logs(self) -> list[KnownLog]:
        """Every watched log, by origin.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the watched logs") as session:
            rows = session.execute(select(MonitoredLog).order_by(MonitoredLog.origin)).scalars()
            return [KnownLog(r.origin, r.vkey, r.url) for r in rows]

    # --- the witness -----------------------------------------------------------------------

    def witness_state(self, origin: str) -> WitnessRecord | None:
        """The newest checkpoint the witness cosigned for ``origin``, or None.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the witness state") as session:
            row = session.get(WitnessState, origin)
            if row is None:
                return None
            return WitnessRecord(
                int(row.size), bytes(row.root_hash), int(row.cosigned_at), bytes(row.checkpoint)
            )

    def advance_witness(
        self, origin: str, expected: WitnessRecord | None, new: WitnessRecord
    ) -> bool:
        """Replace the state of ``origin`` by ``new`` if it is still ``expected``; commit.

        Returns False, changing nothing, when another request advanced the state first (or,
        for a log never cosigned, created it first).

        Raises:
            StoreError: the database cannot be written.
        """  # noqa: DOC501 - ``store_error`` builds the StoreError named above
        try:
            with Session(self._write_engine) as session, session.begin():
                if expected is None:
                    session.add(
                        WitnessState(
                            origin=origin,
                            size=new.size,
                            root_hash=new.root_hash,
                            cosigned_at=new.cosigned_at,
                            checkpoint=new.checkpoint,
                        )
                    )
                    session.flush()
                    return True
                result = session.execute(
                    update(WitnessState)
                    .where(
                        WitnessState.origin == origin,
                        WitnessState.size == expected.size,
                        WitnessState.root_hash == expected.root_hash,
                    )
                    .values(
                        size=new.size,
                        root_hash=new.root_hash,
                        cosigned_at=new.cosigned_at,
                        checkpoint=new.checkpoint,
                    )
                    .execution_options(synchronize_session=False)
                )
                return int(getattr(result, "rowcount", 0)) == 1
        except IntegrityError:
            return False  # a concurrent first cosignature for this origin won
        except SQLAlchemyError as e:
            raise store_error("cannot write the witness state", e) from e
