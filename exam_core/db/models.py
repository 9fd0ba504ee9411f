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
adds triggers that refuse UPDATE and DELETE inside the database itself.

Beside them, ``log_actor_seqs`` says where each actor's entry of each ``seq`` sits, so that a
client resubmitting an entry after a lost answer is told the index it already has rather than
refused (``LogStore.find_entry``).  It is keyed by actor and ``seq``, not by the entry's hash:
an actor's entries join its own end of the index, so a batch touches a page per actor that
signs in it, and the pages of actors that have finished are never read again, whereas a hash
index takes each entry at a random place in a B-tree that grows with the log (a page read and
written per entry once the index outgrows the cache).
"""

from __future__ import annotations

import functools
import hashlib

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, SmallInteger, String
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

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class LogActorSeq(Base):
    """Entry ``idx`` is the entry of ``seq`` by the actor whose name hashes to ``actor_hash``.

    The actor is kept as the 8-byte ``actor_hash`` of its name: a key of fixed size whatever
    the name's length (PostgreSQL refuses index rows of a few kB).  ``idx`` completes the primary
    key, so two actors whose names share a hash never clash: a lookup gets both, and the
    caller compares the entries' bytes.
    """

    __tablename__ = "log_actor_seqs"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 - SQLAlchemy's own attribute

    actor_hash: Mapped[bytes] = mapped_column(LargeBinary(8), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


@functools.lru_cache(maxsize=4096)
def actor_hash(actor: str) -> bytes:
    """The first 8 bytes of SHA-256 of the actor's name (UTF-8): its key in ``log_actor_seqs``.

    Kept for the actors seen last: a centre's devices sign entry after entry."""
    return hashlib.sha256(actor.encode()).digest()[:8]


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


APPEND_ONLY_TABLES = (
    "log_entries",
    "log_nodes",
    "log_checkpoints",
    "log_cosignatures",
    "log_actor_seqs",
)
