"""An emulated exam-room jammer (research/serial.md §6.2), driven by requests and scenarios."""

from __future__ import annotations

from collections.abc import Mapping

from devices.emulators.modbus_model import (
    DEVICE_SUBJECT,
    EV_STATE,
    Clock,
    ModbusDeviceModel,
    ModbusException,
    int_arg,
)
from devices.errors import DeviceConfigError
from devices.modbus_rtu import ILLEGAL_DATA_VALUE, SERVER_DEVICE_FAILURE
from devices.register_map import (
    CMD_START,
    CMD_STOP,
    JAMMER_ALARMS,
    JAMMER_BAND_ADDR,
    JAMMER_BAND_STRIDE,
    JAMMER_BANDS,
    JAMMER_COMMAND,
    JAMMER_HOLDING_ADDR,
    JAMMER_RTC,
    JAMMER_SETPOINT_ADDR,
    JAMMER_TYPE,
    JAMMER_UNIT,
    STATUS_ADDR,
)

BAND_PLAN = (
    (925, 960),
    (1805, 1880),
    (2110, 2170),
    (2300, 2400),
    (2400, 2483),
    (3300, 3800),
    (4800, 5000),
    (5150, 5850),
)
BAND_ALARM_BITS = {"vswr": (0, 1), "low-power": (1, 2), "over-temperature": (2, 0), "pa": (3, 3)}
"""band alarm name -> (bit in band_alarm, bit in the device alarm bitmap)."""


class JammerModel(ModbusDeviceModel):
    device_type = JAMMER_TYPE
    coil_count = 1 + JAMMER_BANDS
    command_register = JAMMER_COMMAND
    rtc_register = JAMMER_RTC
    holding_addr = JAMMER_HOLDING_ADDR

    def __init__(
        self, clock: Clock, unit: int = JAMMER_UNIT, serial_number: str = "JM000001"
    ) -> None:
        self.rf_enable = False
        self.band_enable = [True] * JAMMER_BANDS
        self.band_alarm = [0] * JAMMER_BANDS
        self.state = 0
        super().__init__(unit, serial_number, clock)
        self.holding.update(
            {
                JAMMER_HOLDING_ADDR + 3: 0,
                JAMMER_HOLDING_ADDR + 4: 750,
                JAMMER_HOLDING_ADDR + 5: 200,
                JAMMER_HOLDING_ADDR + 6: 30,
            }
        )
        self.holding.update({JAMMER_SETPOINT_ADDR + n: 370 for n in range(JAMMER_BANDS)})

    def reset_state(self) -> None:
        self.rf_enable = False
        self.band_alarm = [0] * JAMMER_BANDS
        self.state = 0

    # -- derived values -----------------------------------------------------------------------

    def active_bands(self) -> int:
        if self.state != 1:
            return 0
        bitmap = 0
        for n in range(JAMMER_BANDS):
            if self.band_enable[n] and not self.band_alarm[n]:
                bitmap |= 1 << n
        return bitmap

    def _set_state(self, state: int) -> None:
        if state != self.state:
            self.state = state
            self.emit(EV_STATE, DEVICE_SUBJECT, state)

    def coils(self) -> list[int]:
        return [int(self.rf_enable), *(int(b) for b in self.band_enable)]

    def input_registers(self) -> dict[int, int]:
        table = self.identity_registers()
        status = [
            self.state,
            self.active_bands(),
            self.alarm_latched,
            self.alarm_live,
            420,
            235,
            2400,
            310,
            0xFFFF,
            3200,
            0,
            0,
        ]
        table.update({STATUS_ADDR + i: v for i, v in enumerate(status)})
        active = self.active_bands()
        for n in range(JAMMER_BANDS):
            radiating = active >> n & 1
            status_n = 2 if self.band_alarm[n] else (1 if radiating else 0)
            vswr = 250 if self.band_alarm[n] & 1 else 130
            fwd = self.holding[JAMMER_SETPOINT_ADDR + n] if radiating else 0x8000
            block = [status_n, fwd, 0x8000 if not radiating else 200, vswr, 410, *BAND_PLAN[n]]
            block.append(self.band_alarm[n])
            base = JAMMER_BAND_ADDR + JAMMER_BAND_STRIDE * n
            table.update({base + i: v for i, v in enumerate(block)})
        return table

    def holding_ranges(self) -> Mapping[int, tuple[int, int]]:
        ranges = {
            **super().holding_ranges(),
            JAMMER_HOLDING_ADDR + 3: (0, 36000),
            JAMMER_HOLDING_ADDR + 4: (0, 1500),
            JAMMER_HOLDING_ADDR + 5: (100, 1000),
            JAMMER_HOLDING_ADDR + 6: (0, 200),
        }
        ranges.update({JAMMER_SETPOINT_ADDR + n: (0, 470) for n in range(JAMMER_BANDS)})
        return ranges

    # -- commands -----------------------------------------------------------------------------

    def write_coil(self, address: int, on: bool) -> None:
        if address == 0:
            if on and not any(self.band_enable):
                raise ModbusException(ILLEGAL_DATA_VALUE)
            self.rf_enable = on
            self._set_state(1 if on else 0)
        else:
            self.band_enable[address - 1] = on
        self.emit(EV_STATE, address, int(on))

    def command(self, code: int) -> None:
        if code == CMD_START:
            if not any(self.band_enable):
                raise ModbusException(ILLEGAL_DATA_VALUE)
            self.rf_enable = True
            self._set_state(1)
        elif code == CMD_STOP:
            self.rf_enable = False
            self._set_state(0)
        else:
            super().command(code)

    # -- scripted faults ----------------------------------------------------------------------

    def band_fault(self, band: int, alarm: str) -> None:
        if not 1 <= band <= JAMMER_BANDS or alarm not in BAND_ALARM_BITS:
            raise ModbusException(SERVER_DEVICE_FAILURE)
        band_bit, device_bit = BAND_ALARM_BITS[alarm]
        self.band_alarm[band - 1] |= 1 << band_bit
        self.set_alarm(device_bit, band, 250 if alarm == "vswr" else 0)

    def band_clear(self, band: int, alarm: str) -> None:
        band_bit, device_bit = BAND_ALARM_BITS[alarm]
        self.band_alarm[band - 1] &= ~(1 << band_bit)
        still = any(a >> band_bit & 1 for a in self.band_alarm)
        if not still:
            self.clear_alarm(device_bit, band, 130)

    def act(self, action: str, args: Mapping[str, object]) -> None:
        if action in ("band-alarm", "band-clear"):
            band = int_arg(args, "band")
            alarm = str(args.get("alarm", "vswr"))
            if not 1 <= band <= JAMMER_BANDS or alarm not in BAND_ALARM_BITS:
                raise DeviceConfigError(f"band {band} / alarm {alarm!r} not known")
            (self.band_fault if action == "band-alarm" else self.band_clear)(band, alarm)
        elif action in ("alarm", "clear"):
            name = str(args.get("alarm", ""))
            if name not in JAMMER_ALARMS:
                raise DeviceConfigError(f"unknown jammer alarm {name!r}")
            bit = JAMMER_ALARMS.index(name)
            (self.set_alarm if action == "alarm" else self.clear_alarm)(bit)
        elif action == "start":
            self.command(CMD_START)
        elif action == "stop":
            self.command(CMD_STOP)
        elif action == "band-enable":
            band = int_arg(args, "band")
            if not 1 <= band <= JAMMER_BANDS:
                raise DeviceConfigError(f"band {band} outside 1-{JAMMER_BANDS}")
            self.band_enable[band - 1] = bool(args.get("on", True))
        else:
            super().act(action, args)
