"""Witnessing: the cosignatures a centre collects, and the monitoring centre's witness state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

``log_cosignatures`` is append-only like the other log tables (a cosignature, once received, is
evidence); ``monitored_logs`` and ``witness_states`` belong to the monitoring centre, whose
witness state moves forward by compare-and-swap (``exam_core.monitoring.store``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_ONLY = "log_cosignatures"


def upgrade() -> None:
    op.create_table(
        "log_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=255), nullable=False),
        sa.Column("line", sa.LargeBinary(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["size"], ["log_checkpoints.size"]),
        sa.PrimaryKeyConstraint("size", "witness"),
    )
    op.create_table(
        "monitored_logs",
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("vkey", sa.String(length=512), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("added_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "witness_states",
        sa.Column("origin", sa.String(length=255), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("cosigned_at", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size >= 0", name="witness_state_size"),
        sa.CheckConstraint("cosigned_at >= 0", name="witness_state_time"),
        sa.ForeignKeyConstraint(["origin"], ["monitored_logs.origin"]),
        sa.PrimaryKeyConstraint("origin"),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {APPEND_ONLY}_no_{action.lower()} "
                f"BEFORE {action} ON {APPEND_ONLY} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY} is append-only: {action} refused'); END"
            )
    elif dialect == "postgresql":
        # exam_log_refuse_change() is the function 0001 made for the other log tables.
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY}_append_only BEFORE UPDATE OR DELETE ON {APPEND_ONLY} "
            "FOR EACH ROW EXECUTE FUNCTION exam_log_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {APPEND_ONLY}_no_truncate BEFORE TRUNCATE ON {APPEND_ONLY} "
            "FOR EACH STATEMENT EXECUTE FUNCTION exam_log_refuse_change()"
        )
    else:
        raise RuntimeError(f"no append-only triggers for {dialect}; use sqlite or postgresql")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {APPEND_ONLY}_no_delete")
    op.drop_table("witness_states")
    op.drop_table("monitored_logs")
    op.drop_table("log_cosignatures")
