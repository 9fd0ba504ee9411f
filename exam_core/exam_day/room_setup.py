"""The administrator's path to a room: its configuration checked, signed, then copied.

Why it exists: ``examctl admin room`` and the demo centre's setup both configure rooms on an
open centre, which may run without the exam day's guard; both come here, so that neither signs
a configuration whose gateway the service's exam day would refuse (``rooms.check_room_gateway``,
against the centre's registry as it stands) and both copy it into the room tables the same way.
"""

from __future__ import annotations

from exam_core.centre.centre import Centre
from exam_core.exam_day.db_session import exam_day_session
from exam_core.exam_day.room_rows import save_room
from exam_core.exam_day.rooms import (
    ROOM_CONFIGURED,
    RoomConfig,
    check_room_gateway,
    room_configured_fields,
)


def configure_room(centre: Centre, config: RoomConfig) -> int:
    """Sign ``config`` into the log as the administrator, then make it the room's rows; the
    index of its ``room.configured`` entry.

    Raises:
        ExamDayError: (``room_gateway``) the gateway is not a registered, unrevoked gateway key.
        ExamCoreError: the entry is refused, or the rows cannot be written.
    """
    check_room_gateway(config.gateway, centre.sequencer.registry_view.registry.keys)
    index = centre.append(centre.admin(), ROOM_CONFIGURED, room_configured_fields(config))
    # The entry first: a room the centre uses is always one whose configuration is signed.
    with exam_day_session(centre, transaction=True) as db:
        save_room(db, config, index)
    return index


__all__ = ["configure_room"]
