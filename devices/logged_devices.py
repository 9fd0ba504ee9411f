"""Each device as a gateway's ``device.*`` entries describe it, at any point in the log.

Why it exists: the audit's gate replay must know, for every device a ``device.gate`` entry
cites, what the gateway had logged about it before the decision — its kind, its link state,
its latest entry, the alarms and detections still standing, and whether its uptime stands
suspect — to check that the decision rests on the device's latest logged status (audit item 7).

A gateway logs every poll's changes with the poll's monotonic time (``mono_ms``), and a new
monitor (a gateway restart) begins with a ``device.state`` entry whose ``previous`` is
``UNKNOWN``; what was logged before that belongs to an earlier run, on a clock that may have
restarted, and is forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.gate import Citation
from devices.monitor import UNKNOWN
from exam_core.log.entry import Entry

CONDITIONS = {"device.alarm": "alarm", "device.detection": "detection"}
"""The entry types that set and clear a standing condition, and what they call it."""


@dataclass
class LoggedDevice:
    """One device of one gateway, as its entries so far (in this run) describe it."""

    kind: str = ""
    link: str = UNKNOWN
    latest_ms: int = -1
    """The largest ``mono_ms`` among its entries in this run (-1: none carried one)."""
    latest_at: tuple[int, str] = (-1, "")
    """(index, type) of the entry with that time."""
    uptime_suspect: str | None = None
    """The verdict of the latest ``device.uptime_suspect`` set, until an entry clears it."""
    standing: dict[str, int] = field(default_factory=dict)
    """Conditions set and not cleared since ("alarm high-vswr"), with the index that set them."""

    def learn(self, index: int, entry: Entry) -> None:
        self.kind = str(entry.event.get("kind", ""))
        if entry.type == "device.state":
            self.link = str(entry.event.get("state", ""))
        mono = entry.event.get("mono_ms")
        if type(mono) is int and mono >= self.latest_ms:
            self.latest_ms, self.latest_at = mono, (index, entry.type)
        if entry.type == "device.uptime_suspect":
            set_ = entry.event.get("action") == "set"
            self.uptime_suspect = str(entry.event.get("verdict")) if set_ else None
        what = CONDITIONS.get(entry.type)
        if what is not None:
            condition = f"{what} {entry.event.get('name')}"
            if entry.event.get("action") == "set":
                self.standing.setdefault(condition, index)
            else:
                self.standing.pop(condition, None)

    def not_latest(self, citation: Citation) -> str | None:
        """Why a cited frame cannot be this device's latest logged status (None if it can).

        The frame must be at least as recent as every entry of the device, and no alarm or
        detection may stand in the log: the monitor logs each one's end with the poll that
        saw it end, so a status without it was read after that entry.
        """
        if citation.read_ms is not None and citation.read_ms < self.latest_ms:
            index, type_ = self.latest_at
            return (
                f"cites a status read at {citation.read_ms} ms, but {type_} at index {index} "
                f"was logged later, at {self.latest_ms} ms"
            )
        if self.standing:
            condition, index = min(self.standing.items(), key=lambda item: item[1])
            return f"{condition} logged at index {index} was not cleared before the decision"
        return None


class LoggedDevices:
    """Every gateway's devices, learnt from ``device.*`` entries in log order (an
    ``EarlierIndex`` for ``exam_core.audit.history.IncrementalIndex``)."""

    def __init__(self) -> None:
        self.by_gateway: dict[str, dict[str, LoggedDevice]] = {}

    def learn(self, index: int, entry: Entry) -> None:
        device = entry.event.get("device")
        if not isinstance(device, str):
            return
        devices = self.by_gateway.setdefault(entry.actor, {})
        if entry.type == "device.state" and entry.event.get("previous") == UNKNOWN:
            devices[device] = LoggedDevice()  # a new monitor: a new run, maybe a new clock
        devices.setdefault(device, LoggedDevice()).learn(index, entry)

    def of(self, gateway: str) -> dict[str, LoggedDevice]:
        """The devices of one gateway (empty if it logged none)."""
        return self.by_gateway.get(gateway, {})
