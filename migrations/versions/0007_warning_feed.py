"""Where the warnings' intake stands in each mirrored log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07

``warning_feed`` has one row per mirrored log: how many of its verified entries were handed to
the warnings, the number of the last mirror finding handed over, and when its statistics last
ran (``exam_core.db.warnings``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warning_feed",
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("entries_fed", sa.BigInteger(), nullable=False),
        sa.Column("finding_after", sa.BigInteger(), nullable=False),
        sa.Column("statistics_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("origin"),
    )


def downgrade() -> None:
    op.drop_table("warning_feed")
