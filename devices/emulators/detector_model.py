"""An emulated RF / cheating-device detector (research/serial.md §6.3)."""

from __future__ import annotations

from collections.abc import Mapping

from devices.emulators.modbus_model import (
    DEVICE_SUBJECT,
    EV_DETECTION,
    EV_STATE,
    Clock,
    ModbusDeviceModel,
    ModbusException,
    int_arg,
)
from devices.errors import DeviceConfigError
from devices.modbus_rtu import ILLEGAL_DATA_VALUE
from devices.register_map import (
    CMD_ARM,
    CMD_DISARM,
    DETECTOR_ALARM_ADDR,
    DETECTOR_CATEGORIES,
    DETECTOR_CATEGORY_ADDR,
    DETECTOR_CATEGORY_NAMES,
    DETECTOR_CATEGORY_STRIDE,
    DETECTOR_COMMAND,
    DETECTOR_HOLDING_ADDR,
    DETECTOR_RISK_ADDR,
    DETECTOR_RTC,
    DETECTOR_TYPE,
    DETECTOR_UNIT,
    STATUS_ADDR,
    UNAVAILABLE_SIGNED,
    UNAVAILABLE_UNSIGNED,
)

CATEGORY_FREQ_MHZ = (900, 3500, 2440, 5500, 2402, 1900, 433, 1200, 0, 0)


class DetectorModel(ModbusDeviceModel):
    device_type = DETECTOR_TYPE
    coil_count = 1
    command_register = DETECTOR_COMMAND
    rtc_register = DETECTOR_RTC
    holding_addr = DETECTOR_HOLDING_ADDR

    def __init__(
        self, clock: Clock, unit: int = DETECTOR_UNIT, serial_number: str = "DT000001"
    ) -> None:
        self.armed = True
        self.level = [UNAVAILABLE_SIGNED] * DETECTOR_CATEGORIES
        self.peak = [UNAVAILABLE_SIGNED] * DETECTOR_CATEGORIES
        self.hits = [0] * DETECTOR_CATEGORIES
        self.detections_total = 0
        self.last_detection_at: float | None = None
        super().__init__(unit, serial_number, clock)
        self.holding.update({DETECTOR_HOLDING_ADDR + 3: 10, DETECTOR_HOLDING_ADDR + 4: 2})
        self.holding.update({DETECTOR_RISK_ADDR + k: 0xFD12 for k in range(10)})  # -75.0 dBm
        self.holding.update({DETECTOR_ALARM_ADDR + k: 0xFDA8 for k in range(10)})  # -60.0 dBm

    def reset_state(self) -> None:
        self.armed = True
        self.level = [UNAVAILABLE_SIGNED] * DETECTOR_CATEGORIES

    def detected_now(self) -> int:
        return sum(1 << k for k, v in enumerate(self.level) if v != UNAVAILABLE_SIGNED)

    def state(self) -> int:
        if not self.armed:
            return 0
        if self.alarm_live & 0x3FF:
            return 3
        if self.detected_now():
            return 2
        return 1

    def coils(self) -> list[int]:
        return [int(self.armed)]

    def input_registers(self) -> dict[int, int]:
        table = self.identity_registers()
        detected = self.detected_now()
        peak_k = max(
            (k for k in range(DETECTOR_CATEGORIES) if detected >> k & 1),
            key=lambda k: _signed(self.level[k]),
            default=None,
        )
        age = UNAVAILABLE_UNSIGNED
        if self.last_detection_at is not None:
            age = min(0xFFFE, int(self.clock() - self.last_detection_at))
        status = [
            self.state(),
            detected,
            self.alarm_latched,
            self.alarm_live,
            self.level[peak_k] if peak_k is not None else UNAVAILABLE_SIGNED,
            CATEGORY_FREQ_MHZ[peak_k] if peak_k is not None else 0,
            peak_k if peak_k is not None else UNAVAILABLE_UNSIGNED,
            self.detections_total & 0xFFFF,
            250,
            310,
            1200,
            age,
        ]
        table.update({STATUS_ADDR + i: v for i, v in enumerate(status)})
        for k in range(DETECTOR_CATEGORIES):
            cat_state = 2 if self.alarm_live >> k & 1 else (1 if detected >> k & 1 else 0)
            block = [self.level[k], self.peak[k], self.hits[k] & 0xFFFF, cat_state]
            base = DETECTOR_CATEGORY_ADDR + DETECTOR_CATEGORY_STRIDE * k
            table.update({base + i: v for i, v in enumerate(block)})
        return table

    def holding_ranges(self) -> Mapping[int, tuple[int, int]]:
        ranges = {
            **super().holding_ranges(),
            DETECTOR_HOLDING_ADDR + 3: (0, 3600),
            DETECTOR_HOLDING_ADDR + 4: (1, 20),
        }
        for k in range(DETECTOR_CATEGORIES):
            ranges[DETECTOR_RISK_ADDR + k] = (0, 0xFFFF)
            ranges[DETECTOR_ALARM_ADDR + k] = (0, 0xFFFF)
        return ranges

    def write_holding(self, address: int, value: int) -> None:
        if DETECTOR_ALARM_ADDR <= address < DETECTOR_ALARM_ADDR + DETECTOR_CATEGORIES:
            risk = self.holding[DETECTOR_RISK_ADDR + address - DETECTOR_ALARM_ADDR]
            if _signed(value) < _signed(risk):
                raise ModbusException(ILLEGAL_DATA_VALUE)
        super().write_holding(address, value)

    def write_coil(self, address: int, on: bool) -> None:
        self._arm(on)

    def _arm(self, on: bool) -> None:
        if on != self.armed:
            self.armed = on
            self.emit(EV_STATE, DEVICE_SUBJECT, self.state())

    def command(self, code: int) -> None:
        if code == CMD_ARM:
            self._arm(True)
        elif code == CMD_DISARM:
            self._arm(False)
        else:
            super().command(code)

    def acknowledge(self) -> None:
        """Acknowledge also restarts each category's peak from its current level."""
        super().acknowledge()
        self.peak = list(self.level)

    # -- scripted detections ------------------------------------------------------------------

    def detect(self, category: int, level: int) -> None:
        """A signal of ``level`` (0.1 dBm) in ``category``; ALARM at its alarm threshold."""
        k = category
        self.level[k] = level & 0xFFFF
        if self.peak[k] == UNAVAILABLE_SIGNED or _signed(self.peak[k]) < level:
            self.peak[k] = level & 0xFFFF
        self.hits[k] += 1
        self.detections_total += 1
        self.last_detection_at = self.clock()
        self.emit(EV_DETECTION, k, level)
        if level >= _signed(self.holding[DETECTOR_ALARM_ADDR + k]):
            self.set_alarm(k, k, level)

    def undetect(self, category: int) -> None:
        self.level[category] = UNAVAILABLE_SIGNED
        self.clear_alarm(category, category, 0)

    def act(self, action: str, args: Mapping[str, object]) -> None:
        if action in ("detect", "undetect"):
            name = args.get("category")
            if isinstance(name, str) and name in DETECTOR_CATEGORY_NAMES:
                k = DETECTOR_CATEGORY_NAMES.index(name)
            else:
                k = int_arg(args, "category")
            if not 0 <= k < DETECTOR_CATEGORIES:
                raise DeviceConfigError(f"category {k} outside 0-9")
            if action == "detect":
                self.detect(k, int_arg(args, "level", -500))
            else:
                self.undetect(k)
        elif action == "arm":
            self._arm(True)
        elif action == "disarm":
            self._arm(False)
        elif action == "tamper":
            self.set_alarm(12)
        else:
            super().act(action, args)


def _signed(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value
