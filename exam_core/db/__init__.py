"""Persistence of the log: SQLAlchemy models, engines and Alembic migrations (DESIGN §8)."""

from exam_core.db.engine import WRITE_LOCK_OPTION, make_engine
from exam_core.db.migrate import upgrade
from exam_core.db.models import APPEND_ONLY_TABLES, Base, LogCheckpoint, LogEntry, LogNode

__all__ = [
    "APPEND_ONLY_TABLES",
    "WRITE_LOCK_OPTION",
    "Base",
    "LogCheckpoint",
    "LogEntry",
    "LogNode",
    "make_engine",
    "upgrade",
]
