"""Tables of the monitoring centre's warnings (DESIGN §10): the signals and what was done.

- ``warning_signals``: one row per signal (``exam_core.monitoring.signals``), by its id, with
  its centre, source, time, the examiner and car it names, the entry indexes that are its
  evidence (canonical JSON list) and its message.  Recording a signal id again replaces the
  row (a month's statistics recomputed), so a mirror that restarts and sees the same entries
  again adds nothing.
- ``warning_actions``: one row per acknowledgement or closing, by the index of its signed entry
  in the monitoring centre's own log (the entry is the record, this row its copy for listing
  the warnings): it covers the warning's signals recorded up to its time, whose count and
  digest it states.
- ``warning_feed``: per mirrored log, how far the mirror's verified entries and findings were
  handed to the warnings (``entries_fed``, ``finding_after``: the last finding's number) and
  when its statistics last ran; advanced in the transaction that records the signals they gave.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from exam_core.db.models import Base

ID_LEN = 32
NAME_LEN = 255


class WarningSignal(Base):
    """A signal that counts towards a warning."""

    __tablename__ = "warning_signals"
    __table_args__ = (Index("ix_warning_signals_at", "at_ms"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    centre: Mapped[str] = mapped_column(String(NAME_LEN), nullable=False)
    source: Mapped[str] = mapped_column(String(64), nullable=False)
    at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    examiner: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    vehicle: Mapped[str | None] = mapped_column(String(NAME_LEN), nullable=True)
    entries: Mapped[str] = mapped_column(Text, nullable=False)
    """The evidence: a canonical JSON list of entry indexes."""
    message: Mapped[str] = mapped_column(Text, nullable=False)
    key: Mapped[str] = mapped_column(Text, nullable=False)
    recorded_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class WarningActionRow(Base):
    """An acknowledgement or closing of a warning, by its entry in the monitor's own log."""

    __tablename__ = "warning_actions"

    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    warning: Mapped[str] = mapped_column(String(ID_LEN), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(NAME_LEN), nullable=False)
    why: Mapped[str] = mapped_column(Text, nullable=False)
    level: Mapped[str] = mapped_column(String(8), nullable=False)
    points: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """The entry's ``ts``: the action covers the warning's signals recorded up to it."""
    signals: Mapped[int] = mapped_column(BigInteger, nullable=False)
    signals_sha256: Mapped[str] = mapped_column(String(64), nullable=False)


class WarningFeedRow(Base):
    """How far the warnings' intake has read one mirrored log."""

    __tablename__ = "warning_feed"

    origin: Mapped[str] = mapped_column(String(NAME_LEN), primary_key=True)
    entries_fed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    finding_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    statistics_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


WARNING_TABLES = ("warning_signals", "warning_actions", "warning_feed")
"""The warnings' tables in creation order."""
