"""The behaviour common to the emulated Modbus devices: identity, counters, FIFO, tables.

Why it exists: the jammer and detector emulators must follow research/serial.md §6 exactly as
the drivers expect it (identity block, wrapping event counter, 64-record FIFO with pop, latched
and live alarms, reboot), and exception codes for every out-of-map or out-of-range request.
Subclasses add their status registers, coils, holding registers and scripted actions; the link
settings (unit id, baud, parity, changed only when unlocked), the clock, acknowledge and self-test
are common.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping

from devices.errors import DeviceConfigError
from devices.modbus_rtu import (
    COIL_OFF,
    COIL_ON,
    ILLEGAL_DATA_ADDRESS,
    ILLEGAL_DATA_VALUE,
    ILLEGAL_FUNCTION,
    MAX_READ_BITS,
    MAX_READ_REGISTERS,
    READ_COILS,
    READ_DISCRETE_INPUTS,
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    SERVER_DEVICE_BUSY,
    SUPPORTED_FUNCTIONS,
    WRITE_MULTIPLE_REGISTERS,
    WRITE_SINGLE_COIL,
    WRITE_SINGLE_REGISTER,
    Request,
    encode_exception,
    encode_read_reply,
    encode_write_reply,
)
from devices.register_map import (
    CMD_ACK,
    CMD_POP_EVENT,
    CMD_SELF_TEST,
    CMD_UNLOCK,
    FIFO_ADDR,
    FIFO_COUNT,
    FIFO_DEPTH,
    MAP_VERSION,
)

Clock = Callable[[], float]

EV_STATE = 1
EV_ALARM_SET = 2
EV_ALARM_CLEAR = 3
EV_DETECTION = 4
EV_CONFIG = 5
EV_BOOT = 6
EV_COMMAND = 7
DEVICE_SUBJECT = 0xFFFF


class ModbusException(Exception):  # noqa: N818 - a reply the device sends, not a failure of ours
    """Raised inside a model to answer with a Modbus exception code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exception {code:#04x}")
        self.code = code


class ModbusDeviceModel:
    """Emulated register tables and state of one Modbus unit."""

    device_type = 0
    fw_version = 0x0102
    coil_count = 0
    command_register = 0
    rtc_register = 0
    holding_addr = 0
    """First holding register: unit id, baud code, parity code, then the device's own."""

    def __init__(self, unit: int, serial_number: str, clock: Clock) -> None:
        self.unit = unit
        self.serial_number = serial_number[:8].ljust(8)
        self.clock = clock
        self.boot_count = 1
        self._booted_at = clock()
        self._uptime_rate: tuple[float, float, int] | None = None
        """A faulty uptime counter: (uptime then, clock then, rate in percent), or None."""
        self.event_seq = 0
        self.config_seq = 0
        self.fifo: deque[tuple[int, ...]] = deque(maxlen=FIFO_DEPTH)
        self.alarm_latched = 0
        self.alarm_live = 0
        self.holding: dict[int, int] = {
            self.holding_addr: unit,
            self.holding_addr + 1: 1,
            self.holding_addr + 2: 1,
            self.rtc_register: 0,
            self.rtc_register + 1: 0,
        }
        self._rtc_set: tuple[int, float] | None = None
        self._unlocked_until = -1.0
        self.busy_until = -1.0
        self.emit(EV_BOOT, DEVICE_SUBJECT, self.boot_count)

    # -- time ---------------------------------------------------------------------------------

    def uptime_s(self) -> int:
        return max(0, int(self._uptime()))

    def _uptime(self) -> float:
        if self._uptime_rate is None:
            return self.clock() - self._booted_at
        then, at, rate_pct = self._uptime_rate
        return then + (self.clock() - at) * rate_pct / 100

    def set_uptime_rate(self, rate_pct: int) -> None:
        """Make the uptime counter run at ``rate_pct`` percent of the clock from now on: 0 is
        a frozen counter (a recorded reply played back), 1000 one ten times too fast.

        Raises:
            DeviceConfigError: a negative rate.
        """
        if rate_pct < 0:
            raise DeviceConfigError("uptime rate_pct must not be negative")
        self._uptime_rate = (self._uptime(), self.clock(), rate_pct)

    def rtc_s(self) -> int:
        if self._rtc_set is None:
            return 0
        base, at = self._rtc_set
        return (base + int(self.clock() - at)) & 0xFFFFFFFF

    # -- events and alarms --------------------------------------------------------------------

    def emit(self, type_: int, subject: int, value: int) -> None:
        """Count a change and queue its record; a full FIFO drops its oldest record."""
        self.event_seq = (self.event_seq + 1) & 0xFFFF
        rtc, up = self.rtc_s(), self.uptime_s()
        self.fifo.append(
            (
                self.event_seq,
                type_,
                subject & 0xFFFF,
                value & 0xFFFF,
                rtc >> 16,
                rtc & 0xFFFF,
                up >> 16,
                up & 0xFFFF,
            )
        )

    def set_alarm(self, bit: int, subject: int = DEVICE_SUBJECT, value: int = 0) -> None:
        mask = 1 << bit
        if self.alarm_live & mask and self.alarm_latched & mask:
            return
        self.alarm_live |= mask
        self.alarm_latched |= mask
        self.emit(EV_ALARM_SET, subject if subject != DEVICE_SUBJECT else bit, value)

    def clear_alarm(self, bit: int, subject: int = DEVICE_SUBJECT, value: int = 0) -> None:
        mask = 1 << bit
        if not self.alarm_live & mask:
            return
        self.alarm_live &= ~mask
        self.emit(EV_ALARM_CLEAR, subject if subject != DEVICE_SUBJECT else bit, value)

    def acknowledge(self) -> None:
        if self.alarm_latched != self.alarm_live:
            self.alarm_latched = self.alarm_live
            self.emit(EV_COMMAND, DEVICE_SUBJECT, 3)

    def reboot(self) -> None:
        """Power cycle: uptime, counter, alarms and FIFO restart; the boot count goes up."""
        self.boot_count = (self.boot_count + 1) & 0xFFFF
        self._booted_at = self.clock()
        if self._uptime_rate is not None:
            self._uptime_rate = (0.0, self.clock(), self._uptime_rate[2])
        self.event_seq = 0
        self.fifo.clear()
        self.alarm_latched = self.alarm_live = 0
        self._rtc_set = None
        self.reset_state()
        self.emit(EV_BOOT, DEVICE_SUBJECT, self.boot_count)

    def reset_state(self) -> None:
        """Subclasses return their outputs to power-on defaults."""

    # -- register tables ----------------------------------------------------------------------

    def identity_registers(self) -> dict[int, int]:
        sn = self.serial_number.encode("ascii")
        up = self.uptime_s()
        regs = [
            self.device_type,
            MAP_VERSION,
            self.fw_version,
            *(int.from_bytes(sn[i : i + 2], "big") for i in range(0, 8, 2)),
            up >> 16,
            up & 0xFFFF,
            self.boot_count,
            self.event_seq,
            self.config_seq,
            len(self.fifo),
        ]
        table = dict(enumerate(regs))
        head = self.fifo[0] if self.fifo else (0,) * FIFO_COUNT
        table.update({FIFO_ADDR + i: v for i, v in enumerate(head)})
        return table

    def input_registers(self) -> dict[int, int]:
        return self.identity_registers()

    def coils(self) -> list[int]:
        return []

    def discrete_inputs(self) -> list[int]:
        return [(self.alarm_latched >> i) & 1 for i in range(16)]

    def write_coil(self, address: int, on: bool) -> None:
        raise ModbusException(ILLEGAL_DATA_ADDRESS)

    def holding_ranges(self) -> Mapping[int, tuple[int, int]]:
        """Writable/readable holding registers and their accepted value ranges: the link
        settings and the clock here, the device's own in subclasses."""
        return {
            self.holding_addr: (1, 247),
            self.holding_addr + 1: (0, 4),
            self.holding_addr + 2: (0, 2),
            self.rtc_register: (0, 0xFFFF),
            self.rtc_register + 1: (0, 0xFFFF),
        }

    def write_holding(self, address: int, value: int) -> None:
        """Store one holding register (already range-checked); subclasses react to commands.

        The link settings change only while unlocked: a stray write must not cut the bus.

        Raises:
            ModbusException: a link setting (the first three holding registers) is written while the
                device is locked; the master gets exception 03 (illegal data value).
        """
        if self.holding_addr <= address <= self.holding_addr + 2 and not self.unlocked():
            raise ModbusException(ILLEGAL_DATA_VALUE)
        self.holding[address] = value

    def command(self, code: int) -> None:
        if code == CMD_POP_EVENT:
            if self.fifo:
                self.fifo.popleft()
            return
        if code == CMD_UNLOCK:
            self._unlocked_until = self.clock() + 30
            return
        if code == CMD_ACK:
            self.acknowledge()
            return
        if code == CMD_SELF_TEST:
            self.busy_until = self.clock() + 2
            return
        raise ModbusException(ILLEGAL_DATA_VALUE)

    def unlocked(self) -> bool:
        return self.clock() < self._unlocked_until

    # -- the request handler ------------------------------------------------------------------

    def handle(self, request: Request) -> bytes:
        """The reply frame for a request addressed to this unit (exceptions included)."""
        try:
            return self._handle(request)
        except ModbusException as e:
            return encode_exception(self.unit, request.function, e.code)

    def _handle(self, request: Request) -> bytes:
        fc, addr, count = request.function, request.address, request.count
        if fc not in SUPPORTED_FUNCTIONS:
            raise ModbusException(ILLEGAL_FUNCTION)
        if self.clock() < self.busy_until and fc not in (READ_INPUT_REGISTERS,):
            raise ModbusException(SERVER_DEVICE_BUSY)
        if fc in (READ_COILS, READ_DISCRETE_INPUTS):
            if not 1 <= count <= MAX_READ_BITS:
                raise ModbusException(ILLEGAL_DATA_VALUE)
            bits = self.coils() if fc == READ_COILS else self.discrete_inputs()
            if addr + count > len(bits):
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            return encode_read_reply(self.unit, fc, tuple(bits[addr : addr + count]))
        if fc in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
            if not 1 <= count <= MAX_READ_REGISTERS:
                raise ModbusException(ILLEGAL_DATA_VALUE)
            if fc == READ_INPUT_REGISTERS:
                table = self.input_registers()
            else:
                table = {a: self.holding.get(a, 0) for a in self.holding_ranges()}
                # The device clock ticks from the moment it was set, as a real one does.
                rtc = self.rtc_s()
                table[self.rtc_register], table[self.rtc_register + 1] = rtc >> 16, rtc & 0xFFFF
            try:
                values = tuple(table[a] for a in range(addr, addr + count))
            except KeyError:
                raise ModbusException(ILLEGAL_DATA_ADDRESS) from None
            return encode_read_reply(self.unit, fc, values)
        if fc == WRITE_SINGLE_COIL:
            if request.values[0] not in (COIL_ON, COIL_OFF):
                raise ModbusException(ILLEGAL_DATA_VALUE)
            if addr >= self.coil_count:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            self.write_coil(addr, request.values[0] == COIL_ON)
            return encode_write_reply(request)
        # (06, 16) holding registers and the command register
        values = request.values
        if fc == WRITE_MULTIPLE_REGISTERS and not 1 <= len(values) <= 123:
            raise ModbusException(ILLEGAL_DATA_VALUE)
        ranges = self.holding_ranges()
        for i, value in enumerate(values):
            a = addr + i
            if a == self.command_register:
                if fc != WRITE_SINGLE_REGISTER:
                    raise ModbusException(ILLEGAL_DATA_ADDRESS)
                continue
            if a not in ranges:
                raise ModbusException(ILLEGAL_DATA_ADDRESS)
            low, high = ranges[a]
            if not low <= value <= high:
                raise ModbusException(ILLEGAL_DATA_VALUE)
        if addr == self.command_register:
            self.command(values[0])
        else:
            changed = False
            for i, value in enumerate(values):
                changed |= self.holding.get(addr + i) != value
                self.write_holding(addr + i, value)
            if addr == self.rtc_register and len(values) == 2:
                self._rtc_set = ((values[0] << 16) | values[1], self.clock())
            elif changed:
                self.config_seq = (self.config_seq + 1) & 0xFFFF
                self.emit(EV_CONFIG, addr, values[0])
        return encode_write_reply(request)

    # -- scripted actions ---------------------------------------------------------------------

    def act(self, action: str, args: Mapping[str, object]) -> None:
        """Apply a scenario action; unknown actions are a configuration error.

        Raises:
            DeviceConfigError: ``action`` is not one this model knows.
        """
        if action == "reboot":
            self.reboot()
        elif action == "busy":
            self.busy_until = self.clock() + int_arg(args, "ms", 2000) / 1000
        elif action == "ack":  # the acknowledge key on the device's front panel
            self.acknowledge()
        elif action == "uptime":  # a faulty counter, or a recording played back
            self.set_uptime_rate(int_arg(args, "rate_pct", 100))
        else:
            raise DeviceConfigError(f"{type(self).__name__} has no action {action!r}")


def int_arg(args: Mapping[str, object], key: str, default: int | None = None) -> int:
    value = args.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise DeviceConfigError(f"scenario field {key!r} must be an integer")
    return value
