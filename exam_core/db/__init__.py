"""Persistence of the centre: SQLAlchemy models, engines and Alembic migrations (DESIGN §8)."""

from exam_core.db.engine import WRITE_LOCK_OPTION, make_engine
from exam_core.db.migrate import upgrade
from exam_core.db.models import APPEND_ONLY_TABLES, Base, LogCheckpoint, LogEntry, LogNode
from exam_core.db.tokens import ApiToken

__all__ = [
    "APPEND_ONLY_TABLES",
    "WRITE_LOCK_OPTION",
    "ApiToken",
    "Base",
    "LogCheckpoint",
    "LogEntry",
    "LogNode",
    "make_engine",
    "upgrade",
]
