"""Persistence: SQLAlchemy models, engines and Alembic migrations (DESIGN §8).

The log's append-only tables are in ``models``; the exam day's rooms, people, sessions and
bookings in ``exam_day``; the monitoring centre's watched logs and witness state in
``monitoring``, its mirror's copies in ``mirror`` and its warnings' signals and actions in
``warnings``; the HTTP service's bearer tokens in ``tokens``.  All register on one ``Base``,
which the migrations are checked against.
"""

from exam_core.db.engine import WRITE_LOCK_OPTION, make_engine
from exam_core.db.exam_day import EXAM_DAY_TABLES
from exam_core.db.migrate import upgrade
from exam_core.db.mirror import MIRROR_TABLES
from exam_core.db.models import (
    APPEND_ONLY_TABLES,
    Base,
    LogCheckpoint,
    LogCosignature,
    LogEntry,
    LogNode,
)
from exam_core.db.monitoring import MONITORING_TABLES
from exam_core.db.tokens import ApiToken
from exam_core.db.warnings import WARNING_TABLES

__all__ = [
    "APPEND_ONLY_TABLES",
    "EXAM_DAY_TABLES",
    "MIRROR_TABLES",
    "MONITORING_TABLES",
    "WARNING_TABLES",
    "WRITE_LOCK_OPTION",
    "ApiToken",
    "Base",
    "LogCheckpoint",
    "LogCosignature",
    "LogEntry",
    "LogNode",
    "make_engine",
    "upgrade",
]
