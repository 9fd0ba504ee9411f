"""The exam gate, a pure function: every condition of DESIGN §5.4 can refuse on its own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import pytest

from devices.errors import DeviceConfigError
from devices.gate import RoomRequirements, decide_gate
from devices.monitor import ONLINE, STALE, DeviceView
from devices.reading import Reading

ALL_BANDS = frozenset(f"band-{n}" for n in range(1, 9))


def jammer(
    state: str = "jamming", bands: frozenset[str] = ALL_BANDS, **flags: frozenset[str]
) -> Reading:
    return Reading(
        kind="jammer",
        values={"state": 1 if state == "jamming" else 0},
        flags={"alarm": frozenset(), "latched": frozenset(), "bands": bands, **flags},
        raw=b"\x01\x04",
        extra={"state": state},
    )


def detector(state: str = "scanning", **flags: frozenset[str]) -> Reading:
    return Reading(
        kind="detector",
        values={},
        flags={"alarm": frozenset(), "latched": frozenset(), "detected": frozenset(), **flags},
        raw=b"\x02\x04",
        extra={"state": state},
    )


def canary(jammed: bool = True) -> Reading:
    return Reading(kind="canary", values={"jammed": int(jammed)}, flags={}, raw=b"OK")


ROOM = RoomRequirements(
    room="room-1",
    jammers={"j": frozenset({1, 2, 3})},
    detectors=("d",),
    canaries=("c",),
)


def views(**overrides: DeviceView) -> dict[str, DeviceView]:
    base = {
        "j": DeviceView("j", "jammer", ONLINE, 100, jammer()),
        "d": DeviceView("d", "detector", ONLINE, 100, detector()),
        "c": DeviceView("c", "canary", ONLINE, 100, canary()),
    }
    base.update(overrides)
    return base


def test_all_good_allows_start_with_evidence() -> None:
    decision = decide_gate(ROOM, views())
    assert decision.allowed
    assert decision.reasons == ()
    assert {c.device: c.raw.hex() for c in decision.evidence} == {
        "j": "0104",
        "d": "0204",
        "c": "4f4b",
    }


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"j": DeviceView("j", "jammer", ONLINE, 100, jammer(state="standby"))}, "not jamming"),
        (
            {"j": DeviceView("j", "jammer", ONLINE, 100, jammer(bands=ALL_BANDS - {"band-3"}))},
            "j: band 3 not radiating",
        ),
        (
            {"j": DeviceView("j", "jammer", ONLINE, 100, jammer(alarm=frozenset({"high-vswr"})))},
            "j: alarm high-vswr",
        ),
        (
            {"j": DeviceView("j", "jammer", ONLINE, 100, jammer(latched=frozenset({"tamper"})))},
            "unacknowledged alarm tamper",
        ),
        ({"j": DeviceView("j", "jammer", STALE, 100, jammer())}, "j: link STALE"),
        ({"j": DeviceView("j", "jammer", ONLINE, 2001, jammer())}, "j: status older than 2000 ms"),
        ({"d": DeviceView("d", "detector", ONLINE, 100, detector("disarmed"))}, "disarmed"),
        (
            {
                "d": DeviceView(
                    "d", "detector", ONLINE, 100, detector(detected=frozenset({"bluetooth"}))
                )
            },
            "d: detecting bluetooth",
        ),
        ({"c": DeviceView("c", "canary", ONLINE, 100, canary(False))}, "operative"),
        ({"c": DeviceView("c", "canary", ONLINE, None, None)}, "c: no status"),
        ({"c": DeviceView("c", "detector", ONLINE, 100, detector())}, "required as a canary"),
    ],
)
def test_each_condition_refuses(override: dict[str, DeviceView], reason: str) -> None:
    decision = decide_gate(ROOM, views(**override))
    assert not decision.allowed
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_missing_device_and_every_reason_listed() -> None:
    v = views(j=DeviceView("j", "jammer", STALE, 5000, jammer(state="standby", bands=frozenset())))
    del v["c"]
    decision = decide_gate(ROOM, v)
    assert "c: no status" in decision.reasons
    assert len([r for r in decision.reasons if r.startswith("j:")]) == 6


def test_age_limit_is_configurable() -> None:
    room = RoomRequirements(room="r", canaries=("c",), max_age_ms=5000)
    assert decide_gate(room, views(c=DeviceView("c", "canary", ONLINE, 4000, canary()))).allowed


class RequirementOptions(TypedDict, total=False):
    """``RoomRequirements``' fields after the room: well typed, their values out of range."""

    jammers: Mapping[str, frozenset[int]]
    detectors: tuple[str, ...]
    canaries: tuple[str, ...]
    max_age_ms: int


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"jammers": {"j": frozenset()}},
        {"jammers": {"j": frozenset({19})}},
        {"canaries": ("c",), "max_age_ms": 0},
    ],
)
def test_bad_requirements(kwargs: RequirementOptions) -> None:
    with pytest.raises(DeviceConfigError):
        RoomRequirements(room="r", **kwargs)


def test_room_names_every_required_device_once() -> None:
    room = RoomRequirements(
        "r", jammers={"j": frozenset({1})}, detectors=("d",), canaries=("c", "j")
    )
    assert room.device_names == frozenset({"j", "d", "c"})
