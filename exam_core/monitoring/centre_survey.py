"""What a mirrored centre is doing now: its live exams and the health of each room's devices.

The dashboard (DESIGN §10) shows, per centre, the exams under way and each room's devices, read
from the mirror's verified copy of the centre's log and nothing else: a centre cannot show the
monitor one picture and its log another.  ``CentreSurvey`` reads the copy forward from where it
last stopped (``advance``), so a poll costs the entries mirrored since the last one.

- an exam is **live** from its ``exam.started`` until an ``exam.ended``, ``exam.scored`` or
  ``exam.stopped`` names it;
- a device belongs to the room whose ``room.configured`` names its signing gateway (else to
  the gateway itself); its health is its newest link state (``device.state``), operating state
  (``device.status``) and the alarms and detections set and not cleared since;
- a room's gate is its newest ``device.gate`` decision.

Every value comes from a centre's entries and is hostile input: it is kept as data here and
escaped by whoever renders it.  Entries that do not parse are skipped (the mirror's findings
report them).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from exam_core.monitoring.mirror_store import MirrorStore
from exam_core.monitoring.placements import PlacementTally

__all__ = ["CentreSurvey", "DeviceHealth", "LiveExam", "RoomHealth", "SurveyView", "decode_event"]

READ_CHUNK = 4096
_ENDS = frozenset({"exam.ended", "exam.scored", "exam.stopped"})
_DEVICE = frozenset({"device.state", "device.status", "device.alarm", "device.detection"})


@dataclass(frozen=True)
class LiveExam:
    """An exam started and not yet ended, scored or stopped."""

    exam: str
    session: str
    started_index: int
    started_ms: int
    examiner_tablet: str


@dataclass
class DeviceHealth:
    """The newest that a device's entries say of it."""

    device: str
    kind: str
    link: str = "UNKNOWN"
    state: str = ""
    alarms: set[str] = field(default_factory=set)
    last_index: int = -1
    last_ms: int = 0


@dataclass
class RoomHealth:
    """A room's devices and its newest gate decision."""

    room: str
    devices: dict[str, DeviceHealth] = field(default_factory=dict)
    gate_allowed: bool | None = None
    gate_reasons: tuple[str, ...] = ()
    gate_index: int | None = None
    gate_ms: int = 0


@dataclass(frozen=True)
class SurveyView:
    """A copy of a survey at one moment, safe to read while the survey moves on."""

    origin: str
    read: int
    live: tuple[LiveExam, ...]
    """By the index of their start."""
    rooms: tuple[RoomHealth, ...]
    """By name."""


def decode_event(data: bytes) -> dict[str, Any] | None:
    """The event of a mirrored entry, or None if its first line is not a JSON object.

    The mirror verified the entry (canonical JSON, signature, schema) before storing it, or
    reported why not; the survey only needs its fields, so it reads the note's one line of
    text with the standard JSON parser rather than the strict one, at a fraction of the cost.
    What it reads is still hostile input: it stays data, escaped where it is shown.
    """
    line, blank, _ = data.partition(b"\n\n")
    if not blank or b"\n" in line:
        return None
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


class CentreSurvey:
    """One centre's live exams and rooms, read forward through its mirrored entries."""

    def __init__(self, origin: str, tally: PlacementTally | None = None) -> None:
        """``tally``, if given, is handed every decoded entry too (the pass-rate picture)."""
        self.origin = origin
        self.tally = tally
        self.read = 0
        """Entries read so far (the next index to read)."""
        self.live: dict[str, LiveExam] = {}
        self.rooms: dict[str, RoomHealth] = {}
        self._gateways: dict[str, str] = {}
        self.last_ms = 0
        """The newest entry time seen (the centre's clock)."""

    def view(self) -> SurveyView:
        """What the survey shows now, copied."""
        rooms = tuple(
            replace(
                room,
                devices={n: replace(d, alarms=set(d.alarms)) for n, d in room.devices.items()},
            )
            for _, room in sorted(self.rooms.items())
        )
        live = tuple(sorted(self.live.values(), key=lambda x: x.started_index))
        return SurveyView(self.origin, self.read, live, rooms)

    def advance(self, store: MirrorStore, upto: int) -> None:
        """Read the mirrored entries from ``self.read`` to ``upto`` (the entries held).

        Raises:
            StoreError: the database cannot be read.
        """
        while self.read < upto:
            chunk = store.entries(self.origin, self.read, min(upto, self.read + READ_CHUNK))
            if not chunk:
                return
            for data in chunk:
                self.observe(self.read, data)
                self.read += 1

    def observe(self, index: int, data: bytes) -> None:
        """Take entry ``index`` (its bytes as mirrored)."""
        event = decode_event(data)
        if event is None:
            return
        if self.tally is not None:
            # An entry the rules refused may lack what the tally reads: the mirror reported it.
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                self.tally.observe(index, event)
        ts = event.get("ts")
        if isinstance(ts, int):
            self.last_ms = max(self.last_ms, ts)
        kind = event.get("type")
        if kind == "exam.started":
            self._started(index, event)
        elif kind in _ENDS:
            self.live.pop(str(event.get("exam")), None)
        elif kind == "room.configured":
            self._gateways[str(event.get("gateway"))] = str(event.get("room"))
            self._room(str(event.get("room")))
        elif kind == "device.gate":
            self._gate(index, event)
        elif kind in _DEVICE:
            self._device(index, event)

    def _room(self, name: str) -> RoomHealth:
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = RoomHealth(name)
        return room

    def _started(self, index: int, event: Mapping[str, Any]) -> None:
        exam = str(event.get("exam"))
        self.live[exam] = LiveExam(
            exam=exam,
            session=str(event.get("session")),
            started_index=index,
            started_ms=int(event.get("ts", 0)),
            examiner_tablet=str(event.get("actor")),
        )

    def _gate(self, index: int, event: Mapping[str, Any]) -> None:
        room = self._room(str(event.get("room")))
        room.gate_allowed = bool(event.get("allowed"))
        reasons = event.get("reasons")
        room.gate_reasons = tuple(str(r) for r in reasons) if isinstance(reasons, list) else ()
        room.gate_index = index
        room.gate_ms = int(event.get("ts", 0))

    def _device(self, index: int, event: Mapping[str, Any]) -> None:
        actor = str(event.get("actor"))
        room = self._room(self._gateways.get(actor, actor))
        name = str(event.get("device"))
        device = room.devices.get(name)
        if device is None:
            device = room.devices[name] = DeviceHealth(name, str(event.get("kind")))
        device.last_index = index
        device.last_ms = int(event.get("ts", 0))
        kind = event.get("type")
        if kind == "device.state":
            device.link = str(event.get("state"))
        elif kind == "device.status":
            device.state = str(event.get("state"))
            device.link = "ONLINE" if device.link == "UNKNOWN" else device.link
        else:
            alarm = f"{event.get('type', '')[7:]}:{event.get('name')}"
            if event.get("action") == "set":
                device.alarms.add(alarm)
            else:
                device.alarms.discard(alarm)
