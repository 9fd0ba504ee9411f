"""Find a resubmitted entry by its actor and seq, not by a hash index over every tree node.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07

0004 indexed ``log_nodes (hash, level)`` so that the service could answer a resubmitted entry
with the index it already has.  That index took two random-order 32-byte keys an entry (every
node, though only leaves were looked up), in a B-tree that grows with the log: once it outgrew
SQLite's page cache, each entry read and wrote a page of it, and ingest slowed as the log grew
(the inserts and commit of 256-entry batches: 16 CPU-µs an entry at 20,000 entries, 32 at
80,000, 43 at 330,000; 9 without the index).  ``log_actor_seqs`` keys each entry
by its actor and ``seq`` instead — what the registry already checks, and unique in a valid log
— so an actor's entries join its own end of the index.  It is filled here from the entries
already logged, and is append-only like the log's tables.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from exam_core.db.models import actor_hash
from exam_core.errors import EntryError
from exam_core.log.entry import parse_entry

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLE = "log_actor_seqs"
CHUNK = 4096


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("actor_hash", sa.LargeBinary(8), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("actor_hash", "seq", "idx"),
        sqlite_with_rowid=False,
    )
    _fill()
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {action} refused'); END"
            )
    else:  # postgresql: 0001 made the function and refuses other dialects
        op.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION exam_log_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
            "FOR EACH STATEMENT EXECUTE FUNCTION exam_log_refuse_change()"
        )
    op.drop_index("ix_log_nodes_leaf_hash", table_name="log_nodes")


def _fill() -> None:
    """One row for each logged entry, read in chunks (a log of millions is never held whole).

    An entry that does not parse gets none: the log holds no such entry unless its database
    was altered (which the audit reports), and a resubmission that does not parse is not
    looked up.  A ``seq`` that is not a non-negative 64-bit integer is kept as -1, as the
    store does (``exam_core.centre.store``).
    """
    connection = op.get_bind()
    insert = sa.text("INSERT INTO log_actor_seqs (actor_hash, seq, idx) VALUES (:a, :s, :i)")
    start = 0
    while True:
        rows = connection.execute(
            sa.text("SELECT idx, data FROM log_entries WHERE idx >= :start ORDER BY idx LIMIT :n"),
            {"start": start, "n": CHUNK},
        ).all()
        if not rows:
            return
        values = []
        for idx, data in rows:
            try:
                event = parse_entry(bytes(data)).event
            except EntryError:
                continue
            seq = event.get("seq")
            if type(seq) is not int or not 0 <= seq < 2**63:
                seq = -1
            values.append({"a": actor_hash(event["actor"]), "s": seq, "i": int(idx)})
        if values:
            connection.execute(insert, values)
        start = int(rows[-1][0]) + 1


def downgrade() -> None:
    op.create_index("ix_log_nodes_leaf_hash", "log_nodes", ["hash", "level"])
    op.drop_table(TABLE)  # its triggers go with it, on both databases
