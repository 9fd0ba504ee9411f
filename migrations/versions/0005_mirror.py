"""The monitoring centre's mirror: its schedule, verified heads, tiles, entries and findings.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07

Tables of ``exam_core.db.mirror``.  None is a log table of a centre: the mirror's copy grows
by rows, its head and schedule move forward, and nothing is append-only by trigger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _origin_key() -> list[sa.SchemaItem]:
    return [
        sa.Column("origin", sa.String(length=255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["monitored_logs.origin"]),
    ]


def upgrade() -> None:
    op.create_table(
        "mirror_schedule",
        *_origin_key(),
        sa.Column("next_pull_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_contact_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "mirror_heads",
        *_origin_key(),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary(), nullable=True),
        sa.Column("entries_size", sa.BigInteger(), nullable=False),
        sa.Column("key_registry", sa.LargeBinary(), nullable=False),
        sa.Column("cosigned", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("origin"),
    )
    op.create_table(
        "mirror_tiles",
        *_origin_key(),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("n", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "level", "n"),
    )
    op.create_table(
        "mirror_entries",
        *_origin_key(),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "idx"),
    )
    op.create_table(
        "mirror_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("entry_index", sa.BigInteger(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("recorded_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["monitored_logs.origin"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("origin", "fingerprint", name="mirror_finding_once"),
    )


def downgrade() -> None:
    for table in (
        "mirror_findings",
        "mirror_entries",
        "mirror_tiles",
        "mirror_heads",
        "mirror_schedule",
    ):
        op.drop_table(table)
