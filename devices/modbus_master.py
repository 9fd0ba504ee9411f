"""The Modbus RTU master: one request, one length-driven reply, a typed error for each failure.

Why a separate layer: drivers speak in registers and commands; this layer owns the exchange
rules of research/serial.md §5: length-driven receive with a first-byte and a frame-completion
deadline (§5.1), flush-and-silence after any bad frame (§5.2, strategy a), one retry for reads
(§5.3), and a count of every failure cause per port (§5.5).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass

from devices.errors import (
    DeviceError,
    FrameError,
    LinkError,
    LocalEchoError,
    ResponseTimeoutError,
)
from devices.modbus_rtu import (
    COIL_OFF,
    COIL_ON,
    READ_COILS,
    READ_DISCRETE_INPUTS,
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    WRITE_MULTIPLE_REGISTERS,
    WRITE_SINGLE_COIL,
    WRITE_SINGLE_REGISTER,
    Reply,
    Request,
    decode_reply,
    encode_request,
    expected_reply_length,
)
from devices.transport import SerialLink


@dataclass(frozen=True)
class Exchange:
    """A successful exchange: what was asked, what came back (exact bytes, for the log)."""

    request: bytes
    reply: Reply


class ModbusMaster:
    """Serialised transactions with one unit over a ``SerialLink``."""

    def __init__(
        self,
        link: SerialLink,
        *,
        response_timeout_s: float = 0.5,
        frame_timeout_s: float = 0.05,
        read_retries: int = 1,
    ) -> None:
        self.link = link
        self.response_timeout_s = response_timeout_s
        self.frame_timeout_s = frame_timeout_s
        self.read_retries = read_retries
        self.failures: Counter[str] = Counter()
        self.last_error: DeviceError | None = None

    def transact(self, request: Request, *, retries: int | None = None) -> Exchange:
        """Send ``request`` and return its decoded reply; raise the cause of the last failure.

        Exceptions from the device and a lost link are final; noise and timeouts are retried
        ``retries`` times (default: ``read_retries`` for reads, 0 for writes, because the
        caller reads a write back instead of repeating it blindly).

        Raises:
            ResponseTimeoutError: the last attempt got no reply in time.
            FrameError: the last attempt's reply was noise, had a bad CRC or did not match the
                request.
            DeviceError: the device answered with an exception (``ExceptionResponseError``) or the
                link is lost (``LinkError``); neither is retried.
            AssertionError: never; the retry loop always returns or raises first.
        """
        if retries is None:
            is_read = request.function in (
                READ_COILS,
                READ_DISCRETE_INPUTS,
                READ_HOLDING_REGISTERS,
                READ_INPUT_REGISTERS,
            )
            retries = self.read_retries if is_read else 0
        frame = encode_request(request)
        for attempt in range(retries + 1):
            try:
                reply = self._once(request, frame)
            except (ResponseTimeoutError, FrameError) as e:
                self._count(e)
                self._recover()
                if attempt == retries:
                    raise
                continue
            except DeviceError as e:
                self._count(e)
                raise
            self.last_error = None
            return Exchange(frame, reply)
        raise AssertionError("unreachable: the loop returns or raises")

    def _count(self, e: DeviceError) -> None:
        self.failures[type(e).__name__] += 1
        self.last_error = e

    def _once(self, request: Request, frame: bytes) -> Reply:
        self.link.send(frame)
        got = self.link.receive(3, self.response_timeout_s)
        total = expected_reply_length(request, got)
        echo_possible = request.function not in (WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER)
        if echo_possible and frame.startswith(got):
            # Perhaps our own request came back: a transceiver echo on a port not set for
            # echo.  (For 05 and 06 the normal reply *is* the request, so an echo cannot be
            # told apart; the read-back after every write covers those.)
            want = min(len(frame), total) - 3
            got += self.link.receive(want, self.frame_timeout_s)
            if got == frame:
                raise LocalEchoError(f"unexpected local echo of {frame.hex()}")
        try:
            if len(got) < total:
                wait = self.frame_timeout_s + total * self.link.char_time_s
                got += self.link.receive(total - len(got), wait)
            return decode_reply(request, got)
        except (FrameError, ResponseTimeoutError) as e:
            e.raw = e.raw or got  # keep what came, as evidence
            raise

    def _recover(self) -> None:
        silence = max(self.link.silent_interval_s, 0.02)
        # A link lost here is reported by the next transaction, with its own cause.
        with contextlib.suppress(LinkError):
            self.link.discard_until_silent(silence, self.response_timeout_s)

    # -- conveniences -----------------------------------------------------------------------

    def read_input_registers(self, unit: int, address: int, count: int) -> Exchange:
        return self.transact(Request(unit, READ_INPUT_REGISTERS, address, count))

    def read_holding_registers(self, unit: int, address: int, count: int) -> Exchange:
        return self.transact(Request(unit, READ_HOLDING_REGISTERS, address, count))

    def read_coils(self, unit: int, address: int, count: int) -> Exchange:
        return self.transact(Request(unit, READ_COILS, address, count))

    def read_discrete_inputs(self, unit: int, address: int, count: int) -> Exchange:
        return self.transact(Request(unit, READ_DISCRETE_INPUTS, address, count))

    def write_coil(self, unit: int, address: int, on: bool) -> Exchange:
        return self.transact(
            Request(unit, WRITE_SINGLE_COIL, address, 1, (COIL_ON if on else COIL_OFF,))
        )

    def write_register(self, unit: int, address: int, value: int) -> Exchange:
        return self.transact(Request(unit, WRITE_SINGLE_REGISTER, address, 1, (value,)))

    def write_registers(self, unit: int, address: int, values: tuple[int, ...]) -> Exchange:
        request = Request(unit, WRITE_MULTIPLE_REGISTERS, address, len(values), values)
        return self.transact(request)
