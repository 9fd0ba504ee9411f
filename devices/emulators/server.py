"""Serving an emulated device on a pseudo-terminal or on ``socket://``, at a paced line rate.

Why it exists: the drivers must be tested, benchmarked and demonstrated through the same
pyserial path as real hardware (STYLE §10).  The server owns the "wire": it paces every byte
at the configured baud rate (request, t3.5, device turnaround, reply; research/serial.md §1.7),
injects faults (``devices.emulators.faults``), runs scripted scenarios on an injectable clock,
and can be unplugged and replugged.  On a pty it keeps a stable symlink to the current slave,
as ``/dev/serial/by-id`` does for a USB adapter, so the driver finds the port again after a
replug even though the ``/dev/pts/N`` number changed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import termios
import threading
import time
import tty
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from devices.emulators.faults import FaultInjector, FaultSpec
from devices.emulators.modbus_slave import Exchange
from devices.emulators.scenario import Step
from devices.errors import DeviceConfigError

Clock = Callable[[], float]
PTY_DIR = "/dev/pts/"
"""Where Linux pty slaves live: a link pointing here is what ``PtyEndpoint`` makes."""


class Responder(Protocol):
    protocol: str

    def feed(self, data: bytes, now: float) -> list[Exchange]: ...

    def unsolicited(self, now: float) -> bytes: ...

    def act(self, action: str, args: Mapping[str, object]) -> None: ...


class Endpoint(Protocol):
    url: str

    def plug(self) -> None: ...

    def unplug(self) -> None: ...

    def filenos(self) -> list[int]: ...

    def read(self, fd: int) -> bytes: ...

    def write(self, data: bytes) -> None: ...


class PtyEndpoint:
    """A pseudo-terminal whose slave is reached through a stable symlink.

    The symlink is the only thing at ``link_path`` the emulator ever creates or removes: an
    existing path is replaced only when it is such a link (into ``/dev/pts/``, left by an
    earlier run), and anything else there — a user's file, a directory, another link — makes
    ``plug`` refuse rather than delete it.
    """

    def __init__(self, link_path: str | Path) -> None:
        self.link_path = Path(link_path)
        self.url = str(self.link_path)
        self._master: int | None = None
        self._slave: int | None = None
        self._target: str | None = None
        self._baseline: list[Any] = []

    def plug(self) -> None:
        """Open a new pty and point the link at its slave.

        Raises:
            DeviceConfigError: ``link_path`` exists and is not an emulator's pty link.
        """
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            self._baseline = termios.tcgetattr(slave)
            # Holding the slave open keeps the master readable while no client is attached.
            os.set_blocking(master, False)
            target = os.ttyname(slave)
            self._link(target)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        self._master, self._slave, self._target = master, slave, target

    def _link(self, target: str) -> None:
        try:
            os.symlink(target, self.link_path)  # creates, never replaces
            return
        except FileExistsError:
            pass
        if not _is_pty_link(self.link_path):
            raise DeviceConfigError(
                f"{self.link_path} exists and is not a pty link made by an emulator; "
                "give a path that does not exist"
            )
        # A link an earlier emulator left: replaced atomically through a fresh temporary name.
        tmp = self.link_path.with_name(f".{self.link_path.name}.{os.getpid()}.{id(self):x}.new")
        os.symlink(target, tmp)
        os.replace(tmp, self.link_path)

    def unplug(self) -> None:
        if self._target is not None and _points_at(self.link_path, self._target):
            with contextlib.suppress(FileNotFoundError):
                self.link_path.unlink()
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._target = None

    def filenos(self) -> list[int]:
        return [] if self._master is None else [self._master]

    def read(self, fd: int) -> bytes:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno == errno.EIO:
                return b""
            raise
        if data and self._slave is not None:
            # Linux ptys keep what a client set (parity they cannot honour) and then refuse the
            # same settings from the next client with EINVAL; put the line back to raw so a
            # reconnecting driver can configure it again.  Reads are unaffected.
            termios.tcsetattr(self._slave, termios.TCSANOW, self._baseline)
        return data

    def write(self, data: bytes) -> None:
        if self._master is None:
            return
        with contextlib.suppress(BlockingIOError):  # nobody reading: the line drops it
            os.write(self._master, data)


def _is_pty_link(path: Path) -> bool:
    try:
        return os.readlink(path).startswith(PTY_DIR)
    except OSError:  # not a link (EINVAL), or gone
        return False


def _points_at(path: Path, target: str) -> bool:
    try:
        return os.readlink(path) == target
    except OSError:
        return False


class SocketEndpoint:
    """A TCP listener for ``socket://host:port``; the newest connection is the line."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._conn: socket.socket | None = None
        self.url = ""

    def plug(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError as e:
            listener.close()
            raise DeviceConfigError(f"cannot listen on {self.host}:{self.port}: {e}") from e
        listener.listen(1)
        self.port = listener.getsockname()[1]
        self.url = f"socket://{self.host}:{self.port}"
        self._listener = listener

    def unplug(self) -> None:
        for s in (self._conn, self._listener):
            if s is not None:
                s.close()
        self._conn = self._listener = None

    def filenos(self) -> list[int]:
        return [s.fileno() for s in (self._listener, self._conn) if s is not None]

    def read(self, fd: int) -> bytes:
        if self._listener is not None and fd == self._listener.fileno():
            conn, _ = self._listener.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._conn is not None:
                self._conn.close()
            self._conn = conn
            return b""
        if self._conn is None:
            return b""
        try:
            data = self._conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._conn.close()
            self._conn = None
        return data

    def write(self, data: bytes) -> None:
        if self._conn is None:
            return
        try:
            self._conn.sendall(data)
        except OSError:
            self._conn.close()
            self._conn = None


class EmulatorServer:
    """Runs a responder on an endpoint in a thread, with pacing, faults and a scenario."""

    def __init__(
        self,
        responder: Responder,
        endpoint: Endpoint,
        *,
        baudrate: int = 115200,
        bits_per_char: int = 10,
        turnaround_s: float = 0.0,
        faults: FaultSpec | None = None,
        scenario: Sequence[Step] = (),
        clock: Clock = time.monotonic,
    ) -> None:
        self.responder = responder
        self.endpoint = endpoint
        self.baudrate = baudrate
        self.bits_per_char = bits_per_char
        self.turnaround_s = turnaround_s
        self.injector = FaultInjector(faults or FaultSpec(), responder.protocol)
        self._scenario = list(scenario)
        self._clock = clock
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._plugged = False
        self._started_at = 0.0
        self._line_free_at = 0.0
        self.requests = 0
        self.errors: list[str] = []

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.endpoint.url

    def start(self) -> EmulatorServer:
        self.endpoint.plug()
        self._plugged = True
        self._started_at = self._clock()
        self._thread = threading.Thread(target=self._run, name="emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._plugged:
                self.endpoint.unplug()
                self._plugged = False

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self) -> None:
        """Block until stopped (the command line's foreground mode)."""
        while not self._stop.wait(0.5):
            pass

    # -- control ------------------------------------------------------------------------------

    def do(self, action: str, args: Mapping[str, object] | None = None) -> None:
        """Apply one action now (the same vocabulary as scenario steps).

        Raises:
            DeviceConfigError: a ``faults`` action has a spec that is not a string or does not
                parse, or the emulated device does not know ``action``.
        """
        args = args or {}
        with self._lock:
            if action == "unplug":
                if self._plugged:
                    self.endpoint.unplug()
                    self._plugged = False
            elif action == "replug":
                if not self._plugged:
                    self.endpoint.plug()
                    self._plugged = True
            elif action == "faults":
                spec = args.get("spec", "")
                if not isinstance(spec, str):
                    raise DeviceConfigError("faults step needs a string spec")
                self.injector = FaultInjector(FaultSpec.parse(spec), self.responder.protocol)
            else:
                self.responder.act(action, args)

    def set_faults(self, spec: FaultSpec) -> None:
        with self._lock:
            self.injector = FaultInjector(spec, self.responder.protocol)

    # -- the wire -----------------------------------------------------------------------------

    def _char_s(self) -> float:
        return self.bits_per_char / self.baudrate

    def _t35(self) -> float:
        return 0.00175 if self.baudrate > 19200 else 3.5 * self._char_s()

    def _transmit(self, start_at: float, data: bytes) -> float:
        """Put ``data`` on the line starting no earlier than ``start_at``; return its end."""
        start = max(start_at, self._line_free_at)
        end = start + len(data) * self._char_s()
        delay = end - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.endpoint.write(data)
        self._line_free_at = end
        return end

    def _run_scenario(self) -> None:
        elapsed_ms = (self._clock() - self._started_at) * 1000
        while self._scenario and self._scenario[0].at_ms <= elapsed_ms:
            step = self._scenario.pop(0)
            try:
                self.do(step.action, step.args)
            except DeviceConfigError as e:
                self.errors.append(f"step at {step.at_ms} ms: {e}")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._turn()
            except Exception as e:  # an emulator bug must show in the test, not stop the line
                self.errors.append(f"emulator error: {type(e).__name__}: {e}")

    def _turn(self) -> None:
        """One turn of the line: due scenario steps, received requests, unsolicited output."""
        self._run_scenario()
        with self._lock:
            fds = self.endpoint.filenos() if self._plugged else []
        if not fds:
            self._stop.wait(0.005)
            return
        try:
            ready, _, _ = select.select(fds, [], [], 0.01)
        except (OSError, ValueError):
            return  # the endpoint was unplugged under select
        for fd in ready:
            with self._lock:
                if not self._plugged:
                    break
                try:
                    data = self.endpoint.read(fd)
                except OSError:
                    continue
                received_at = time.monotonic()
                exchanges = self.responder.feed(data, self._clock()) if data else []
                injector = self.injector
            for ex in exchanges:
                self.requests += 1
                self._answer(ex, received_at, injector)
        with self._lock:
            extra = self.responder.unsolicited(self._clock()) if self._plugged else b""
        if extra:
            self._transmit(time.monotonic(), extra)

    def _answer(self, ex: Exchange, received_at: float, injector: FaultInjector) -> None:
        request_end = received_at + len(ex.request) * self._char_s()
        if injector.spec.echo:
            self._transmit(received_at, ex.request)
        if ex.reply is None:
            return
        start = request_end + self._t35() + self.turnaround_s
        for chunk in injector.apply(ex.reply):
            start = self._transmit(start + chunk.delay_s, chunk.data)
