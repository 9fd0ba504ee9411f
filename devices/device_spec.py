"""How a configured device is reached: kind, URL, unit and line settings -> a driver.

Why it exists: the command line, the gateway configuration and the benchmark all describe a
device the same way, and should build its driver the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from devices.canary import CanaryDriver
from devices.detector import DetectorDriver
from devices.errors import DeviceConfigError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.reading import CANARY, JAMMER, KINDS, VENDOR_JAMMER, PolledDevice
from devices.register_map import DETECTOR_UNIT, JAMMER_UNIT
from devices.transport import PARITIES, SerialLink
from devices.vendor_jammer_driver import VendorJammerDriver

KIND_CHOICES = KINDS
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
URL_SCHEMES = ("socket", "rfc2217", "hwgrep")
"""The pyserial URL schemes a device may be reached by, besides a port's path.  Others do more
than reach a port: ``spy://…?file=PATH`` truncates PATH to log the traffic into it, even when
the port then fails to open, so a configuration naming one could destroy any file."""


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    kind: str
    url: str
    unit: int | None = None
    baudrate: int = 19200
    parity: str = "E"
    local_echo: bool = False
    response_timeout_ms: int = 500

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise DeviceConfigError(f"bad device name {self.name!r}")
        if self.kind not in KIND_CHOICES:
            raise DeviceConfigError(f"{self.name}: kind must be one of {', '.join(KIND_CHOICES)}")
        if not self.url:
            raise DeviceConfigError(f"{self.name}: url is empty")
        scheme, sep, _ = self.url.partition("://")
        if sep and scheme not in URL_SCHEMES:
            raise DeviceConfigError(
                f"{self.name}: url {self.url[:80]!r}: a port's path or one of "
                f"{', '.join(s + '://' for s in URL_SCHEMES)} is expected"
            )
        if self.unit is not None and not 1 <= self.unit <= 247:
            raise DeviceConfigError(f"{self.name}: unit {self.unit} outside 1-247")
        if self.baudrate not in BAUD_RATES:
            raise DeviceConfigError(f"{self.name}: unsupported baud rate {self.baudrate}")
        if self.parity not in PARITIES:
            raise DeviceConfigError(f"{self.name}: parity must be N, E or O")
        if not 10 <= self.response_timeout_ms <= 10_000:
            raise DeviceConfigError(f"{self.name}: response timeout outside 10-10000 ms")

    @classmethod
    def from_json(cls, raw: object) -> DeviceSpec:
        """From one entry of a configuration file; wrong shapes are ``DeviceConfigError``.

        Raises:
            DeviceConfigError: ``raw`` is not an object, has unknown fields, lacks a required field
                or holds a field of the wrong type.
        """
        if not isinstance(raw, Mapping):
            raise DeviceConfigError("a device must be an object")
        allowed = {"name", "kind", "url", "unit", "baud", "parity", "echo", "timeout_ms"}
        unknown = set(raw) - allowed
        if unknown:
            raise DeviceConfigError(f"unknown device fields {sorted(unknown)}")
        try:
            return cls(
                name=_typed(raw, "name", str),
                kind=_typed(raw, "kind", str),
                url=_typed(raw, "url", str),
                unit=_typed(raw, "unit", int) if "unit" in raw else None,
                baudrate=_typed(raw, "baud", int) if "baud" in raw else 19200,
                parity=_typed(raw, "parity", str) if "parity" in raw else "E",
                local_echo=_typed(raw, "echo", bool) if "echo" in raw else False,
                response_timeout_ms=_typed(raw, "timeout_ms", int) if "timeout_ms" in raw else 500,
            )
        except KeyError as e:
            raise DeviceConfigError(f"device field {e} is missing") from e

    def open_driver(self) -> PolledDevice:
        """The driver for this device; the port opens on the first poll."""
        link = SerialLink(
            self.url, baudrate=self.baudrate, parity=self.parity, local_echo=self.local_echo
        )
        timeout_s = self.response_timeout_ms / 1000
        if self.kind == CANARY:
            return CanaryDriver(link, response_timeout_s=timeout_s)
        if self.kind == VENDOR_JAMMER:
            return VendorJammerDriver(link, report_timeout_s=max(timeout_s, 3.0))
        master = ModbusMaster(link, response_timeout_s=timeout_s)
        if self.kind == JAMMER:
            return JammerDriver(master, self.unit or JAMMER_UNIT)
        return DetectorDriver(master, self.unit or DETECTOR_UNIT)


T = TypeVar("T")


def _typed(raw: Mapping[str, object], key: str, kind: type[T]) -> T:
    value = raw[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DeviceConfigError(f"device field {key!r} must be {kind.__name__}")
    return value
