"""The register map shared by the drivers and the emulators (research/serial.md §6).

One source of truth for addresses, enums and bit names, so the emulator cannot drift from the
driver.  The decoders here are pure: registers in, typed status out.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.reading import DeviceEvent

JAMMER_UNIT = 1
DETECTOR_UNIT = 2
JAMMER_TYPE = 0x4A01
DETECTOR_TYPE = 0x4401
MAP_VERSION = 0x0100
"""v1.0; drivers refuse another major version."""

# 6.1 identity block (FC04)
IDENTITY_ADDR = 0x0000
IDENTITY_COUNT = 13
COUNTERS_ADDR = 0x0007
"""uptime_s (u32), boot_count, event_seq, config_seq, events_pending: read every cycle."""
COUNTERS_COUNT = 6
# live status (FC04) of both device types
STATUS_ADDR = 0x0010
STATUS_COUNT = 12
# event FIFO head (6.4)
FIFO_ADDR = 0x0080
FIFO_COUNT = 8
FIFO_DEPTH = 64

# jammer (6.2)
JAMMER_COIL_RF = 0x0000
JAMMER_BANDS = 8
JAMMER_BAND_ADDR = 0x0020
JAMMER_BAND_STRIDE = 8
JAMMER_HOLDING_ADDR = 0x0100
JAMMER_SETPOINT_ADDR = 0x0110
JAMMER_COMMAND = 0x0120
JAMMER_RTC = 0x0121
# detector (6.3)
DETECTOR_COIL_ARMED = 0x0000
DETECTOR_CATEGORIES = 10
DETECTOR_CATEGORY_ADDR = 0x0020
DETECTOR_CATEGORY_STRIDE = 4
DETECTOR_HOLDING_ADDR = 0x0100
DETECTOR_RISK_ADDR = 0x0110
DETECTOR_ALARM_ADDR = 0x0120
DETECTOR_COMMAND = 0x0140
DETECTOR_RTC = 0x0141

CMD_START = 1
CMD_STOP = 2
CMD_ACK = 3
CMD_SELF_TEST = 4
CMD_POP_EVENT = 5
CMD_UNLOCK = 0xA5A5
CMD_ARM = 1
CMD_DISARM = 2

UNAVAILABLE_SIGNED = 0x8000
UNAVAILABLE_UNSIGNED = 0xFFFF

JAMMER_STATES = ("standby", "jamming", "fault-shutdown", "self-test", "local")
DETECTOR_STATES = ("disarmed", "scanning", "risk", "alarm", "fault", "self-test")


JAMMER_ALARMS = (
    "over-temperature",
    "high-vswr",
    "low-forward-power",
    "pa-fault",
    "fan-failure",
    "tamper",
    "mains-failure",
    "battery-low",
    "antenna-disconnected",
    "local-config-change",
    "internal-bus-fault",
    "rtc-not-set",
    "auto-off-expired",
)
DETECTOR_CATEGORY_NAMES = (
    "cellular",
    "cellular-5g",
    "wifi-2g4",
    "wifi-5g",
    "bluetooth",
    "dect",
    "vhf-uhf",
    "video-tx",
    "induction-loop",
    "optical-lens",
)
DETECTOR_ALARMS: dict[int, str] = dict(enumerate(f"category-{n}" for n in DETECTOR_CATEGORY_NAMES))
DETECTOR_ALARMS.update({12: "tamper", 13: "mains-failure", 14: "sensor-fault", 15: "local-config"})

EVENT_TYPES = {
    1: "state-change",
    2: "alarm-set",
    3: "alarm-clear",
    4: "detection",
    5: "config-change",
    6: "boot",
    7: "command",
}


def signed16(value: int) -> int:
    """Two's complement of a 16-bit register."""
    return value - 0x10000 if value & 0x8000 else value


def u32(high: int, low: int) -> int:
    return (high << 16) | low


def bit_names(bitmap: int, names: dict[int, str] | tuple[str, ...]) -> frozenset[str]:
    """Names of the set bits; a set bit without a name is ``bit-N`` (never dropped)."""
    table = dict(enumerate(names)) if isinstance(names, tuple) else names
    return frozenset(table.get(i, f"bit-{i}") for i in range(16) if bitmap >> i & 1)


@dataclass(frozen=True)
class Counters:
    """The part of the identity block read every cycle: reboot and event detection."""

    uptime_s: int
    boot_count: int
    event_seq: int
    config_seq: int
    events_pending: int


def decode_counters(regs: tuple[int, ...]) -> Counters:
    if len(regs) != COUNTERS_COUNT:
        raise ValueError("counters block is 6 registers")
    return Counters(u32(regs[0], regs[1]), regs[2], regs[3], regs[4], regs[5])


@dataclass(frozen=True)
class Identity:
    device_type: int
    map_version: int
    fw_version: int
    serial_number: str
    counters: Counters


def decode_identity(regs: tuple[int, ...]) -> Identity:
    if len(regs) != IDENTITY_COUNT:
        raise ValueError("identity block is 13 registers")
    raw = b"".join(r.to_bytes(2, "big") for r in regs[3:7])
    serial = raw.decode("ascii", errors="replace").rstrip("\x00 ")
    return Identity(regs[0], regs[1], regs[2], serial, decode_counters(regs[7:13]))


def decode_event(regs: tuple[int, ...], raw: bytes) -> DeviceEvent:
    """One FIFO record (6.4), exactly as the device stored it, with the reply it came in.

    Raises:
        ValueError: ``regs`` is not the 8 registers of one record (a caller bug).
    """
    if len(regs) != FIFO_COUNT:
        raise ValueError("event record is 8 registers")
    return DeviceEvent(
        regs[0], regs[1], regs[2], regs[3], u32(regs[4], regs[5]), u32(regs[6], regs[7]), raw
    )


@dataclass(frozen=True)
class JammerStatus:
    state: int
    active_bands: int
    alarm_latched: int
    alarm_live: int
    pa_temp_max: int
    ambient_temp: int
    supply_voltage: int
    supply_current: int
    battery_pct: int
    fan_rpm: int
    power_source: int
    auto_off_remaining_s: int


def decode_jammer_status(regs: tuple[int, ...]) -> JammerStatus:
    if len(regs) != STATUS_COUNT:
        raise ValueError("status block is 12 registers")
    return JammerStatus(
        regs[0],
        regs[1],
        regs[2],
        regs[3],
        signed16(regs[4]),
        signed16(regs[5]),
        *regs[6:12],
    )


@dataclass(frozen=True)
class DetectorStatus:
    state: int
    detected_now: int
    alarm_latched: int
    alarm_live: int
    peak_rssi: int
    peak_freq: int
    peak_category: int
    detections_total: int
    scan_cycle_ms: int
    temperature: int
    supply_voltage: int
    last_detection_age_s: int


def decode_detector_status(regs: tuple[int, ...]) -> DetectorStatus:
    if len(regs) != STATUS_COUNT:
        raise ValueError("status block is 12 registers")
    return DetectorStatus(
        regs[0],
        regs[1],
        regs[2],
        regs[3],
        signed16(regs[4]),
        regs[5],
        regs[6],
        regs[7],
        regs[8],
        signed16(regs[9]),
        regs[10],
        regs[11],
    )


def state_name(names: tuple[str, ...], value: int) -> str:
    """The name of a device state code, or ``unknown-<code>`` for one the map does not list
    (one spelling for every device kind, so a log reader can match it)."""
    return names[value] if 0 <= value < len(names) else f"unknown-{value}"
