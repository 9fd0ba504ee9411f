"""The exam gate rule: may an exam start in this room now?  One pure function (DESIGN §5.4).

Why it exists: the decision must be the same whether the gateway makes it live or an auditor
recomputes it from the logged frames, so the rule is coded once, here, and both call it.  It
takes values (the room's requirements and a view of each device: link state, age and the
decoded ``Reading``) and returns the decision with every reason it is refused.  An exam may
start only when every required jammer is jamming with every required band radiating and no
alarm (live or unacknowledged), every detector is armed and quiet, every canary reports jammed,
each of those statuses is from an ONLINE device and at most ``max_age_ms`` old, and no device's
uptime is suspect of a replayed recording (``devices.uptime_rule``, judged by the monitor).

Each refusal names its device and its cause (``Refusal``), so an auditor can tell a frame that
contradicts "allowed" from a device that was down or a status that was too old.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from devices.errors import DeviceConfigError
from devices.monitor import ONLINE, DeviceView
from devices.reading import CANARY, DETECTOR, JAMMER, VENDOR_JAMMER, Reading

DEFAULT_MAX_AGE_MS = 2000
MAX_AGE_LIMIT_MS = 3_600_000
MAX_BAND = 18
"""The highest band (or vendor channel) a room may require."""

NO_STATUS = "no-status"
"""The device has never been read."""
WRONG_KIND = "wrong-kind"
"""The device is of another kind than the room requires it as."""
LINK_DOWN = "link-down"
"""The device's link is not ONLINE."""
TOO_OLD = "too-old"
"""The status is older than the room's freshness bound."""
UPTIME_SUSPECT = "uptime-suspect"
"""The device's uptime does not advance with the time between polls: frozen, too fast or too
slow, as a recorded exchange played back would answer (``devices.uptime_rule``)."""
CONTRADICTS = "contradicts"
"""The status itself shows a condition that forbids the start (off, alarm, detection...)."""


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
            if not bands or not all(1 <= b <= MAX_BAND for b in bands):
                raise DeviceConfigError(
                    f"jammer {name!r}: required bands must be within 1-{MAX_BAND}"
                )
        if self.max_age_ms <= 0:
            raise DeviceConfigError("max_age_ms must be positive")

    @property
    def device_names(self) -> frozenset[str]:
        """Every device the room requires, whatever its kind."""
        return frozenset(self.jammers) | frozenset(self.detectors) | frozenset(self.canaries)

    @classmethod
    def from_json(cls, room: str, doc: object) -> RoomRequirements:
        """From the JSON shape of ``to_json`` (a gateway configuration's room, or the
        ``requires`` of a ``device.gate`` entry), strictly.

        Raises:
            DeviceConfigError: a field missing, unknown or of the wrong type, or requirements
                that ``RoomRequirements`` refuses.
        """
        if not isinstance(doc, Mapping):
            raise DeviceConfigError(f"{room}: requirements must be an object")
        unknown = set(doc) - {"jammers", "detectors", "canaries", "max_age_ms"}
        if unknown:
            raise DeviceConfigError(f"{room}: unknown requirement fields {sorted(unknown)}")
        jammers_raw = doc.get("jammers", {})
        if not isinstance(jammers_raw, Mapping):
            raise DeviceConfigError(f"{room}: jammers must map names to band lists")
        jammers: dict[str, frozenset[int]] = {}
        for name, bands in jammers_raw.items():
            if not isinstance(bands, list) or not all(
                type(b) is int and 1 <= b <= MAX_BAND for b in bands
            ):
                raise DeviceConfigError(f"{room}: bands of {name} must be integers 1-{MAX_BAND}")
            jammers[name] = frozenset(bands)
        max_age = doc.get("max_age_ms", DEFAULT_MAX_AGE_MS)
        if type(max_age) is not int or not 1 <= max_age <= MAX_AGE_LIMIT_MS:
            raise DeviceConfigError(f"max_age_ms must be an integer within 1-{MAX_AGE_LIMIT_MS}")
        return cls(
            room=room,
            jammers=jammers,
            detectors=_names(doc.get("detectors", []), f"{room}: detectors"),
            canaries=_names(doc.get("canaries", []), f"{room}: canaries"),
            max_age_ms=max_age,
        )

    def to_json(self) -> dict[str, object]:
        """The requirements as JSON values (the ``requires`` of a ``device.gate`` entry)."""
        return {
            "jammers": {name: sorted(bands) for name, bands in sorted(self.jammers.items())},
            "detectors": list(self.detectors),
            "canaries": list(self.canaries),
            "max_age_ms": self.max_age_ms,
        }

    def wanted(self) -> list[tuple[str, str]]:
        """(device, the kind it is required as), in the order reasons are listed."""
        wanted = [(n, JAMMER) for n in sorted(self.jammers)]
        wanted += [(n, DETECTOR) for n in self.detectors]
        wanted += [(n, CANARY) for n in self.canaries]
        return wanted


def _names(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeviceConfigError(f"{what} must be a list of device names")
    return tuple(value)


@dataclass(frozen=True)
class Refusal:
    """One reason the gate refuses: the device, the cause (a constant above) and the text."""

    device: str
    cause: str
    detail: str

    def __str__(self) -> str:
        return f"{self.device}: {self.detail}"


@dataclass(frozen=True)
class Citation:
    """The status a decision rests on: the exact reply frame and when it was read."""

    device: str
    raw: bytes
    read_ms: int | None
    """The gateway's monotonic time of the poll that returned ``raw`` (None if unknown)."""


@dataclass(frozen=True)
class GateDecision:
    requirements: RoomRequirements
    refusals: tuple[Refusal, ...]
    evidence: tuple[Citation, ...]

    @property
    def room(self) -> str:
        return self.requirements.room

    @property
    def allowed(self) -> bool:
        return not self.refusals

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every refusal as text (the ``reasons`` of the ``device.gate`` entry)."""
        return tuple(str(r) for r in self.refusals)


def decide_gate(requirements: RoomRequirements, views: Mapping[str, DeviceView]) -> GateDecision:
    """Decide, listing every reason for refusal (none means the exam may start)."""
    refusals: list[Refusal] = []
    evidence: list[Citation] = []
    for name, kind in requirements.wanted():
        view = views.get(name)
        # (1) a status from a device of the right kind
        if view is None or view.reading is None:
            refusals.append(Refusal(name, NO_STATUS, "no status"))
            continue
        reading = view.reading
        evidence.append(Citation(name, reading.raw, view.read_ms))
        if reading.kind != kind and not (kind == JAMMER and reading.kind == VENDOR_JAMMER):
            refusals.append(Refusal(name, WRONG_KIND, f"is a {reading.kind}, required as a {kind}"))
            continue
        # (2) from an ONLINE device, fresh
        if view.link_state != ONLINE:
            refusals.append(Refusal(name, LINK_DOWN, f"link {view.link_state}"))
        if view.age_ms is None or view.age_ms > requirements.max_age_ms:
            # No measured age in the text: a reason must stay the same while the condition
            # lasts, or every decision would look new.
            refusals.append(
                Refusal(name, TOO_OLD, f"status older than {requirements.max_age_ms} ms")
            )
        # (3) a live device, not a recording: its uptime advances with the polls
        if view.uptime_suspect is not None:
            refusals.append(
                Refusal(
                    name,
                    UPTIME_SUSPECT,
                    f"uptime {view.uptime_suspect}, not advancing with the time between polls",
                )
            )
        # (4) showing what the room needs of its kind
        details = _condition(kind, reading, requirements.jammers.get(name, frozenset()))
        refusals.extend(Refusal(name, CONTRADICTS, d) for d in details)
    return GateDecision(requirements, tuple(refusals), tuple(evidence))


def _condition(kind: str, reading: Reading, bands: frozenset[int]) -> list[str]:
    """What in this status forbids the start, for a device required as ``kind``."""
    details: list[str] = []
    state = reading.extra.get("state")
    if kind == JAMMER:
        # (4a) jamming, every required band radiating.  A vendor-protocol jammer names its
        # bands "channel-N" (research/domain.md §5.1).
        label = "channel" if reading.kind == VENDOR_JAMMER else "band"
        if state != "jamming":
            details.append(f"jammer is {state}, not jamming")
        radiating = reading.flags.get("bands", frozenset())
        details += [
            f"band {b} not radiating" for b in sorted(bands) if f"{label}-{b}" not in radiating
        ]
    elif kind == DETECTOR:
        # (4b) armed and quiet
        if state != "scanning":
            details.append(f"detector is {state}, not scanning quietly")
        details += [f"detecting {c}" for c in sorted(reading.flags.get("detected", frozenset()))]
    elif reading.values.get("jammed") != 1:
        # (4c) the canary modem confirms the jamming
        details.append("canary reports operative, not jammed")
    # (4d) no alarm, live or latched and not yet acknowledged
    alarms = sorted(reading.flags.get("alarm", frozenset()))
    latched = sorted(reading.flags.get("latched", frozenset()) - set(alarms))
    details += [f"alarm {a}" for a in alarms]
    details += [f"unacknowledged alarm {a}" for a in latched]
    return details
