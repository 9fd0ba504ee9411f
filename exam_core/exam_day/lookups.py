"""Looking up many keys at once, in bounded chunks: what an import checks against the database.

Why it exists: a file of a hundred thousand rows is checked against the database without one
query per row and without one ``IN`` list longer than the drivers accept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

QUERY_CHUNK = 500


def _chunks(keys: Iterable[Any]) -> Iterable[list[Any]]:
    wanted = list(dict.fromkeys(keys))
    for i in range(0, len(wanted), QUERY_CHUNK):
        yield wanted[i : i + QUERY_CHUNK]


def existing(db: Session, column: InstrumentedAttribute[Any], keys: Iterable[object]) -> set[Any]:
    """Which of ``keys`` are values of ``column`` in the database."""
    found: set[Any] = set()
    for chunk in _chunks(keys):
        found.update(db.scalars(select(column).where(column.in_(chunk))))
    return found


def rows_by(
    db: Session, column: InstrumentedAttribute[Any], keys: Iterable[object]
) -> dict[Any, Any]:
    """The rows whose ``column`` is one of ``keys``, by that value."""
    entity = column.class_
    found: dict[Any, Any] = {}
    for chunk in _chunks(keys):
        rows = db.scalars(select(entity).where(column.in_(chunk)))
        found.update((getattr(row, column.key), row) for row in rows)
    return found


def existing_pairs(
    db: Session,
    columns: tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]],
    keys: Iterable[tuple[object, object]],
) -> set[tuple[Any, Any]]:
    """Which of the ``keys`` pairs are values of the two ``columns`` in one row."""
    pair: ColumnElement[Any] = tuple_(*columns)
    found: set[tuple[Any, Any]] = set()
    for chunk in _chunks(keys):
        found.update((a, b) for a, b in db.execute(select(*columns).where(pair.in_(chunk))))
    return found
