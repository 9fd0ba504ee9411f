"""Driver of a jammer speaking the vendor binary protocol (``devices.vendor_jammer``).

The device reports its status by itself (command ``0x2A``, every few seconds); the driver takes
the newest report that arrived, acknowledges each one (``0xAA``, status 0) as the protocol asks,
and fails with ``ResponseTimeoutError`` when none came within the report timeout.  Channel
switching is read back with ``0x21`` before it counts as done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, replace

from devices.errors import ReadbackError, ResponseTimeoutError
from devices.reading import VENDOR_JAMMER, DeviceEvent, Reading
from devices.register_map import bit_names
from devices.transport import SerialLink
from devices.vendor_jammer import (
    ALARMS,
    CHANNELS,
    CMD_GET_RF,
    CMD_SET_RF,
    CMD_STATUS,
    STATUS_OK,
    VendorFrame,
    VendorStatus,
    decode_frame,
    decode_status,
    encode_frame,
    find_frame,
    reply_status,
)

ACK = 0xAA


def vendor_reading(status: VendorStatus, raw: bytes) -> Reading:
    """The gate's view of one ``0x2A`` status report (pure; the live poll adds events)."""
    channels = frozenset(f"channel-{n + 1}" for n in range(32) if status.channels >> n & 1)
    return Reading(
        kind=VENDOR_JAMMER,
        values=asdict(status),
        flags={"alarm": bit_names(status.alarms, ALARMS), "bands": channels},
        raw=raw,
        identity=f"{status.device_id:08x}",
        extra={"state": "jamming" if status.channels else "standby"},
    )


def vendor_reading_from_frame(raw: bytes) -> Reading:
    """The ``Reading`` a logged status report frame shows.

    Raises:
        FrameError: not exactly one valid ``0x2A`` frame (``CrcError`` for a bad CRC).
    """
    return vendor_reading(decode_status(decode_frame(raw)), raw)


class VendorJammerDriver:
    """Polls and switches one vendor-protocol jammer; ``clock`` (monotonic seconds) measures
    the report and reply deadlines."""

    kind = VENDOR_JAMMER

    def __init__(
        self,
        link: SerialLink,
        *,
        report_timeout_s: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.link = link
        self._clock = clock
        self.report_timeout_s = report_timeout_s
        self._buffer = b""

    def close(self) -> None:
        self.link.close()
        self._buffer = b""

    def _frames(self, wait_s: float) -> list[VendorFrame]:
        self._buffer += self.link.receive_available(wait_s)
        frames: list[VendorFrame] = []
        while True:
            frame, used = find_frame(self._buffer)
            self._buffer = self._buffer[used:]
            if frame is None:
                return frames
            frames.append(frame)

    def poll(self) -> Reading:
        self.link.open()
        deadline = self._clock() + self.report_timeout_s
        reports: list[VendorFrame] = []
        wait = 0.0
        while not reports:
            reports = [f for f in self._frames(wait) if f.command == CMD_STATUS]
            if self._clock() >= deadline and not reports:
                raise ResponseTimeoutError(
                    f"no status report within {self.report_timeout_s * 1000:.0f} ms"
                )
            wait = 0.05
        statuses = [decode_status(f) for f in reports]
        for _ in reports:
            self.link.send(encode_frame(ACK, bytes([STATUS_OK])), flush_input=False)
        return replace(
            vendor_reading(statuses[-1], reports[-1].raw),
            events=tuple(
                DeviceEvent(0, 1, 0xFFFF, s.channels & 0xFFFF, 0, 0, f.raw)
                for s, f in zip(statuses[:-1], reports[:-1], strict=True)
            ),
        )

    def _command(self, command: int, payload: bytes) -> bytes:
        self.link.send(encode_frame(command, payload), flush_input=False)
        deadline = self._clock() + self.report_timeout_s
        while self._clock() < deadline:
            for frame in self._frames(0.05):
                if frame.command & 0x7F == command:
                    return reply_status(frame, command)
        raise ResponseTimeoutError(f"no reply to command {command:#04x}")

    def set_channel(self, channel: int, on: bool) -> None:
        """Switch one channel (1-18), then read it back.

        Raises:
            ValueError: ``channel`` is outside 1-18 (a caller bug).
            ReadbackError: the channel read back is not what was written.
        """
        if not 1 <= channel <= CHANNELS:
            raise ValueError(f"channel {channel} outside 1-{CHANNELS}")
        self._command(CMD_SET_RF, bytes([channel - 1, int(on)]))
        back = self._command(CMD_GET_RF, bytes([channel - 1]))
        if back != bytes([channel - 1, int(on)]):
            raise ReadbackError(f"channel {channel}: wrote {int(on)}, read back {back.hex()}")
