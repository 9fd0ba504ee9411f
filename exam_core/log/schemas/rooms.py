"""Event types of rooms and fields: the configuration every gate decision is judged against.

A room's configuration is an entry signed by an administrator (DESIGN §5.4): the devices the
room requires before an exam may start — each jammer with the bands it must radiate, the
cheating-device detectors, the jamming canaries —, how fresh their status must be, and the
gateway key that speaks for them.  The newest ``room.configured`` entry of a room is in force
from its place in the log on, so the audit judges each gate decision, and each exam start,
against the standard that applied at that moment and not only against the decision itself.
The shape mirrors ``devices.gate.RoomRequirements``.
"""

from __future__ import annotations

from exam_core.log.schemas.devices import DEVICE_NAME
from exam_core.log.schemas.fields import Enum, Int, ListOf, Obj
from exam_core.log.schemas.ids import KEY_NAME, PSEUDONYM
from exam_core.log.schemas.types import ADMIN, EventSchema

MAX_DEVICES = 32
BAND = Int(minimum=1, maximum=18)

SCHEMAS = (
    EventSchema(
        type="room.configured",
        roles=frozenset({ADMIN}),
        fields={
            "room": PSEUDONYM,
            "kind": Enum(frozenset({"room", "field"})),
            "gateway": KEY_NAME,
            "jammers": ListOf(
                Obj({"device": DEVICE_NAME, "bands": ListOf(BAND, min_items=1, max_items=18)}),
                max_items=MAX_DEVICES,
            ),
            "detectors": ListOf(DEVICE_NAME, max_items=MAX_DEVICES),
            "canaries": ListOf(DEVICE_NAME, max_items=MAX_DEVICES),
            "max_age_ms": Int(minimum=1, maximum=60_000),
        },
        doc="A room's or field's required devices and jammer bands, in force from here on.",
    ),
)
