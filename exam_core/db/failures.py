"""How a database failure reaches the callers of a store: one ``StoreError`` message.

Why it exists: every store (the log's, the monitoring centre's, the mirror's, the warnings')
translates SQLAlchemy's exceptions at its boundary the same way — what it was doing, the
exception's name and its first line, never the statement or its parameters — so the message
is one function's.
"""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from exam_core.errors import StoreError


def store_error(what: str, e: SQLAlchemyError) -> StoreError:
    """The ``StoreError`` that says ``what`` failed because of ``e`` (first line only)."""
    return StoreError(f"{what}: {type(e).__name__}: {str(e).splitlines()[0]}")


__all__ = ["store_error"]
