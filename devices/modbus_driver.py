"""The polling cycle shared by the Modbus jammer and detector (research/serial.md §5, §6.5).

Why it exists: both devices have the same identity block, counters, event FIFO, command
register and acknowledge; only their status block, its names and other commands differ.  At
connect the driver reads the identity (refusing another device type or map major version) and
sets the device clock; each poll then reads the counters (reboot and event detection, §5.8),
the live status, and drains the FIFO so no alarm raised and cleared between two polls is lost
(§6.4).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from devices.errors import FrameError, LinkError, ReadbackError, ResponseTimeoutError
from devices.modbus_master import ModbusMaster
from devices.modbus_rtu import READ_INPUT_REGISTERS, Request, decode_reply
from devices.reading import MAX_EVENTS_PER_POLL, DeviceEvent, Reading
from devices.register_map import (
    CMD_ACK,
    CMD_POP_EVENT,
    COUNTERS_ADDR,
    COUNTERS_COUNT,
    FIFO_ADDR,
    FIFO_COUNT,
    IDENTITY_ADDR,
    IDENTITY_COUNT,
    MAP_VERSION,
    STATUS_ADDR,
    STATUS_COUNT,
    Counters,
    Identity,
    bit_names,
    decode_counters,
    decode_event,
    decode_identity,
    state_name,
    u32,
)

RTC_TOLERANCE_S = 1
"""How far a device clock may read back from what was just written: it ticks meanwhile."""


class LiveStatus(Protocol):
    """What the shared cycle needs of a decoded status block (a dataclass of integers)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def state(self) -> int: ...

    @property
    def alarm_latched(self) -> int: ...

    @property
    def alarm_live(self) -> int: ...


StatusT = TypeVar("StatusT", bound=LiveStatus)


def status_registers(raw: bytes) -> tuple[int, ...]:
    """The registers of a live-status reply frame (FC04 0x0010 ×12) from any unit: what a
    logged status frame says, decoded as strictly as the driver decodes it live.

    Raises:
        FrameError: the bytes are not such a reply (its subclass ``CrcError`` for a bad CRC).
        ExceptionResponseError: the frame is a Modbus exception reply.
    """
    if not raw:
        raise FrameError("empty status frame")
    request = Request(raw[0], READ_INPUT_REGISTERS, STATUS_ADDR, STATUS_COUNT)
    return decode_reply(request, raw).values


def status_reading(
    kind: str,
    status: LiveStatus,
    raw: bytes,
    *,
    alarm_names: dict[int, str] | tuple[str, ...],
    state_names: tuple[str, ...],
    flags: Mapping[str, frozenset[str]],
) -> Reading:
    """The ``Reading`` of one decoded status block (pure): the part of a poll the gate judges.

    The live poll adds the counters and the drained events to it; the audit's gate replay
    makes it from a logged frame alone.
    """
    return Reading(
        kind=kind,
        values=asdict(status),
        flags={
            "alarm": bit_names(status.alarm_live, alarm_names),
            "latched": bit_names(status.alarm_latched, alarm_names),
            **flags,
        },
        raw=raw,
        extra={"state": state_name(state_names, status.state)},
    )


class ModbusDeviceDriver(Generic[StatusT]):
    """Connect, counters, FIFO, polling and commands for one unit; subclasses add the status
    block, the names of its alarm bits and states, and their own commands."""

    kind = "modbus"
    device_type = 0
    command_register = 0
    rtc_register = 0
    alarm_names: dict[int, str] | tuple[str, ...] = ()
    state_names: tuple[str, ...] = ()

    def __init__(
        self,
        master: ModbusMaster,
        unit: int,
        *,
        wall_clock: Callable[[], float] = time.time,
        set_clock: bool = True,
    ) -> None:
        self.master = master
        self.unit = unit
        self._wall_clock = wall_clock
        self._set_clock = set_clock
        self.identity: Identity | None = None
        self._counters: Counters | None = None
        self._last_event_seq: int | None = None

    @property
    def connected(self) -> bool:
        return self.identity is not None

    def close(self) -> None:
        self.identity = None
        self.master.link.close()

    def connect(self) -> Identity:
        """Identity, map version check, then the device clock (written and read back).

        Raises:
            FrameError: the unit is another device type or speaks an unsupported register-map major
                version; the identity stays unset.
            DeviceError: the identity read or the clock write failed on the link.
        """
        self.identity = None
        regs = self.master.read_input_registers(self.unit, IDENTITY_ADDR, IDENTITY_COUNT)
        identity = decode_identity(regs.reply.values)
        if identity.device_type != self.device_type:
            raise FrameError(
                f"unit {self.unit} is device type {identity.device_type:#06x}, "
                f"expected {self.device_type:#06x}"
            )
        if identity.map_version >> 8 != MAP_VERSION >> 8:
            raise FrameError(f"unsupported register map version {identity.map_version:#06x}")
        if self._set_clock:
            self.set_device_clock(int(self._wall_clock()))
        self.identity = identity
        return identity

    def set_device_clock(self, unix_s: int) -> None:
        """Write the device clock (RTC, u32 seconds) and read it back.

        The device's clock ticks between the write and the read-back, so a read-back up to
        ``RTC_TOLERANCE_S`` away from what was written counts as set.

        Raises:
            ReadbackError: the clock read back further off than that.
            DeviceError: the read-back exchange failed (its own subclass names the cause).
        """
        # A lost or garbled reply is not final: the read-back decides whether the write took.
        with contextlib.suppress(ResponseTimeoutError, FrameError):
            self.master.write_registers(
                self.unit, self.rtc_register, (unix_s >> 16, unix_s & 0xFFFF)
            )
        back = self.master.read_holding_registers(self.unit, self.rtc_register, 2).reply.values
        read = u32(back[0], back[1])
        if abs(read - unix_s) > RTC_TOLERANCE_S:
            raise ReadbackError(
                f"device clock: wrote {unix_s}, read back {read} "
                f"({read - unix_s:+d} s, more than {RTC_TOLERANCE_S} s off)"
            )

    def _io(self) -> None:
        if not self.connected:
            self.connect()

    def poll(self) -> Reading:
        """One polling cycle; a lost link forgets the identity, so the next poll reconnects
        (identity and clock again, §5.6).

        Raises:
            LinkError: the link was lost; the identity is forgotten, so the next poll reconnects.
            DeviceError: any other failure of the cycle (timeout, bad frame, exception reply,
                readback).
        """
        try:
            self._io()
            return self._poll()
        except LinkError:
            self.identity = None
            raise

    def decode_status(self, regs: tuple[int, ...]) -> StatusT:
        """The device's status block from its ``STATUS_COUNT`` registers."""
        raise NotImplementedError

    def read_status(self) -> tuple[StatusT, bytes]:
        """One live-status read (FC04 0x0010 ×12): the fast-loop transaction of §6.5."""
        ex = self.master.read_input_registers(self.unit, STATUS_ADDR, STATUS_COUNT)
        return self.decode_status(ex.reply.values), ex.reply.frame

    def status_reading(self, status: StatusT, raw: bytes) -> Reading:
        """The pure ``Reading`` of a status block (each device kind's module makes it)."""
        raise NotImplementedError

    def state_name(self, state: int) -> str:
        return state_name(self.state_names, state)

    def _poll(self) -> Reading:
        counters, rebooted = self.poll_counters()
        status, raw = self.read_status()
        events, lost = self.drain_events(counters.events_pending)
        reading = self.status_reading(status, raw)
        return replace(
            reading,
            values={**reading.values, **asdict(counters)},
            events=events,
            rebooted=rebooted,
            events_lost=lost,
            identity=self.identity.serial_number if self.identity else "",
        )

    def read_blocks(self, address: int, blocks: int, stride: int) -> list[tuple[int, ...]]:
        """``blocks`` consecutive input-register blocks of ``stride`` registers each (the
        per-band or per-category telemetry of the slow loop, §6.5), in one read."""
        self._io()
        ex = self.master.read_input_registers(self.unit, address, blocks * stride)
        values = ex.reply.values
        return [values[k * stride : (k + 1) * stride] for k in range(blocks)]

    def _read_counters(self) -> tuple[Counters, bytes]:
        ex = self.master.read_input_registers(self.unit, COUNTERS_ADDR, COUNTERS_COUNT)
        return decode_counters(ex.reply.values), ex.reply.frame

    def poll_counters(self) -> tuple[Counters, bool]:
        """Counters and whether the device rebooted since the last poll (§5.8)."""
        counters, _ = self._read_counters()
        previous = self._counters
        rebooted = previous is not None and (
            counters.boot_count != previous.boot_count or counters.uptime_s < previous.uptime_s
        )
        self._counters = counters
        if rebooted:
            self._last_event_seq = None
        return counters, rebooted

    def drain_events(self, pending: int) -> tuple[tuple[DeviceEvent, ...], int]:
        """Read and pop up to ``MAX_EVENTS_PER_POLL`` records; also the count of lost records.

        A pop is a write that is not idempotent, so it is never repeated blindly: after a
        failed pop the head is read again and the pop counts as done only if the head moved.

        Raises:
            ResponseTimeoutError: a pop went unanswered and the head did not move, so the pop did
                not happen.
            FrameError: a pop's reply was garbled and the head did not move.
            DeviceError: reading a FIFO record failed (timeout, bad frame, exception reply, lost
                link), before or after a pop.
        """
        events: list[DeviceEvent] = []
        lost = 0
        for _ in range(min(pending, MAX_EVENTS_PER_POLL)):
            ex = self.master.read_input_registers(self.unit, FIFO_ADDR, FIFO_COUNT)
            record = decode_event(ex.reply.values, ex.reply.frame)
            if record.type == 0:
                break  # the FIFO emptied since the counters were read
            try:
                self.master.write_register(self.unit, self.command_register, CMD_POP_EVENT)
            except (ResponseTimeoutError, FrameError):
                again = self.master.read_input_registers(self.unit, FIFO_ADDR, FIFO_COUNT)
                if decode_event(again.reply.values, again.reply.frame) == record:
                    raise
            if self._last_event_seq is not None:
                gap = (record.event_seq - self._last_event_seq) & 0xFFFF
                lost += max(gap - 1, 0)
            self._last_event_seq = record.event_seq
            events.append(record)
        return tuple(events), lost

    # -- writes with read-back (§5.3) ----------------------------------------------------------

    def write_registers_checked(self, address: int, values: tuple[int, ...]) -> None:
        # A lost or garbled reply is not final: the read-back decides whether the write took.
        with contextlib.suppress(ResponseTimeoutError, FrameError):
            self.master.write_registers(self.unit, address, values)
        back = self.master.read_holding_registers(self.unit, address, len(values))
        if back.reply.values != values:
            raise ReadbackError(
                f"registers {address:#06x}: wrote {list(values)}, "
                f"read back {list(back.reply.values)}"
            )

    def write_coil_checked(self, address: int, on: bool) -> None:
        # A lost or garbled reply is not final: the read-back decides whether the write took.
        with contextlib.suppress(ResponseTimeoutError, FrameError):
            self.master.write_coil(self.unit, address, on)
        back = self.master.read_coils(self.unit, address, 1)
        if back.reply.values != (1 if on else 0,):
            got = back.reply.values
            raise ReadbackError(f"coil {address:#06x}: wrote {int(on)}, read back {got}")

    def command(self, code: int) -> None:
        """Write a command word; the caller checks its effect (commands are write-only)."""
        self._io()
        try:
            self.master.write_register(self.unit, self.command_register, code)
        except (ResponseTimeoutError, FrameError) as e:
            # The effect check that follows decides; keep the cause if it fails.
            self.master.last_error = e

    def acknowledge(self) -> StatusT:
        """Clear latched alarms; afterwards the latched bits equal the live ones.

        Raises:
            ReadbackError: the latched alarms still differ from the live ones after the acknowledge.
        """
        self.command(CMD_ACK)
        status, _ = self.read_status()
        if status.alarm_latched != status.alarm_live:
            raise ReadbackError("acknowledge: latched alarms did not clear")
        return status
