"""The exam day: rooms, vehicles, examiners, candidates, sessions, crews and bookings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Personal data (names, ID numbers, sealed enrolment photos) lives in these tables and never in
the log (DESIGN §3.1); the log names the same people by the pseudonymous ids kept here.  Every
constraint is named, so that the schema is the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
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


def _id(name: str, **kw: bool) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=64), nullable=kw.get("nullable", False))


def _examiner_child(table: str, column: str, length: int) -> None:
    op.create_table(
        table,
        _id("examiner_id"),
        sa.Column(column, sa.String(length=length), nullable=False),
        sa.ForeignKeyConstraint(["examiner_id"], ["examiners.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("examiner_id", column),
    )


def upgrade() -> None:
    op.create_table(
        "rooms",
        _id("id"),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("gateway", sa.String(length=255), nullable=False),
        sa.Column("max_age_ms", sa.Integer(), nullable=False),
        sa.Column("configured_idx", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('room', 'field')", name="room_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "room_devices",
        _id("room_id"),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "kind IN ('jammer', 'detector', 'canary', 'vendor-jammer')", name="room_device_kind"
        ),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("room_id", "device"),
    )
    op.create_table(
        "room_jammer_bands",
        _id("room_id"),
        sa.Column("device", sa.String(length=128), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("band BETWEEN 1 AND 18", name="room_band_range"),
        sa.ForeignKeyConstraint(
            ["room_id", "device"],
            ["room_devices.room_id", "room_devices.device"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "device", "band"),
    )
    op.create_table(
        "vehicles",
        _id("id"),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("licence_class", sa.String(length=4), nullable=False),
        sa.Column("unit_key", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plate", name="vehicle_plate"),
        sa.UniqueConstraint("unit_key", name="vehicle_unit"),
    )
    op.create_table(
        "examiners",
        _id("id"),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _examiner_child("examiner_classes", "licence_class", 4)
    _examiner_child("examiner_former_schools", "school_id", 64)
    _examiner_child("examiner_relatives", "id_hash", 64)
    op.create_table(
        "candidates",
        _id("id"),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("licence_class", sa.String(length=4), nullable=False),
        _id("school_id"),
        sa.Column("previous_attempts", sa.Integer(), nullable=False),
        _id("last_failed_examiner_id", nullable=True),
        _id("last_failed_exam", nullable=True),
        sa.Column("photo", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "(last_failed_examiner_id IS NULL) = (last_failed_exam IS NULL)",
            name="candidate_last_fail",
        ),
        sa.CheckConstraint("previous_attempts >= 0", name="candidate_attempts"),
        sa.ForeignKeyConstraint(["last_failed_examiner_id"], ["examiners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash", name="candidate_id_hash"),
        sa.UniqueConstraint("id_number", name="candidate_id_number"),
    )
    op.create_table(
        "exam_sessions",
        _id("id"),
        sa.Column("subject", sa.SmallInteger(), nullable=False),
        sa.Column("licence_class", sa.String(length=4), nullable=False),
        _id("room_id"),
        _id("route"),
        sa.Column("start_ms", sa.BigInteger(), nullable=False),
        sa.Column("seal_from_ms", sa.BigInteger(), nullable=False),
        sa.Column("seal_until_ms", sa.BigInteger(), nullable=False),
        sa.Column("face_threshold", sa.SmallInteger(), nullable=False),
        sa.CheckConstraint("face_threshold BETWEEN 0 AND 1000", name="session_face_threshold"),
        sa.CheckConstraint(
            "seal_from_ms < seal_until_ms AND seal_until_ms <= start_ms", name="session_window"
        ),
        sa.CheckConstraint("subject IN (2, 3)", name="session_subject"),
        sa.ForeignKeyConstraint(["room_id"], ["rooms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "session_crews",
        _id("session_id"),
        _id("examiner_id"),
        sa.Column("tablet_key", sa.String(length=255), nullable=False),
        _id("vehicle_id"),
        sa.ForeignKeyConstraint(["examiner_id"], ["examiners.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["exam_sessions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"]),
        sa.PrimaryKeyConstraint("session_id", "examiner_id"),
        sa.UniqueConstraint("session_id", "tablet_key", name="crew_tablet"),
        sa.UniqueConstraint("session_id", "vehicle_id", name="crew_vehicle"),
    )
    op.create_table(
        "bookings",
        _id("session_id"),
        _id("candidate_id"),
        sa.ForeignKeyConstraint(["candidate_id"], ["candidates.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["exam_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "candidate_id"),
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
