"""Event types of the devices domain: what the device gateway signs (DESIGN §5).

Every event names the device (its configured name), its kind and the gateway's monotonic time
of the observation (``mono_ms``; the entry's ``ts`` is wall time), the exam running in the
device's room if any (so an alarm during an exam is recorded against it), and the raw reply
bytes it rests on as lowercase hex, so an auditor can decode the frame again.  Values are
integers in the device's own units (0.1 dBm, 0.1 °C, 0.01 V, seconds).  Only a gateway key may
sign them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exam_core.errors import EntryError
from exam_core.log.schemas.fields import Bool, Enum, FieldSpec, Hex, Int, ListOf, Obj, Str
from exam_core.log.schemas.types import GATEWAY, EventSchema

DEVICE_NAME = Str(max_len=128, pattern=r"[A-Za-z0-9][A-Za-z0-9._/-]*")
KIND = Enum(frozenset({"jammer", "detector", "canary", "vendor-jammer"}))
LINK_STATE = Enum(frozenset({"UNKNOWN", "ONLINE", "STALE", "OFFLINE"}))
RAW = Hex(max_bytes=4096)
U16 = Int(minimum=0, maximum=0xFFFF)
U32 = Int(minimum=0, maximum=0xFFFFFFFF)
ACTION = Enum(frozenset({"set", "clear"}))
CONDITION = Str(max_len=64, pattern=r"[a-z0-9-]+")

_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class IntMap(FieldSpec):
    """An object of integer values under lowercase snake-case names (a device's status block)."""

    max_items: int = 64

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise EntryError("schema", f"{path}: must be an object")
        if len(value) > self.max_items:
            raise EntryError("schema", f"{path}: more than {self.max_items} values")
        for key, item in value.items():
            if not isinstance(key, str) or _KEY.fullmatch(key) is None:
                raise EntryError("schema", f"{path}: bad value name {key!r}")
            Int().check(item, f"{path}.{key}")


@dataclass(frozen=True)
class BandsByJammer(FieldSpec):
    """An object mapping jammer names to the bands (1-18) a room requires of each."""

    max_items: int = 32

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise EntryError("schema", f"{path}: must be an object")
        if len(value) > self.max_items:
            raise EntryError("schema", f"{path}: more than {self.max_items} jammers")
        for name, bands in value.items():
            DEVICE_NAME.check(name, f"{path} key")
            _BANDS.check(bands, f"{path}.{name}")


_BANDS = ListOf(Int(minimum=1, maximum=18), min_items=1, max_items=18)

REQUIREMENTS = Obj(
    {
        "jammers": BandsByJammer(),
        "detectors": ListOf(DEVICE_NAME, max_items=32),
        "canaries": ListOf(DEVICE_NAME, max_items=32),
        "max_age_ms": Int(minimum=1, maximum=3_600_000),
    }
)
"""What a room requires before an exam starts, as the gateway applied it (DESIGN §5.4)."""

CITED_FRAME = Obj(
    {"device": DEVICE_NAME, "raw": RAW, "mono_ms": Int(minimum=0)}, optional=frozenset({"mono_ms"})
)
"""A status frame a gate decision rests on, with the gateway's monotonic time of its poll."""

EXAM_ID = Str(max_len=128, pattern=r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
"""An exam's pseudonymous id: set on device events while that exam runs in the device's room."""


def _device_schema(type_: str, doc: str, **fields: FieldSpec) -> EventSchema:
    common: dict[str, FieldSpec] = {
        "device": DEVICE_NAME,
        "kind": KIND,
        "mono_ms": Int(minimum=0),
        "exam": EXAM_ID,
    }
    common.update(fields)
    return EventSchema(
        type=type_,
        roles=frozenset({GATEWAY}),
        fields=common,
        optional=frozenset({"exam"}),
        doc=doc,
    )


SCHEMAS: tuple[EventSchema, ...] = (
    _device_schema(
        "device.state",
        "A link-state change (research/serial.md §5.4), once per transition, with its cause.",
        state=LINK_STATE,
        previous=LINK_STATE,
        failures=Int(minimum=0),
        silent_ms=Int(minimum=0),
        cause=Str(max_len=512, min_len=0),
        raw=RAW,
    ),
    _device_schema(
        "device.status",
        "The operating state changed, or the heartbeat period passed: the whole status block.",
        state=Str(max_len=32, min_len=0, pattern=r"[a-z0-9-]*"),
        values=IntMap(),
        raw=RAW,
    ),
    _device_schema(
        "device.alarm",
        "A live alarm set or cleared.",
        name=CONDITION,
        action=ACTION,
        raw=RAW,
    ),
    _device_schema(
        "device.detection",
        "A detector category seen (set) or gone (clear).",
        name=CONDITION,
        action=ACTION,
        raw=RAW,
    ),
    _device_schema(
        "device.event",
        "One record of the device's event FIFO as read; event_type 0 counts records lost.",
        event_seq=U16,
        event_type=Int(minimum=0, maximum=255),
        subject=U16,
        value=U16,
        rtc_s=U32,
        uptime_s=U32,
        raw=RAW,
    ),
    _device_schema(
        "device.reboot",
        "The device restarted between two polls (uptime or boot count went back).",
        boot_count=U16,
        uptime_s=U32,
        raw=RAW,
    ),
    _device_schema(
        "device.uptime_suspect",
        "The device's uptime stopped (set) or resumed (clear) advancing with the time between "
        "polls (devices.uptime_rule), judged on the two samples given.",
        action=ACTION,
        verdict=Enum(frozenset({"frozen", "too-fast", "too-slow", "consistent"})),
        uptime_s=U32,
        boot_count=U16,
        previous_uptime_s=U32,
        previous_boot_count=U16,
        elapsed_ms=Int(minimum=0),
        raw=RAW,
    ),
    EventSchema(
        type="device.gate",
        roles=frozenset({GATEWAY}),
        fields={
            "room": DEVICE_NAME,
            "allowed": Bool(),
            "reasons": ListOf(Str(max_len=256), max_items=64),
            "evidence": ListOf(CITED_FRAME, max_items=32),
            "requires": REQUIREMENTS,
            "mono_ms": Int(minimum=0),
            "exam": EXAM_ID,
        },
        optional=frozenset({"exam", "requires"}),
        doc=(
            "A gate decision for a room (DESIGN §5.4), for an exam when one asked to start: "
            "the room's requirements, and every status frame it rests on with its read time."
        ),
    ),
)
