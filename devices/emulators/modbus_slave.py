"""The emulator side of Modbus RTU: find requests in a byte stream and answer per unit.

Why it exists: a slave on a shared bus must cope with noise and other units' traffic.  It
finds frames by the length rule of their function code and, failing that, by hunting for a
valid CRC (research/serial.md §5.5 b); it answers only its own unit addresses and never a
broadcast (§6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devices.crc import crc16_modbus
from devices.emulators.modbus_model import ModbusDeviceModel, ModbusException
from devices.errors import DeviceConfigError, FrameError
from devices.modbus_rtu import MAX_ADU_BYTES, decode_request, request_length


@dataclass(frozen=True)
class Exchange:
    """A request found on the line and the reply to send (None: stay silent)."""

    request: bytes
    reply: bytes | None


class ModbusSlave:
    """Frames requests out of received bytes and dispatches them to the unit's model."""

    protocol = "modbus"

    def __init__(self, models: Mapping[int, ModbusDeviceModel], stale_gap_s: float = 0.05):
        self.models = dict(models)
        self.stale_gap_s = stale_gap_s
        self._buffer = bytearray()
        self._last_rx = 0.0
        self.discarded = 0

    def feed(self, data: bytes, now: float) -> list[Exchange]:
        """Take received bytes; return the exchanges completed by them."""
        if self._buffer and now - self._last_rx > self.stale_gap_s:
            # A fragment followed by a long silence can never complete (t1.5 rule, §1.1).
            self.discarded += len(self._buffer)
            self._buffer.clear()
        self._last_rx = now
        self._buffer += data
        out: list[Exchange] = []
        while True:
            frame = self._next_frame()
            if frame is None:
                return out
            try:
                request = decode_request(frame)
            except FrameError:
                self.discarded += len(frame)
                continue
            model = self.models.get(request.unit)
            if model is None or request.unit == 0:
                out.append(Exchange(frame, None))
                continue
            out.append(Exchange(frame, model.handle(request)))

    def _next_frame(self) -> bytes | None:
        buf = self._buffer
        while len(buf) >= 4:
            n = request_length(bytes(buf))
            if n is not None:
                if len(buf) < n:
                    return None
                if crc16_modbus(bytes(buf[:n])) == 0:
                    frame = bytes(buf[:n])
                    del buf[:n]
                    return frame
            else:
                for k in range(4, min(len(buf), MAX_ADU_BYTES) + 1):
                    if crc16_modbus(bytes(buf[:k])) == 0:
                        frame = bytes(buf[:k])
                        del buf[:k]
                        return frame
                if len(buf) < MAX_ADU_BYTES and len(buf) < 8:
                    return None
            del buf[0]  # noise: slide one byte and hunt again
            self.discarded += 1
        return None

    def unsolicited(self, now: float) -> bytes:
        return b""

    def act(self, action: str, args: Mapping[str, object]) -> None:
        act_on_units(self, action, args)


def act_on_units(slave: ModbusSlave, action: str, args: Mapping[str, object]) -> None:
    """Route a scenario action to the model named by ``unit`` (or the only model).

    Raises:
        DeviceConfigError: no ``unit`` is named on a multi-unit bus, the named unit is not emulated,
            or the model refuses or does not know the action.
    """
    unit = args.get("unit")
    if unit is None:
        if len(slave.models) != 1:
            raise DeviceConfigError("scenario step must name a unit on a multi-unit bus")
        (model,) = slave.models.values()
    else:
        if not isinstance(unit, int) or unit not in slave.models:
            raise DeviceConfigError(f"no emulated unit {unit!r}")
        model = slave.models[unit]
    try:
        model.act(action, {k: v for k, v in args.items() if k != "unit"})
    except ModbusException as e:
        raise DeviceConfigError(f"unit {model.unit} refused {action!r}: {e}") from e
