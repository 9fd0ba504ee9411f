"""The monitoring centre's warnings: the signals that count, and the actions taken on them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07

``warning_signals`` holds each signal once by its id (a recomputed one replaces its row);
``warning_actions`` holds each acknowledgement or closing by the index of its signed entry in
the monitoring centre's own log (``exam_core.db.warnings``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warning_signals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("centre", sa.String(255), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("examiner", sa.String(255), nullable=True),
        sa.Column("vehicle", sa.String(255), nullable=True),
        sa.Column("entries", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_warning_signals_at", "warning_signals", ["at_ms"])
    op.create_table(
        "warning_actions",
        sa.Column("log_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("warning", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("signals", sa.BigInteger(), nullable=False),
        sa.Column("signals_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("log_index"),
    )
    op.create_index("ix_warning_actions_warning", "warning_actions", ["warning"])


def downgrade() -> None:
    op.drop_index("ix_warning_actions_warning", table_name="warning_actions")
    op.drop_table("warning_actions")
    op.drop_index("ix_warning_signals_at", table_name="warning_signals")
    op.drop_table("warning_signals")
