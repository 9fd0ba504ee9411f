"""The device gateway's configuration: which devices to poll, how often, and what each room needs.

Why it exists: the configuration describes devices and rooms, which are the ``devices``
package's own terms, so it is parsed here, strictly, into ``DeviceSpec`` and
``RoomRequirements``; the gateway runner (``api/gateway.py``) only reads the result.  Each room
is named once and lists each device once, among the kind it is (a canary is not a detector, a
jammer not a canary), so the gate never judges a device as what it is not.

Configuration (JSON)::

    {"key": "gateway/room-1",
     "poll_ms": 250, "stale_after_ms": 1000, "offline_after_ms": 10000, "heartbeat_ms": 60000,
     "devices": [{"name": "room-1/jammer", "kind": "jammer", "url": "/dev/serial/by-id/...",
                  "unit": 1, "baud": 19200, "parity": "E"}, ...],
     "rooms": [{"room": "room-1", "jammers": {"room-1/jammer": [1, 2, 3]},
                "detectors": ["room-1/detector"], "canaries": ["room-1/canary"],
                "max_age_ms": 2000}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devices.device_spec import DeviceSpec
from devices.errors import DeviceConfigError
from devices.gate import RoomRequirements
from devices.monitor import MonitorConfig
from devices.reading import CANARY, DETECTOR, JAMMER, VENDOR_JAMMER
from exam_core.errors import CanonicalError, InputFileError
from exam_core.input_file import read_input_file
from exam_core.log.canonical import parse_strict_json

MAX_CONFIG_BYTES = 1 << 20
"""A gateway configuration names a few dozen devices: a megabyte is far beyond any."""


@dataclass(frozen=True)
class GatewayConfig:
    key: str
    devices: tuple[DeviceSpec, ...]
    rooms: tuple[RoomRequirements, ...] = ()
    poll_ms: int = 250
    monitor: MonitorConfig = field(default_factory=MonitorConfig)


def _int(doc: Mapping[str, object], key: str, default: int, low: int, high: int) -> int:
    value = doc.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DeviceConfigError(f"{key} must be an integer within {low}-{high}")
    return value


ROLE_KINDS = {"jammers": (JAMMER, VENDOR_JAMMER), "detectors": (DETECTOR,), "canaries": (CANARY,)}
"""The device kinds each list of a room may name."""


def _room(raw: object, kinds: Mapping[str, str]) -> RoomRequirements:
    """One room: requirements over configured devices, each listed once, as what it is.

    Raises:
        DeviceConfigError: ``raw`` is not an object, names no room, lists an unknown device or one
            device twice, or lists a device in a role its kind cannot fill.
    """
    if not isinstance(raw, dict):
        raise DeviceConfigError("a room must be an object")
    room = raw.get("room")
    if not isinstance(room, str) or not room:
        raise DeviceConfigError("room name missing")
    requirements = RoomRequirements.from_json(room, {k: v for k, v in raw.items() if k != "room"})
    listed = [*requirements.jammers, *requirements.detectors, *requirements.canaries]
    unknown_devices = set(listed) - set(kinds)
    if unknown_devices:
        raise DeviceConfigError(f"{room}: unknown devices {sorted(unknown_devices)}")
    twice = sorted({name for name in listed if listed.count(name) > 1})
    if twice:
        raise DeviceConfigError(f"{room}: devices listed more than once: {twice}")
    roles = {
        "jammers": list(requirements.jammers),
        "detectors": requirements.detectors,
        "canaries": requirements.canaries,
    }
    for role, names in roles.items():
        for name in names:
            if kinds[name] not in ROLE_KINDS[role]:
                raise DeviceConfigError(
                    f"{room}: {name} is a {kinds[name]}, listed among the {role}"
                )
    return requirements


def parse_gateway_config(data: bytes) -> GatewayConfig:
    """Parse the configuration strictly; every mistake is a ``DeviceConfigError``.

    Raises:
        DeviceConfigError: not strict JSON (no floats, no integer beyond ±(2^53−1), no
            duplicate key, bounded nesting), or a field missing, unknown or out of range.
    """
    try:
        doc = parse_strict_json(data)
    except CanonicalError as e:
        raise DeviceConfigError(f"gateway configuration is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise DeviceConfigError("gateway configuration must be an object")
    allowed = {"key", "devices", "rooms", "poll_ms", "stale_after_ms", "offline_after_ms"}
    allowed |= {"heartbeat_ms", "stale_min_failures"}
    unknown = set(doc) - allowed
    if unknown:
        raise DeviceConfigError(f"unknown configuration fields {sorted(unknown)}")
    key = doc.get("key")
    if not isinstance(key, str) or not key:
        raise DeviceConfigError("key (the gateway's key name) is missing")
    raw_devices = doc.get("devices")
    if not isinstance(raw_devices, list) or not raw_devices:
        raise DeviceConfigError("devices must be a non-empty list")
    devices = tuple(DeviceSpec.from_json(d) for d in raw_devices)
    names = [d.name for d in devices]
    if len(set(names)) != len(names):
        raise DeviceConfigError("device names must be unique")
    raw_rooms = doc.get("rooms", [])
    if not isinstance(raw_rooms, list):
        raise DeviceConfigError("rooms must be a list")
    rooms = tuple(_room(r, {d.name: d.kind for d in devices}) for r in raw_rooms)
    room_names = [r.room for r in rooms]
    twice = sorted({name for name in room_names if room_names.count(name) > 1})
    if twice:
        raise DeviceConfigError(f"rooms configured more than once: {twice}")
    try:
        monitor = MonitorConfig(
            stale_after_ms=_int(doc, "stale_after_ms", 1000, 1, 3_600_000),
            stale_min_failures=_int(doc, "stale_min_failures", 2, 1, 1000),
            offline_after_ms=_int(doc, "offline_after_ms", 10_000, 1, 3_600_000),
            heartbeat_ms=_int(doc, "heartbeat_ms", 60_000, 1000, 86_400_000),
        )
    except ValueError as e:
        raise DeviceConfigError(str(e)) from e
    poll_ms = _int(doc, "poll_ms", 250, 10, 60_000)
    return GatewayConfig(key, devices, rooms, poll_ms, monitor)


def load_gateway_config(path: Path) -> GatewayConfig:
    """The configuration in the file ``path`` (a bounded regular file, strict JSON).

    Raises:
        DeviceConfigError: the file cannot be read or does not parse.
    """
    try:
        data = read_input_file(path, limit=MAX_CONFIG_BYTES, what="gateway configuration")
    except InputFileError as e:
        raise DeviceConfigError(str(e)) from e
    return parse_gateway_config(data)
