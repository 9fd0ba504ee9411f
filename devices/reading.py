"""What one poll of one device found, in a shape common to every kind of device.

Why it exists: the monitor, the gate and the command line must not care whether a status came
from a Modbus jammer, a detector or an AT-command canary.  A ``Reading`` keeps the integer
status values, the named conditions that are on, the exact reply bytes as evidence, and the
device's own event records drained since the last poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NewType, Protocol

DeviceName = NewType("DeviceName", str)
"""The configured name of a device, e.g. ``room-3/jammer``."""

JAMMER = "jammer"
DETECTOR = "detector"
CANARY = "canary"
VENDOR_JAMMER = "vendor-jammer"
KINDS = (JAMMER, DETECTOR, CANARY, VENDOR_JAMMER)


MAX_EVENTS_PER_POLL = 16
"""The most device events one poll logs: a Modbus driver drains no more of the FIFO (the rest
waits for the next poll), and the monitor logs no more of what any driver returns (the rest is
counted as lost), so a device flooding reports or records cannot flood the log."""


@dataclass(frozen=True)
class DeviceEvent:
    """One record of the device's event FIFO, with the exact reply frame it came in."""

    event_seq: int
    type: int
    subject: int
    value: int
    rtc_unix_s: int
    uptime_s: int
    raw: bytes


@dataclass(frozen=True)
class Reading:
    """One successful poll.

    ``flags`` names the conditions that are on, per group: ``alarm`` (live), ``latched``,
    ``bands`` (radiating), ``detected`` (categories seen), ``jammed`` (canary).
    """

    kind: str
    values: Mapping[str, int]
    flags: Mapping[str, frozenset[str]]
    raw: bytes
    events: tuple[DeviceEvent, ...] = ()
    rebooted: bool = False
    events_lost: int = 0
    identity: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)


class PolledDevice(Protocol):
    """A driver the monitor can poll; ``poll`` raises a ``DeviceError`` with the cause."""

    kind: str

    def poll(self) -> Reading: ...

    def close(self) -> None: ...
