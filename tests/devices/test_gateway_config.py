"""The gateway configuration is refused, with a clear error, when a room could not be judged
as written: a device listed as what it is not, a device listed twice, a room named twice."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from devices.errors import DeviceConfigError
from devices.gateway_config import parse_gateway_config

DEVICES = [
    {"name": "r/jammer", "kind": "jammer", "url": "socket://127.0.0.1:1"},
    {"name": "r/vendor", "kind": "vendor-jammer", "url": "socket://127.0.0.1:2"},
    {"name": "r/detector", "kind": "detector", "url": "socket://127.0.0.1:3"},
    {"name": "r/canary", "kind": "canary", "url": "socket://127.0.0.1:4"},
]
GOOD_ROOM = {
    "room": "r",
    "jammers": {"r/jammer": [1, 2], "r/vendor": [18]},
    "detectors": ["r/detector"],
    "canaries": ["r/canary"],
}


def _config(*rooms: Mapping[str, object]) -> bytes:
    return json.dumps({"key": "gateway/g", "devices": DEVICES, "rooms": list(rooms)}).encode()


def test_a_room_of_every_kind_is_accepted() -> None:
    (room,) = parse_gateway_config(_config(GOOD_ROOM)).rooms
    assert room.device_names == {"r/jammer", "r/vendor", "r/detector", "r/canary"}


@pytest.mark.parametrize(
    ("room", "message"),
    [
        (
            {"room": "r", "detectors": ["r/canary"]},
            "r: r/canary is a canary, listed among the detectors",
        ),
        (
            {"room": "r", "canaries": ["r/jammer"]},
            "r: r/jammer is a jammer, listed among the canaries",
        ),
        (
            {"room": "r", "jammers": {"r/detector": [1]}},
            "r: r/detector is a detector, listed among the jammers",
        ),
        (
            {"room": "r", "canaries": ["r/canary", "r/canary"]},
            "r: devices listed more than once: ['r/canary']",
        ),
        (
            {"room": "r", "jammers": {"r/jammer": [1]}, "canaries": ["r/canary", "r/jammer"]},
            "r: devices listed more than once: ['r/jammer']",
        ),
    ],
    ids=["canary-as-detector", "jammer-as-canary", "detector-as-jammer", "twice", "two-roles"],
)
def test_a_device_listed_as_what_it_is_not_or_twice_is_refused(
    room: dict[str, object], message: str
) -> None:
    with pytest.raises(DeviceConfigError) as caught:
        parse_gateway_config(_config(room))
    assert str(caught.value) == message


def test_a_room_configured_twice_is_refused() -> None:
    other = {"room": "r", "canaries": ["r/canary"]}
    with pytest.raises(DeviceConfigError, match=r"rooms configured more than once: \['r'\]"):
        parse_gateway_config(_config(GOOD_ROOM, other))
