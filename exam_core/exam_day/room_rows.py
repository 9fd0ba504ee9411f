"""The centre's working copy of each room's configuration in force, kept in the database.

Why it exists: sessions refer to rooms, and the service looks a room's requirements up without
replaying the log; the rows here copy the newest ``room.configured`` entry of each room and
name its index, so that the copy can always be checked against the signed original.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exam_core.db.exam_day import Room, RoomDevice, RoomJammerBand
from exam_core.exam_day.rooms import RoomConfig


def save_room(db: Session, config: RoomConfig, configured_idx: int) -> None:
    """Make ``config``, logged at ``configured_idx``, the room's rows (in the caller's transaction).

    Raises:
        RuntimeError: the rows already copy a later configuration (a caller bug: entries of one
            room are saved in log order).
    """
    room = db.get(Room, config.room)
    if room is not None and room.configured_idx > configured_idx:
        raise RuntimeError(f"room {config.room} already holds configuration {room.configured_idx}")
    db.execute(delete(RoomJammerBand).where(RoomJammerBand.room_id == config.room))
    db.execute(delete(RoomDevice).where(RoomDevice.room_id == config.room))
    if room is None:
        room = Room(id=config.room)
        db.add(room)
    room.kind = config.kind
    room.gateway = config.gateway
    room.max_age_ms = config.max_age_ms
    room.configured_idx = configured_idx
    db.flush()
    kinds = dict.fromkeys(config.jammers, "jammer")
    kinds.update(dict.fromkeys(config.detectors, "detector"))
    kinds.update(dict.fromkeys(config.canaries, "canary"))
    db.add_all(RoomDevice(room_id=config.room, device=d, kind=k) for d, k in sorted(kinds.items()))
    db.flush()
    db.add_all(
        RoomJammerBand(room_id=config.room, device=device, band=band)
        for device, bands in sorted(config.jammers.items())
        for band in sorted(bands)
    )
    db.flush()


def load_room(db: Session, room_id: str) -> tuple[RoomConfig, int] | None:
    """The configuration the rows of ``room_id`` hold and the index of its entry, or None."""
    room = db.get(Room, room_id)
    if room is None:
        return None
    devices = db.scalars(select(RoomDevice).where(RoomDevice.room_id == room_id)).all()
    bands: dict[str, set[int]] = {}
    for row in db.scalars(select(RoomJammerBand).where(RoomJammerBand.room_id == room_id)):
        bands.setdefault(row.device, set()).add(row.band)
    config = RoomConfig(
        room=room.id,
        kind=room.kind,
        gateway=room.gateway,
        jammers={
            d.device: frozenset(bands.get(d.device, ())) for d in devices if d.kind == "jammer"
        },
        detectors=frozenset(d.device for d in devices if d.kind == "detector"),
        canaries=frozenset(d.device for d in devices if d.kind == "canary"),
        max_age_ms=room.max_age_ms,
    )
    return config, room.configured_idx
