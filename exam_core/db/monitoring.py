"""Tables of the monitoring centre (DESIGN §10): the logs it watches and its witness state.

- ``monitored_logs``: one row per centre's log the monitoring centre knows, by origin, with the
  log's vkey (what its checkpoints must be signed with) and the URL prefix it serves its tiles
  under.  The witness refuses checkpoints of any other origin (tlog-witness: 404).
- ``witness_states``: per origin, the newest checkpoint the witness cosigned — its size, root,
  the timestamp of that cosignature and the note as served to monitors (the log's verified
  signature lines and the witness's own).  A row only ever moves forward along one consistent
  tree: the witness advances it with a compare-and-swap on the size and root it checked the
  request against, in the same transaction that makes the new cosignature durable, before it
  answers (tlog-witness: "checking the old size … and persisting the new checkpoint must be
  performed atomically").
"""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from exam_core.db.models import Base

ORIGIN_LEN = 255
VKEY_LEN = 512
URL_LEN = 2048


class MonitoredLog(Base):
    """A centre's log that the monitoring centre witnesses (and, later, mirrors)."""

    __tablename__ = "monitored_logs"

    origin: Mapped[str] = mapped_column(String(ORIGIN_LEN), primary_key=True)
    vkey: Mapped[str] = mapped_column(String(VKEY_LEN), nullable=False)
    """The log's Ed25519 vkey; its key name is the origin."""
    url: Mapped[str | None] = mapped_column(String(URL_LEN), nullable=True)
    """Where the centre serves its log (tlog-tiles prefix), for the mirror."""
    added_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)


class WitnessState(Base):
    """The newest checkpoint the witness cosigned for one log."""

    __tablename__ = "witness_states"
    __table_args__ = (
        CheckConstraint("size >= 0", name="witness_state_size"),
        CheckConstraint("cosigned_at >= 0", name="witness_state_time"),
    )

    origin: Mapped[str] = mapped_column(
        ForeignKey("monitored_logs.origin"), primary_key=True, autoincrement=False
    )
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    cosigned_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """POSIX seconds of the cosignature; the next one for this log is never dated earlier."""
    checkpoint: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    """The cosigned note: body, the log's verified signature lines, the witness's line."""


MONITORING_TABLES = ("monitored_logs", "witness_states")
"""The monitoring centre's tables in creation order (parents first)."""
