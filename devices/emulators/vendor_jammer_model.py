"""An emulated jammer speaking the vendor binary protocol: periodic status reports, RF switches."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from devices.emulators.modbus_slave import Exchange
from devices.errors import DeviceConfigError
from devices.vendor_jammer import (
    ALARMS,
    CHANNELS,
    CMD_GET_RF,
    CMD_SET_RF,
    REPLY,
    STATUS_ERROR,
    STATUS_OK,
    VendorStatus,
    encode_frame,
    encode_status,
    find_frame,
)


class VendorJammer:
    protocol = "vendor"

    def __init__(self, clock: Callable[[], float], *, period_s: float = 1.0) -> None:
        self.clock = clock
        self.period_s = period_s
        self.channels = (1 << CHANNELS) - 1
        self.alarms = 0
        self.acks = 0
        self._buffer = b""
        self._last_report: float | None = None

    def status(self) -> VendorStatus:
        return VendorStatus(0x579DB6A4, 23996, 151, 43, self.channels, self.alarms, 0, 1)

    def feed(self, data: bytes, now: float) -> list[Exchange]:
        self._buffer += data
        out: list[Exchange] = []
        while True:
            frame, used = find_frame(self._buffer)
            self._buffer = self._buffer[used:]
            if frame is None:
                return out
            p = frame.payload
            if frame.command == 0xAA:
                self.acks += 1
                out.append(Exchange(frame.raw, None))
            elif frame.command == CMD_SET_RF and len(p) == 2 and p[0] < CHANNELS and p[1] < 2:
                self.channels = self.channels & ~(1 << p[0]) | (p[1] << p[0])
                out.append(Exchange(frame.raw, encode_frame(CMD_SET_RF | REPLY, bytes([0]))))
            elif frame.command == CMD_GET_RF and len(p) == 1 and p[0] < CHANNELS:
                state = self.channels >> p[0] & 1
                reply = encode_frame(CMD_GET_RF | REPLY, bytes([STATUS_OK, p[0], state]))
                out.append(Exchange(frame.raw, reply))
            else:
                reply = encode_frame(frame.command | REPLY, bytes([STATUS_ERROR]))
                out.append(Exchange(frame.raw, reply))

    def unsolicited(self, now: float) -> bytes:
        if self._last_report is None or now - self._last_report >= self.period_s:
            self._last_report = now
            return encode_status(self.status())
        return b""

    def act(self, action: str, args: Mapping[str, object]) -> None:
        if action in ("alarm", "clear"):
            name = args.get("alarm")
            if name not in ALARMS:
                raise DeviceConfigError(f"unknown vendor alarm {name!r}")
            bit = 1 << ALARMS.index(str(name))
            self.alarms = self.alarms | bit if action == "alarm" else self.alarms & ~bit
        elif action == "stop":
            self.channels = 0
        elif action == "start":
            self.channels = (1 << CHANNELS) - 1
        else:
            raise DeviceConfigError(f"vendor jammer has no action {action!r}")
