"""Tables of the monitoring centre's mirror (DESIGN §10): its verified copy of each centre's log.

- ``mirror_schedule``: one row per mirrored log, the row a monitor process locks (``SELECT …
  FOR UPDATE SKIP LOCKED``, PostgreSQL) for as long as it pulls that log, so several processes
  share the centres with no coordinator and never pull one log twice at once.  A process that
  dies holding it loses its connection, and the lock with it.  It holds when the log is next
  due and when the centre last answered;
- ``mirror_heads``: per log, how far the copy is verified: ``tree_size``/``root_hash``/
  ``checkpoint`` is the newest checkpoint of the centre whose signature, consistency with the
  one before and tiles were verified (its tiles are in ``mirror_tiles``); ``entries_size``
  entries of it are stored and verified (``mirror_bundles``), and ``key_registry`` is the key
  registry after them.  ``cosigned`` is the newest checkpoint the mirror cosigned, once every
  entry under it was held.  Written in short transactions apart from the schedule's lock;
- ``mirror_tiles``: the Merkle tiles (level ≥ 0) of the verified tree, one row per tile index,
  a partial tile replaced by its longer self as the log grows;
- ``mirror_bundles``: the entries, byte for byte, as the centre's entry bundles hold them: one
  row per bundle of 256 (C2SP tlog-tiles' ``tile/entries/<N>``, length-prefixed entries), the
  last one partial until the log grows past it.  A row an entry would cost a mirror several µs
  an entry to write, as much as the rest of its own work on one; tlog-tiles mirrors keep the
  bundles as served for the same reason;
- ``mirror_findings``: what the mirror found wrong (``exam_core.monitoring.mirror_findings``),
  each once per log and ``fingerprint``, numbered in the order recorded, with its evidence.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exam_core.db.models import Base

ORIGIN_LEN = 255
CODE_LEN = 64
FINGERPRINT_LEN = 128


class MirrorSchedule(Base):
    """When a mirrored log is due, and when its centre last answered; the row pulls lock."""

    __tablename__ = "mirror_schedule"

    origin: Mapped[str] = mapped_column(
        ForeignKey("monitored_logs.origin"), primary_key=True, autoincrement=False
    )
    next_pull_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_contact_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """When the centre last served a checkpoint (when the log was added, before that)."""


class MirrorHead(Base):
    """How far the mirror's copy of one log is verified and held."""

    __tablename__ = "mirror_heads"

    origin: Mapped[str] = mapped_column(
        ForeignKey("monitored_logs.origin"), primary_key=True, autoincrement=False
    )
    tree_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    checkpoint: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The centre's verified checkpoint note at ``tree_size`` (None before the first)."""
    entries_size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    key_registry: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    """The key registry after ``entries_size`` entries (``exam_core.monitoring.mirror_state``)."""
    cosigned: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The newest checkpoint cosigned by the mirror: the centre's note and the mirror's line."""


class MirrorTile(Base):
    """One Merkle tile of a mirrored log's verified tree."""

    __tablename__ = "mirror_tiles"

    origin: Mapped[str] = mapped_column(
        ForeignKey("monitored_logs.origin"), primary_key=True, autoincrement=False
    )
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class MirrorBundle(Base):
    """Entries ``256 n`` … of a mirrored log, as an entry bundle (at most 256, in order)."""

    __tablename__ = "mirror_bundles"

    origin: Mapped[str] = mapped_column(
        ForeignKey("monitored_logs.origin"), primary_key=True, autoincrement=False
    )
    n: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)


class MirrorFinding(Base):
    """One thing the mirror found wrong with a log, with its evidence."""

    __tablename__ = "mirror_findings"
    __table_args__ = (UniqueConstraint("origin", "fingerprint", name="mirror_finding_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(ForeignKey("monitored_logs.origin"), nullable=False)
    code: Mapped[str] = mapped_column(String(CODE_LEN), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    entry_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    evidence: Mapped[str] = mapped_column(Text, nullable=False)
    """Canonical JSON: the entry indexes, or the two checkpoints, that show it."""
    fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT_LEN), nullable=False)
    recorded_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


MIRROR_TABLES = (
    "mirror_schedule",
    "mirror_heads",
    "mirror_tiles",
    "mirror_bundles",
    "mirror_findings",
)
"""The mirror's tables in creation order."""
