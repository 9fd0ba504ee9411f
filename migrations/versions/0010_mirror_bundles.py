"""The mirror keeps a centre's entries as its entry bundles: one row per 256 entries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07

``mirror_entries`` (a row per entry) becomes ``mirror_bundles`` (a row per entry bundle of the
centre's log, ``exam_core.db.mirror``): writing a row an entry cost the mirror as much as the
rest of its own work on it.  The entries already held move over, byte for byte, grouped by
bundle; the downgrade splits them again.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WIDTH = 256
"""Entries of a full bundle (C2SP tlog-tiles)."""


def _origin_key() -> list[sa.SchemaItem]:
    return [
        sa.Column("origin", sa.String(length=255), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["origin"], ["monitored_logs.origin"]),
    ]


def _entries_table() -> sa.Table:
    return sa.table(
        "mirror_entries",
        sa.column("origin", sa.String()),
        sa.column("idx", sa.BigInteger()),
        sa.column("data", sa.LargeBinary()),
    )


def _bundles_table() -> sa.Table:
    return sa.table(
        "mirror_bundles",
        sa.column("origin", sa.String()),
        sa.column("n", sa.BigInteger()),
        sa.column("data", sa.LargeBinary()),
    )


def _bundles_of(conn: sa.Connection, origin: str) -> Iterator[dict[str, object]]:
    """The rows of ``mirror_bundles`` for the entries of ``origin`` held one a row.

    Raises:
        RuntimeError: the entries held are not 0, 1, 2, … (the mirror never wrote a gap).
    """
    entries = _entries_table()
    rows = conn.execute(
        sa.select(entries.c.idx, entries.c.data)
        .where(entries.c.origin == origin)
        .order_by(entries.c.idx)
        .execution_options(yield_per=4096)  # a server-side cursor where there is one
    )
    n, data, expected = 0, bytearray(), 0
    for idx, entry in rows:
        if idx != expected:
            raise RuntimeError(f"the mirror's entries of {origin} skip from {expected} to {idx}")
        if idx // WIDTH != n and data:
            yield {"origin": origin, "n": n, "data": bytes(data)}
            data = bytearray()
        n, expected = idx // WIDTH, idx + 1
        data += len(entry).to_bytes(2, "big") + bytes(entry)
    if data:
        yield {"origin": origin, "n": n, "data": bytes(data)}


def upgrade() -> None:
    op.create_table(
        "mirror_bundles",
        *_origin_key(),
        sa.Column("n", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "n"),
    )
    conn = op.get_bind()
    entries, bundles = _entries_table(), _bundles_table()
    for origin in list(conn.scalars(sa.select(entries.c.origin).distinct())):
        batch: list[dict[str, object]] = []
        for row in _bundles_of(conn, origin):
            batch.append(row)
            if len(batch) >= 64:
                conn.execute(sa.insert(bundles), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(bundles), batch)
    op.drop_table("mirror_entries")


def downgrade() -> None:
    op.create_table(
        "mirror_entries",
        *_origin_key(),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "idx"),
    )
    conn = op.get_bind()
    entries, bundles = _entries_table(), _bundles_table()
    for origin in list(conn.scalars(sa.select(bundles.c.origin).distinct())):
        rows = conn.execute(
            sa.select(bundles.c.n, bundles.c.data)
            .where(bundles.c.origin == origin)
            .order_by(bundles.c.n)
            .execution_options(yield_per=64)
        )
        for n, data in rows:
            held: list[dict[str, object]] = []
            pos = 0
            while pos < len(data):
                length = data[pos] << 8 | data[pos + 1]
                held.append(
                    {
                        "origin": origin,
                        "idx": n * WIDTH + len(held),
                        "data": data[pos + 2 : pos + 2 + length],
                    }
                )
                pos += 2 + length
            if held:
                conn.execute(sa.insert(entries), held)
    op.drop_table("mirror_bundles")
