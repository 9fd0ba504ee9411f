"""The approved routes of a 科目三 session that draws its candidates' routes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07

``session_routes`` has one row per approved route of a session imported with several routes
(``exam_core.exam_day.imports``); a session with one route has none, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_routes",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["exam_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "route"),
    )


def downgrade() -> None:
    op.drop_table("session_routes")
