"""The centre's rows that an allocator draws over, read from the centre's database.

Why it exists: the allocator is a machine of the centre; the roster it seals comes from the
log's check-ins (over HTTP), but the ties that make conflicts of interest — schools, former
employers, declared relatives, last failed examiner — and the crews on duty are the centre's
personal data and stay in its database.  ``RosterBook`` reads them there, without opening the
centre's log (the service holds it), so the allocator can run beside ``examctl serve``; the
administrator imports the day's sessions through it while the centre serves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from allocation.roster import Roster
from exam_core.centre.config import database_url, load_config
from exam_core.db.engine import WRITE_LOCK_OPTION, make_engine
from exam_core.exam_day.imports import ImportContext, import_csv
from exam_core.exam_day.people import centre_secret_for
from exam_core.exam_day.plan import SessionPlan
from exam_core.exam_day.session_rows import allocation_roster, plan_of


class RosterBook:
    """Read-only access to one centre's exam-day rows."""

    def __init__(self, centre_dir: Path) -> None:
        self._dir = centre_dir
        self._engine: Engine = make_engine(database_url(centre_dir, load_config(centre_dir)))

    def examiners(self, session: str) -> tuple[str, ...]:
        """The examiners of the crews on duty in ``session``, ascending.

        Raises:
            ExamDayError: no such session, or it has no crew.
        """
        with Session(self._engine) as db:
            return tuple(sorted(c.examiner for c in plan_of(db, session).crews))

    def roster(self, session: str, candidates: Sequence[str], examiners: Sequence[str]) -> Roster:
        """The roster of ``session`` over these candidates and examiners, with every tie.

        Raises:
            ExamDayError: no such session, or someone named is not in the database.
        """
        with Session(self._engine) as db:
            return allocation_roster(db, session, candidates, examiners)

    def import_sessions(
        self, origin: str, files: Sequence[tuple[str, bytes]], sessions: Sequence[str]
    ) -> list[SessionPlan]:
        """Import roster ``files`` (kind, CSV) into the serving centre's database — each file
        whole or not at all, as ``examctl admin import`` does — and return the plans of
        ``sessions`` read back, for their ``session.opened``.

        Raises:
            ImportFileError: a file was refused.
            ExamDayError: a session has no bookings or crews.
            PersonalDataError: the centre secret is unusable.
        """
        # BEGIN IMMEDIATE on SQLite: the service writes meanwhile, and a read transaction that
        # later writes would find its snapshot stale and fail instead of waiting its turn.
        with Session(self._engine.execution_options(**{WRITE_LOCK_OPTION: True})) as db:
            secret = centre_secret_for(self._dir, db)
            db.commit()
            context = ImportContext(
                origin=origin, secret=secret, today=dt.datetime.now(dt.UTC).date()
            )
            for kind, data in files:
                import_csv(db, kind, data, context)
            return [plan_of(db, session) for session in sessions]

    def close(self) -> None:
        self._engine.dispose()
