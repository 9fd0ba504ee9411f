"""The exam gate: may an exam start in this room now?  A pure function (DESIGN §5.4).

Why it exists: the decision must be the same whether the gateway makes it live or an auditor
recomputes it from the logged statuses, so it takes values (the latest device views and the
room's requirements) and returns the decision with every reason it is refused.  An exam may
start only when every required jammer is jamming with every required band radiating and no
alarm (live or unacknowledged), every detector is armed and quiet, every canary reports jammed,
and each of those statuses is from an ONLINE device and at most ``max_age_ms`` old.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from devices.errors import DeviceConfigError
from devices.monitor import ONLINE, DeviceView
from devices.reading import CANARY, DETECTOR, JAMMER, VENDOR_JAMMER

DEFAULT_MAX_AGE_MS = 2000


@dataclass(frozen=True)
class RoomRequirements:
    """What a room needs before an exam starts; jammers map to their required bands."""

    room: str
    jammers: Mapping[str, frozenset[int]] = field(default_factory=dict)
    detectors: tuple[str, ...] = ()
    canaries: tuple[str, ...] = ()
    max_age_ms: int = DEFAULT_MAX_AGE_MS

    def __post_init__(self) -> None:
        if not (self.jammers or self.detectors or self.canaries):
            raise DeviceConfigError(f"room {self.room!r} requires no device at all")
        for name, bands in self.jammers.items():
            if not bands or not all(1 <= b <= 18 for b in bands):
                raise DeviceConfigError(f"jammer {name!r}: required bands must be within 1-18")
        if self.max_age_ms <= 0:
            raise DeviceConfigError("max_age_ms must be positive")

    @property
    def device_names(self) -> frozenset[str]:
        """Every device the room requires, whatever its kind."""
        return frozenset(self.jammers) | frozenset(self.detectors) | frozenset(self.canaries)


@dataclass(frozen=True)
class GateDecision:
    room: str
    allowed: bool
    reasons: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...]
    """(device name, hex of the status reply the decision rests on)."""


def decide_gate(requirements: RoomRequirements, views: Mapping[str, DeviceView]) -> GateDecision:
    """Decide, listing every reason for refusal (an empty list means the exam may start)."""
    reasons: list[str] = []
    evidence: list[tuple[str, str]] = []
    wanted = [(n, JAMMER) for n in sorted(requirements.jammers)]
    wanted += [(n, DETECTOR) for n in requirements.detectors]
    wanted += [(n, CANARY) for n in requirements.canaries]
    for name, kind in wanted:
        view = views.get(name)
        # (1) a fresh status from an ONLINE device of the right kind
        if view is None or view.reading is None:
            reasons.append(f"{name}: no status")
            continue
        evidence.append((name, view.reading.raw.hex()))
        if view.reading.kind != kind and not (
            kind == JAMMER and view.reading.kind == VENDOR_JAMMER
        ):
            reasons.append(f"{name}: is a {view.reading.kind}, required as a {kind}")
            continue
        if view.link_state != ONLINE:
            reasons.append(f"{name}: link {view.link_state}")
        if view.age_ms is None or view.age_ms > requirements.max_age_ms:
            # No measured age in the text: a reason must stay the same while the condition
            # lasts, or every decision would look new.
            reasons.append(f"{name}: status older than {requirements.max_age_ms} ms")
        reading = view.reading
        state = reading.extra.get("state")
        alarms = sorted(reading.flags.get("alarm", frozenset()))
        latched = sorted(reading.flags.get("latched", frozenset()) - set(alarms))
        if kind == JAMMER:
            # A vendor-protocol jammer names its bands "channel-N" (research/domain.md §5.1).
            label = "channel" if reading.kind == VENDOR_JAMMER else "band"
            # (2) jamming, every required band radiating, no alarm
            if state != "jamming":
                reasons.append(f"{name}: jammer is {state}, not jamming")
            radiating = reading.flags.get("bands", frozenset())
            for band in sorted(requirements.jammers[name]):
                if f"{label}-{band}" not in radiating:
                    reasons.append(f"{name}: band {band} not radiating")
        elif kind == DETECTOR:
            # (3) armed and quiet
            if state != "scanning":
                reasons.append(f"{name}: detector is {state}, not scanning quietly")
            for category in sorted(reading.flags.get("detected", frozenset())):
                reasons.append(f"{name}: detecting {category}")
        elif reading.values.get("jammed") != 1:
            # (4) the canary modem confirms the jamming
            reasons.append(f"{name}: canary reports operative, not jammed")
        reasons.extend(f"{name}: alarm {a}" for a in alarms)
        reasons.extend(f"{name}: unacknowledged alarm {a}" for a in latched)
    return GateDecision(requirements.room, not reasons, tuple(reasons), tuple(evidence))
