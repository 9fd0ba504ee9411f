"""Tables of the signed log (DESIGN §3.3, §8).

The log is three append-only tables:

- ``log_entries``: entry ``idx`` → the exact entry bytes (the Merkle leaf input);
- ``log_nodes``: the hash of every complete, aligned subtree, as (``level``, ``idx``) → hash,
  where level 0 holds the leaf hashes.  The tree state is these stored hashes: the root of any
  size and any proof read O(log n) of them, and the tlog-tiles at level L are rows of level
  8·L — nothing is recomputed from all leaves;
- ``log_checkpoints``: tree ``size`` → the checkpoint note signed by the log key;
- ``log_cosignatures``: (``size``, witness key name) → the witness's ``cosignature/v1`` line on
  that checkpoint, as the witness returned it (DESIGN §3.4).  A checkpoint is signed once, when
  it is published; witnesses cosign it later, and a cosignature, once received, is evidence
  that is never replaced.

Primary keys make a second row for an index, a node or a size impossible, and the migration
adds triggers that refuse UPDATE and DELETE inside the database itself.  An index on the leaf
hashes finds an entry by its bytes, so that a client resubmitting an entry after a lost answer is
told the index it already has rather than refused (``LogStore.find_entry``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the log tables."""


class LogEntry(Base):
    """One sequenced entry."""

    __tablename__ = "log_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LogNode(Base):
    """The RFC 6962 hash of the complete subtree of 2**level leaves starting at idx·2**level."""

    __tablename__ = "log_nodes"
    __table_args__ = (Index("ix_log_nodes_leaf_hash", "hash", "level"),)

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LogCheckpoint(Base):
    """A checkpoint published for one tree size, with the time it was signed."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    published_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LogCosignature(Base):
    """A witness's cosignature line on the checkpoint of one tree size."""

    __tablename__ = "log_cosignatures"

    size: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("log_checkpoints.size"), primary_key=True, autoincrement=False
    )
    witness: Mapped[str] = mapped_column(String(255), primary_key=True)
    """The witness's key name, as in the centre's policy."""
    line: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    """``— <name> <base64(key ID ‖ timestamp ‖ signature)>\\n``, verified before it was stored."""
    received_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


APPEND_ONLY_TABLES = ("log_entries", "log_nodes", "log_checkpoints", "log_cosignatures")
