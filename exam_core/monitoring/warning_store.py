"""The warnings' persistence: signals recorded as they are found, actions as they are signed.

The one module of the warnings with SQL (tables in ``exam_core.db.warnings``).  The mirror (or
anything else that finds signals) calls ``record_signals``; ``examctl monitor warnings`` reads
``signals_since`` and ``actions`` and grades them (``exam_core.monitoring.warnings.grade``).
Recording is idempotent by signal id, in one transaction per call: a process killed half-way
leaves the signals of that call all recorded or none, and recording them again is harmless.
``record_fed`` also moves a log's ``FeedPosition`` (how far the mirror's entries and findings
were handed over) in that same transaction, so each is handed over exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exam_core.db.failures import store_error
from exam_core.db.migrate import upgrade_store
from exam_core.db.warnings import WarningActionRow, WarningFeedRow, WarningSignal
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.warnings import WarningAction

__all__ = ["FeedPosition", "WarningStore"]


@dataclass(frozen=True)
class FeedPosition:
    """How far the warnings' intake has read one mirrored log."""

    entries_fed: int = 0
    """Entries ``0 … entries_fed − 1`` were handed over."""
    finding_after: int = 0
    """The number of the last mirror finding handed over (``RecordedFinding.id``)."""
    statistics_ms: int = 0
    """When the statistics last ran (0: never)."""


def _signal(row: WarningSignal) -> Signal:
    return Signal(
        source=row.source,
        centre=row.centre,
        at_ms=int(row.at_ms),
        entries=tuple(int(i) for i in json.loads(row.entries)),
        message=row.message,
        examiner=row.examiner,
        vehicle=row.vehicle,
        key=row.key,
        recorded_ms=int(row.recorded_ms),
    )


class WarningStore:
    """The signals and actions in the monitoring centre's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, engine: Engine, migrate: bool = True) -> WarningStore:
        """Open the store on ``engine``, migrating first if asked.

        Raises:
            StoreError: the database cannot be migrated.
        """
        if migrate:
            upgrade_store(engine, "monitoring database")
        return cls(engine)

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with Session(self.engine) as session, session.begin():
                yield session
        except SQLAlchemyError as e:
            raise store_error(what, e) from e

    def record_signals(self, signals: Iterable[Signal], now_ms: int) -> int:
        """Record ``signals`` (replacing any of the same id); return how many were new.

        Raises:
            StoreError: the database cannot be written.
        """
        batch = {s.id: s for s in signals}
        if not batch:
            return 0
        with self._transaction("cannot record the signals") as session:
            return self._record(session, batch, now_ms)

    def feed_position(self, origin: str) -> FeedPosition:
        """How far the intake has read ``origin`` (all zero if it never has).

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the warnings' feed position") as session:
            row = session.get(WarningFeedRow, origin)
            if row is None:
                return FeedPosition()
            return FeedPosition(
                int(row.entries_fed), int(row.finding_after), int(row.statistics_ms)
            )

    def record_fed(
        self,
        origin: str,
        signals: Iterable[Signal],
        now_ms: int,
        *,
        was: FeedPosition,
        now: FeedPosition,
    ) -> int | None:
        """Record ``signals`` and move ``origin``'s position from ``was`` to ``now``, in one
        transaction; how many signals were new, or None (nothing written) if the position is no
        longer ``was`` (another process handed them over first).

        Raises:
            StoreError: the database cannot be written.
        """
        batch = {s.id: s for s in signals}
        with self._transaction("cannot record the signals") as session:
            row = session.get(WarningFeedRow, origin, with_for_update=True)
            held = (
                FeedPosition()
                if row is None
                else FeedPosition(
                    int(row.entries_fed), int(row.finding_after), int(row.statistics_ms)
                )
            )
            if held != was:
                return None
            if row is None:
                row = WarningFeedRow(origin=origin)
                session.add(row)
            row.entries_fed, row.finding_after = now.entries_fed, now.finding_after
            row.statistics_ms = now.statistics_ms
            return self._record(session, batch, now_ms)

    @staticmethod
    def _record(session: Session, batch: dict[str, Signal], now_ms: int) -> int:
        new = 0
        held: dict[str, WarningSignal] = {}
        ids = list(batch)
        for at in range(0, len(ids), 500):  # one read per 500 ids, not one per signal
            rows = session.execute(
                select(WarningSignal)
                .where(WarningSignal.id.in_(ids[at : at + 500]))
                .with_for_update()
            ).scalars()
            held.update((r.id, r) for r in rows)
        if batch:
            for sid, s in batch.items():
                row = held.get(sid)
                if row is None:
                    new += 1
                    row = WarningSignal(id=sid, recorded_ms=now_ms)
                    session.add(row)
                row.centre, row.source, row.at_ms = s.centre, s.source, s.at_ms
                row.examiner, row.vehicle, row.key = s.examiner, s.vehicle, s.key
                row.entries = json.dumps(list(s.entries), separators=(",", ":"))
                row.message = s.message
        return new

    def signals_since(self, since_ms: int) -> list[Signal]:
        """Every signal dated after ``since_ms``.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the signals") as session:
            rows = session.execute(
                select(WarningSignal)
                .where(WarningSignal.at_ms > since_ms)
                .order_by(WarningSignal.at_ms, WarningSignal.id)
            ).scalars()
            return [_signal(r) for r in rows]

    def record_action(self, action: WarningAction) -> None:
        """Keep ``action``, read from its signed entry at ``action.log_index`` of the monitoring
        centre's log; recording it again is a no-op.

        Raises:
            StoreError: the database cannot be written.
        """
        with self._transaction("cannot record the action") as session:
            if session.get(WarningActionRow, action.log_index) is not None:
                return
            session.add(
                WarningActionRow(
                    log_index=action.log_index,
                    warning=action.warning,
                    action=action.action,
                    actor=action.actor,
                    why=action.why,
                    level=action.level,
                    points=action.points,
                    at_ms=action.at_ms,
                    signals=action.signals,
                    signals_sha256=action.signals_sha256,
                )
            )

    def actions(self) -> list[WarningAction]:
        """Every action recorded, in log order.

        Raises:
            StoreError: the database cannot be read.
        """
        with self._transaction("cannot read the actions") as session:
            rows = session.execute(
                select(WarningActionRow).order_by(WarningActionRow.log_index)
            ).scalars()
            return [
                WarningAction(
                    warning=r.warning,
                    action=r.action,
                    actor=r.actor,
                    why=r.why,
                    level=r.level,
                    points=int(r.points),
                    at_ms=int(r.at_ms),
                    signals=int(r.signals),
                    signals_sha256=r.signals_sha256,
                    log_index=int(r.log_index),
                )
                for r in rows
            ]
