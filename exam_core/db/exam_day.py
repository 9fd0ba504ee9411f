"""Tables of the exam day: rooms, vehicles, examiners, candidates, sessions, crews and bookings.

These hold what a centre knows about the people and things of its exam days, including the
personal data that must never enter the log (DESIGN §3.1): names, resident ID numbers and
enrolment photos stay here.  Rows name people by the same pseudonymous ids the log uses, and a
candidate row keeps the keyed hash (HMAC-SHA256 under the centre secret) of the ID number, which
is what a check-in entry carries; the enrolment photo is stored sealed with AES-GCM.  A declared
relative of an examiner is kept only as such a keyed hash: matching a candidate needs no more.

Unlike the log tables these rows may change (a room reconfigured, a booking cancelled); what must
not change silently is in the log: ``room.configured`` and ``session.opened`` entries carry the
configuration in force, and the rows here are the centre's working copy of it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exam_core.db.models import Base

ID_LEN = 64
"""Pseudonymous ids (sessions, rooms, examiners, candidates, vehicles, schools)."""
KEY_NAME_LEN = 255
HASH_HEX_LEN = 64
CLASS_LEN = 4
NAME_LEN = 64


class Room(Base):
    """An exam room or field, with the gateway key that speaks for its devices."""

    __tablename__ = "rooms"
    __table_args__ = (CheckConstraint("kind IN ('room', 'field')", name="room_kind"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    gateway: Mapped[str] = mapped_column(String(KEY_NAME_LEN), nullable=False)
    max_age_ms: Mapped[int] = mapped_column(Integer, nullable=False)
    configured_idx: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """Index of the ``room.configured`` entry this row copies."""


class RoomDevice(Base):
    """A device the room requires before an exam may start (DESIGN §5.4)."""

    __tablename__ = "room_devices"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('jammer', 'detector', 'canary', 'vendor-jammer')", name="room_device_kind"
        ),
    )

    room_id: Mapped[str] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)


class RoomJammerBand(Base):
    """A band a jammer of the room must radiate (1–18, research/serial.md §6)."""

    __tablename__ = "room_jammer_bands"
    __table_args__ = (
        ForeignKeyConstraint(
            ["room_id", "device"],
            ["room_devices.room_id", "room_devices.device"],
            ondelete="CASCADE",
        ),
        CheckConstraint("band BETWEEN 1 AND 18", name="room_band_range"),
    )

    room_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    device: Mapped[str] = mapped_column(String(128), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class Vehicle(Base):
    """An exam car and the key name of its in-car unit."""

    __tablename__ = "vehicles"
    __table_args__ = (
        UniqueConstraint("plate", name="vehicle_plate"),
        UniqueConstraint("unit_key", name="vehicle_unit"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), nullable=False)
    licence_class: Mapped[str] = mapped_column(String(CLASS_LEN), nullable=False)
    unit_key: Mapped[str] = mapped_column(String(KEY_NAME_LEN), nullable=False)


class Examiner(Base):
    """An examiner; the id is what the log and the allocation name them by."""

    __tablename__ = "examiners"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), nullable=False)


class ExaminerClass(Base):
    """A licence class the examiner may examine."""

    __tablename__ = "examiner_classes"

    examiner_id: Mapped[str] = mapped_column(
        ForeignKey("examiners.id", ondelete="CASCADE"), primary_key=True
    )
    licence_class: Mapped[str] = mapped_column(String(CLASS_LEN), primary_key=True)


class ExaminerFormerSchool(Base):
    """A driving school the examiner formerly worked for (a conflict of interest, DESIGN §4.2)."""

    __tablename__ = "examiner_former_schools"

    examiner_id: Mapped[str] = mapped_column(
        ForeignKey("examiners.id", ondelete="CASCADE"), primary_key=True
    )
    school_id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)


class ExaminerRelative(Base):
    """A declared relative of the examiner, kept only as the keyed hash of their ID number."""

    __tablename__ = "examiner_relatives"

    examiner_id: Mapped[str] = mapped_column(
        ForeignKey("examiners.id", ondelete="CASCADE"), primary_key=True
    )
    id_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN), primary_key=True)


class Candidate(Base):
    """A candidate: the personal data of check-in, and what the allocation needs to know."""

    __tablename__ = "candidates"
    __table_args__ = (
        UniqueConstraint("id_number", name="candidate_id_number"),
        UniqueConstraint("id_hash", name="candidate_id_hash"),
        CheckConstraint("previous_attempts >= 0", name="candidate_attempts"),
        CheckConstraint(
            "(last_failed_examiner_id IS NULL) = (last_failed_exam IS NULL)",
            name="candidate_last_fail",
        ),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False)
    """The GB 11643-1999 number in its 18-character form (legacy numbers converted)."""
    id_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN), nullable=False)
    """HMAC-SHA256 of ``id_number`` under the centre secret, lowercase hex."""
    name: Mapped[str] = mapped_column(String(NAME_LEN), nullable=False)
    licence_class: Mapped[str] = mapped_column(String(CLASS_LEN), nullable=False)
    school_id: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    previous_attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    last_failed_examiner_id: Mapped[str | None] = mapped_column(
        ForeignKey("examiners.id"), nullable=True
    )
    last_failed_exam: Mapped[str | None] = mapped_column(String(ID_LEN), nullable=True)
    """The exam id of the last failed attempt: the evidence of that conflict of interest."""
    photo: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    """The enrolment photo sealed with AES-GCM (``exam_core.exam_day.secret``)."""


class ExamSession(Base):
    """A session: one subject and licence class, in one room or field, at one time."""

    __tablename__ = "exam_sessions"
    __table_args__ = (
        CheckConstraint("subject IN (2, 3)", name="session_subject"),
        CheckConstraint(
            "seal_from_ms < seal_until_ms AND seal_until_ms <= start_ms", name="session_window"
        ),
        CheckConstraint("face_threshold BETWEEN 0 AND 1000", name="session_face_threshold"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    subject: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    licence_class: Mapped[str] = mapped_column(String(CLASS_LEN), nullable=False)
    room_id: Mapped[str] = mapped_column(ForeignKey("rooms.id"), nullable=False)
    route: Mapped[str] = mapped_column(String(ID_LEN), nullable=False)
    """The course map version (``name/N``) of the field or route."""
    start_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seal_from_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    seal_until_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    face_threshold: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    """Face-match score (per mille) at or above which a check-in passes."""


class SessionRoute(Base):
    """One of the approved routes a 科目三 session draws each candidate's route among (rows only
    when it approves several; a session with one route has none, and its ``route`` is it)."""

    __tablename__ = "session_routes"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    route: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    """A course map version (``name/N``); the session's own ``route`` is among them."""


class SessionCrew(Base):
    """An examiner on duty for a session, with the tablet they carry and the car they examine in."""

    __tablename__ = "session_crews"
    __table_args__ = (
        UniqueConstraint("session_id", "tablet_key", name="crew_tablet"),
        UniqueConstraint("session_id", "vehicle_id", name="crew_vehicle"),
    )

    session_id: Mapped[str] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    examiner_id: Mapped[str] = mapped_column(ForeignKey("examiners.id"), primary_key=True)
    tablet_key: Mapped[str] = mapped_column(String(KEY_NAME_LEN), nullable=False)
    vehicle_id: Mapped[str] = mapped_column(ForeignKey("vehicles.id"), nullable=False)


class Booking(Base):
    """A candidate booked for a session."""

    __tablename__ = "bookings"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("exam_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), primary_key=True)


EXAM_DAY_TABLES = (
    "rooms",
    "room_devices",
    "room_jammer_bands",
    "vehicles",
    "examiners",
    "examiner_classes",
    "examiner_former_schools",
    "examiner_relatives",
    "candidates",
    "exam_sessions",
    "session_crews",
    "bookings",
)
"""The exam-day tables in creation order (parents first)."""
