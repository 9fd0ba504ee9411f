"""Alembic migrations of the exam-integrity database; run them with ``exam_core.db.upgrade``."""
