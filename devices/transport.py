"""The serial link: the only module that imports ``serial`` (STYLE §10).

Why it exists: every driver needs the same careful byte handling (research/serial.md §5), and
the rest of ``devices`` must stay testable without a port.  A ``SerialLink``

- opens any ``serial_for_url`` URL: a device path (prefer a stable ``/dev/serial/by-id/...``
  name so a replugged adapter is found again), ``socket://host:port``, ``rfc2217://``;
- reads **by length** with a deadline (pyserial ignores ``inter_byte_timeout`` on Linux, §1.2);
- keeps t3.5 of silence before each request (§1.1) and drops stale input first (§5.2);
- optionally reads back and compares the RS-485 local echo (§1.6);
- turns every pyserial or OS failure into ``LinkLostError``, closes the port, and reopens it
  later with exponential back-off (0.5 s → 10 s, §5.6);
- measures every interval (deadlines, silences, back-off) on its injected monotonic clock,
  never wall time (§5.7); a test passes a fake clock and waits for no timeout.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import serial

from devices.errors import LinkError, LinkLostError, LocalEchoError, ResponseTimeoutError

Clock = Callable[[], float]
Sleep = Callable[[float], None]

try:  # POSIX ports raise termios.error from tcsetattr, which pyserial does not wrap
    import termios

    _PORT_ERRORS: tuple[type[BaseException], ...] = (serial.SerialException, OSError, termios.error)
except ImportError:  # pragma: no cover - not POSIX
    _PORT_ERRORS = (serial.SerialException, OSError)

_OPEN_ERRORS: tuple[type[BaseException], ...] = (*_PORT_ERRORS, ValueError)

_READ_SLICE_S = 0.01
"""Fixed pyserial read timeout: reads loop in slices to their own deadline, because changing
``Serial.timeout`` re-applies termios on every call (and some ptys refuse that)."""

MAX_AVAILABLE = 4096
"""The most bytes one ``receive_available`` returns."""

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD}


def char_time_s(baudrate: int, bits_per_char: int) -> float:
    """Seconds on the wire for one character."""
    return bits_per_char / baudrate


def silent_interval_s(baudrate: int, bits_per_char: int) -> float:
    """t3.5: 3.5 character times, fixed at 1.75 ms above 19200 baud (research/serial.md §1.1)."""
    if baudrate > 19200:
        return 0.00175
    return 3.5 * char_time_s(baudrate, bits_per_char)


class SerialLink:
    """One serial port (or serial-over-TCP URL) with length-driven reads and reconnection."""

    def __init__(
        self,
        url: str,
        *,
        baudrate: int = 19200,
        parity: str = "E",
        stopbits: int = 1,
        local_echo: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 10.0,
    ) -> None:
        if parity not in PARITIES:
            raise ValueError(f"parity must be one of {sorted(PARITIES)}")
        if stopbits not in (1, 2):
            raise ValueError("stopbits must be 1 or 2")
        self.url = url
        self.baudrate = baudrate
        self.parity = parity
        self.stopbits = stopbits
        self.local_echo = local_echo
        self._clock = clock
        self._sleep = sleep
        self._backoff_min = backoff_min_s
        self._backoff_max = backoff_max_s
        self._backoff = backoff_min_s
        self._next_open_at = 0.0
        self._port: serial.SerialBase | None = None
        self._last_activity = 0.0
        self.opens = 0
        self.losses = 0

    # -- timing -----------------------------------------------------------------------------

    @property
    def bits_per_char(self) -> int:
        """Start + 8 data + parity + stop bits."""
        return 1 + 8 + (0 if self.parity == "N" else 1) + self.stopbits

    @property
    def char_time_s(self) -> float:
        return char_time_s(self.baudrate, self.bits_per_char)

    @property
    def silent_interval_s(self) -> float:
        return silent_interval_s(self.baudrate, self.bits_per_char)

    # -- open / close -----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._port is not None

    def open(self) -> None:
        """Open the port unless open; inside the back-off window, fail at once without trying.

        Raises:
            LinkError: the port is inside its reconnect back-off window, or it cannot be opened (the
                window then doubles).
        """
        if self._port is not None:
            return
        now = self._clock()
        if now < self._next_open_at:
            wait = self._next_open_at - now
            raise LinkError(f"{self.url}: reconnect back-off, next attempt in {wait:.1f} s")
        try:
            port = serial.serial_for_url(
                self.url,
                baudrate=self.baudrate,
                parity=PARITIES[self.parity],
                stopbits=self.stopbits,
                bytesize=8,
                timeout=_READ_SLICE_S,
                write_timeout=2.0,
            )
        except _OPEN_ERRORS as e:
            self._next_open_at = now + self._backoff
            self._backoff = min(self._backoff * 2, self._backoff_max)
            raise LinkError(f"{self.url}: cannot open: {e}") from e
        self._port = port
        self._backoff = self._backoff_min
        self._next_open_at = 0.0
        self._last_activity = self._clock()
        self.opens += 1

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            # Closing a vanished port can fail; there is nothing left to release then.
            # pyserial 3.5's socket:// close() skips socket.close() when shutdown() fails on a
            # reset connection, then forgets the socket; keep it to close it ourselves.
            sock = getattr(port, "_socket", None)
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()
            if sock is not None:
                sock.close()

    def _lost(self, e: BaseException) -> LinkLostError:
        self.close()
        self.losses += 1
        self._next_open_at = self._clock() + self._backoff
        self._backoff = min(self._backoff * 2, self._backoff_max)
        return LinkLostError(f"{self.url}: link lost: {e}")

    def _require(self) -> serial.SerialBase:
        self.open()
        assert self._port is not None
        return self._port

    # -- I/O --------------------------------------------------------------------------------

    def send(self, frame: bytes, *, flush_input: bool = True) -> None:
        """Write one frame after t3.5 of silence, dropping stale input; check the echo if set.

        Raises:
            LinkError: the port cannot be opened, or it failed during the write (``LinkLostError``;
                the port is closed).
            ResponseTimeoutError: local echo is set and the echo did not come back in time.
            LocalEchoError: the echo differs from the frame sent.
        """
        port = self._require()
        wait = self._last_activity + self.silent_interval_s - self._clock()
        if wait > 0:
            self._sleep(wait)
        try:
            if flush_input:
                port.reset_input_buffer()
            port.write(frame)
            port.flush()
        except _PORT_ERRORS as e:
            raise self._lost(e) from e
        self._last_activity = self._clock()
        if self.local_echo:
            deadline = len(frame) * self.char_time_s + 0.05
            echo = self.receive(len(frame), deadline)
            if echo != frame:
                raise LocalEchoError(f"local echo {echo.hex()} differs from sent {frame.hex()}")

    def receive(self, size: int, timeout_s: float) -> bytes:
        """Exactly ``size`` bytes within ``timeout_s``, else ``ResponseTimeoutError``.

        Raises:
            LinkError: the port cannot be opened, or it failed during the read (``LinkLostError``;
                the port is closed).
            ResponseTimeoutError: fewer than ``size`` bytes came within ``timeout_s``; a partial
                frame's bytes are in its ``raw``.
        """
        port = self._require()
        got = bytearray()
        deadline = self._clock() + timeout_s
        try:
            while len(got) < size:
                got += port.read(size - len(got))
                if len(got) < size and self._clock() >= deadline:
                    break
        except _PORT_ERRORS as e:
            raise self._lost(e) from e
        self._last_activity = self._clock()
        if len(got) < size:
            if got:
                partial = ResponseTimeoutError(
                    f"incomplete frame: {len(got)} of {size} bytes ({bytes(got).hex()})"
                )
                partial.raw = bytes(got)
                raise partial
            raise ResponseTimeoutError(f"no reply within {timeout_s * 1000:.0f} ms")
        return bytes(got)

    def receive_available(self, wait_s: float = 0.0) -> bytes:
        """Whatever arrives within ``wait_s`` (unsolicited messages, line-based protocols):
        the first bytes, and every byte readable right behind them.

        ``in_waiting`` is read as "something is there", never as how much: pyserial's
        ``socket://`` reports only 0 or 1, and taking that as a count left the rest of a
        pending message to be read as the next reply.  At most ``MAX_AVAILABLE`` bytes are
        returned, so a flooding line cannot hold the caller.
        """
        port = self._require()
        deadline = self._clock() + wait_s
        data = bytearray()
        try:
            while len(data) < MAX_AVAILABLE:
                waiting = port.in_waiting
                if waiting:
                    data += port.read(min(waiting, MAX_AVAILABLE - len(data)))
                elif data or self._clock() >= deadline:
                    break
                else:
                    data += port.read(1)  # waits at most one read slice for a first byte
        except _PORT_ERRORS as e:
            raise self._lost(e) from e
        if data:
            self._last_activity = self._clock()
        return bytes(data)

    def discard_until_silent(self, silence_s: float, limit_s: float) -> int:
        """After a bad frame, drop input until ``silence_s`` of quiet (§5.2); returns the count."""
        port = self._require()
        dropped = 0
        end = self._clock() + limit_s
        try:
            quiet_since = self._clock()
            while self._clock() < end:
                chunk = port.read(256)
                if chunk:
                    dropped += len(chunk)
                    quiet_since = self._clock()
                elif self._clock() - quiet_since >= silence_s:
                    break
        except _PORT_ERRORS as e:
            raise self._lost(e) from e
        self._last_activity = self._clock()
        return dropped
