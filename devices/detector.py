"""Driver of the RF / cheating-device detector (Modbus unit 2, research/serial.md §6.3).

Why it exists: the gate needs the detector armed and quiet, and every detection must reach the
log with the reply bytes that showed it, including those raised and cleared between two polls
(drained from the event FIFO by the shared cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.modbus_driver import ModbusDeviceDriver, status_reading, status_registers
from devices.reading import DETECTOR, Reading
from devices.register_map import (
    DETECTOR_ALARMS,
    DETECTOR_CATEGORIES,
    DETECTOR_CATEGORY_ADDR,
    DETECTOR_CATEGORY_NAMES,
    DETECTOR_CATEGORY_STRIDE,
    DETECTOR_COIL_ARMED,
    DETECTOR_COMMAND,
    DETECTOR_RTC,
    DETECTOR_STATES,
    DETECTOR_TYPE,
    DetectorStatus,
    bit_names,
    decode_detector_status,
    signed16,
)


@dataclass(frozen=True)
class CategoryTelemetry:
    category: int
    current_level: int
    peak_since_ack: int
    hit_count: int
    state: int


def detector_reading(status: DetectorStatus, raw: bytes) -> Reading:
    """The gate's view of one detector status block (pure; the live poll adds counters)."""
    return status_reading(
        DETECTOR,
        status,
        raw,
        alarm_names=DETECTOR_ALARMS,
        state_names=DETECTOR_STATES,
        flags={"detected": bit_names(status.detected_now, DETECTOR_CATEGORY_NAMES)},
    )


def detector_reading_from_frame(raw: bytes) -> Reading:
    """The ``Reading`` a logged detector status reply frame shows.

    Raises:
        FrameError: the bytes are not a status reply (see ``status_registers``).
        ExceptionResponseError: the frame is a Modbus exception reply.
    """
    return detector_reading(decode_detector_status(status_registers(raw)), raw)


class DetectorDriver(ModbusDeviceDriver[DetectorStatus]):
    """Polls and commands one detector."""

    kind = DETECTOR
    device_type = DETECTOR_TYPE
    command_register = DETECTOR_COMMAND
    rtc_register = DETECTOR_RTC
    alarm_names = DETECTOR_ALARMS
    state_names = DETECTOR_STATES

    decode_status = staticmethod(decode_detector_status)
    status_reading = staticmethod(detector_reading)

    def read_categories(self) -> tuple[CategoryTelemetry, ...]:
        blocks = self.read_blocks(
            DETECTOR_CATEGORY_ADDR, DETECTOR_CATEGORIES, DETECTOR_CATEGORY_STRIDE
        )
        return tuple(
            CategoryTelemetry(k, signed16(r[0]), signed16(r[1]), r[2], r[3])
            for k, r in enumerate(blocks)
        )

    def set_armed(self, armed: bool) -> None:
        """Arm or disarm through the coil, read back."""
        self._io()
        self.write_coil_checked(DETECTOR_COIL_ARMED, armed)
