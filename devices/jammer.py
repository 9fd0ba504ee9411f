"""Driver of the exam-room jammer (Modbus unit 1, register map research/serial.md §6.2).

Why it exists: the gate needs to know, with evidence, which bands are radiating and whether
any alarm is on; the operator needs start/stop/acknowledge commands whose effect is read back,
so the log records what the device did rather than what was asked (§5.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.errors import DeviceConfigError, ReadbackError
from devices.modbus_driver import ModbusDeviceDriver, status_reading, status_registers
from devices.reading import JAMMER, Reading
from devices.register_map import (
    CMD_START,
    CMD_STOP,
    JAMMER_ALARMS,
    JAMMER_BAND_ADDR,
    JAMMER_BAND_STRIDE,
    JAMMER_BANDS,
    JAMMER_COIL_RF,
    JAMMER_COMMAND,
    JAMMER_RTC,
    JAMMER_STATES,
    JAMMER_TYPE,
    JammerStatus,
    decode_jammer_status,
    signed16,
)


@dataclass(frozen=True)
class BandTelemetry:
    """Per-band block (§6.2): powers in 0.1 dBm, VSWR ×100, temperature 0.1 °C, MHz."""

    band: int
    status: int
    fwd_power: int
    refl_power: int
    vswr: int
    pa_temp: int
    f_low: int
    f_high: int
    band_alarm: int


def band_names(bitmap: int) -> frozenset[str]:
    return frozenset(f"band-{n + 1}" for n in range(JAMMER_BANDS) if bitmap >> n & 1)


def jammer_reading(status: JammerStatus, raw: bytes) -> Reading:
    """The gate's view of one jammer status block (pure; the live poll adds counters)."""
    return status_reading(
        JAMMER,
        status,
        raw,
        alarm_names=JAMMER_ALARMS,
        state_names=JAMMER_STATES,
        flags={"bands": band_names(status.active_bands)},
    )


def jammer_reading_from_frame(raw: bytes) -> Reading:
    """The ``Reading`` a logged jammer status reply frame shows.

    Raises:
        FrameError: the bytes are not a status reply (see ``status_registers``).
        ExceptionResponseError: the frame is a Modbus exception reply.
    """
    return jammer_reading(decode_jammer_status(status_registers(raw)), raw)


class JammerDriver(ModbusDeviceDriver[JammerStatus]):
    """Polls and commands one exam-room jammer."""

    kind = JAMMER
    device_type = JAMMER_TYPE
    command_register = JAMMER_COMMAND
    rtc_register = JAMMER_RTC
    alarm_names = JAMMER_ALARMS
    state_names = JAMMER_STATES

    decode_status = staticmethod(decode_jammer_status)
    status_reading = staticmethod(jammer_reading)

    def read_bands(self) -> tuple[BandTelemetry, ...]:
        """The 64-register band block (slow loop, §6.5)."""
        blocks = self.read_blocks(JAMMER_BAND_ADDR, JAMMER_BANDS, JAMMER_BAND_STRIDE)
        return tuple(
            BandTelemetry(
                n + 1,
                r[0],
                signed16(r[1]),
                signed16(r[2]),
                r[3],
                signed16(r[4]),
                r[5],
                r[6],
                r[7],
            )
            for n, r in enumerate(blocks)
        )

    # -- commands, each read back -------------------------------------------------------------

    def set_band(self, band: int, on: bool) -> None:
        if not 1 <= band <= JAMMER_BANDS:
            raise DeviceConfigError(f"band {band} outside 1-{JAMMER_BANDS}")
        self._io()
        self.write_coil_checked(JAMMER_COIL_RF + band, on)

    def start(self) -> JammerStatus:
        """Start jamming on the enabled bands; fails unless the device reports jamming.

        Raises:
            ReadbackError: after the command the device does not report the jamming state.
            DeviceError: the command or the status read failed on the link (``LinkError``,
                ``ResponseTimeoutError``, ``FrameError``, ``ExceptionResponseError``).
        """
        self.command(CMD_START)
        status, _ = self.read_status()
        if status.state != 1:
            raise ReadbackError(f"start: device state is {self.state_name(status.state)}")
        return status

    def stop(self) -> JammerStatus:
        self.command(CMD_STOP)
        status, _ = self.read_status()
        if status.state == 1 or status.active_bands:
            raise ReadbackError("stop: device still radiating")
        return status
