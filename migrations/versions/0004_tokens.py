"""Bearer tokens of the HTTP service, and the index that finds an entry by its leaf hash.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

``api_tokens`` holds the hash of each token's secret with its role and actor (DESIGN §9); it is
not a log table, so revocation dates a row rather than appending one.  The index on
``log_nodes (hash, level)`` lets the service answer a resubmitted entry with the index it
already has (idempotent writes) without a pass over the log; it adds no row to the log tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary(32), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(512), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("revoked_ms", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_log_nodes_leaf_hash", "log_nodes", ["hash", "level"])


def downgrade() -> None:
    op.drop_index("ix_log_nodes_leaf_hash", table_name="log_nodes")
    op.drop_table("api_tokens")
