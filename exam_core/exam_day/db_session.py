"""A database session on the exam-day tables of an open centre.

The exam-day tables share the centre's database with the log; faces (the command line, the
HTTP service) ask for a session here rather than importing SQLAlchemy themselves, so that the
persistence stays in ``exam_core``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from exam_core.centre.centre import Centre


@contextmanager
def exam_day_session(centre: Centre, *, transaction: bool = False) -> Iterator[Session]:
    """A session on ``centre``'s database; with ``transaction``, one that commits on success
    and rolls back on any exception."""
    with Session(centre.store.engine) as db:
        if transaction:
            with db.begin():
                yield db
        else:
            yield db
