"""The device gateway: poll every configured device and sign what happens into the centre's log.

Why it lives in ``api``: it is the one place where ``devices`` (drivers, monitor, gate) meets the
log (``exam_core.centre.centre``); ``devices`` itself never imports the log.  Every device is polled
in its own thread, so a silent one never delays the others.  Each monitor's events go through a sink
that signs them with the gateway's key (role ``gateway``) and queues them on the centre's sequencer,
so a slow commit never delays a poll.  For each room the gate is decided after every cycle, and a
``device.gate`` entry is written whenever the decision or its reasons change, and at each heartbeat.

The configuration (``devices.gateway_config``) names the devices, the rooms and the gateway's
key.  Where the signed events go is the gateway's ``EventLog``: with ``--dir`` the centre's
database on this machine (``CentreLog``; the key is created and registered with role
``gateway`` on first use), with ``--centre-url`` the centre's HTTP service
(``api.client.RemoteLog``; the key file was made on this machine and its public key registered
by the administrator).  Over HTTP the events are signed here, sent in order, and held in order
while the link is down.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Protocol

from api.client import CentreClient, ClientError, RemoteLog
from devices.errors import DeviceConfigError
from devices.gate import GateDecision, RoomRequirements, decide_gate
from devices.gate_event import gate_fields
from devices.gateway_config import GatewayConfig
from devices.monitor import DeviceMonitor, DeviceView, monotonic_ms
from exam_core.centre.centre import DEFAULT_WAIT_S, Centre
from exam_core.centre.config import full_key_name
from exam_core.centre.keys import read_key_file
from exam_core.errors import ExamCoreError, StoreError
from exam_core.log.schemas.types import GATEWAY

MAX_PENDING = 10_000
FINISH_WAIT_S = DEFAULT_WAIT_S
"""How long a stopping gateway waits for the log to take what it queued: a centre that is down
or answers 503 would otherwise hold the stop for ever (the remote log retries without end)."""


class EventLog(Protocol):
    """Where a gateway's signed events go: a centre on this machine or one over HTTP."""

    @property
    def name(self) -> str:
        """The signing key's name."""
        ...

    def submit(self, event_type: str, fields: Mapping[str, object]) -> Future[int]:
        """Sign and queue an event; the future gives its index."""
        ...


class CentreLog:
    """An ``EventLog`` writing to a centre opened on this machine, with its gateway key."""

    def __init__(self, centre: Centre, key: str) -> None:
        self.centre = centre
        try:
            self.signer = centre.signer(key)
        except (ExamCoreError, OSError):
            self.signer = centre.register_key(key, GATEWAY)

    @property
    def name(self) -> str:
        return self.signer.name

    def submit(self, event_type: str, fields: Mapping[str, object]) -> Future[int]:
        return self.centre.submit(self.signer, event_type, fields)


class Gateway:
    """Monitors, gate decisions and the signing sink for one centre."""

    def __init__(
        self,
        log: Centre | EventLog,
        config: GatewayConfig,
        *,
        clock_ms: Callable[[], int] = monotonic_ms,
        finish_wait_s: float = FINISH_WAIT_S,
    ) -> None:
        self.log: EventLog = CentreLog(log, config.key) if isinstance(log, Centre) else log
        self.config = config
        self.pending: list[Future[int]] = []
        self.refused: list[str] = []
        self.appended = 0
        self.unsent = 0
        """Entries the log had not taken when the gateway stopped waiting for them."""
        self._finish_wait_s = finish_wait_s
        self._clock = clock_ms
        # Held while a monitor publishes and while a gate is decided and queued: the log then
        # never holds a device event before a gate decision that did not see it.
        self._decide_lock = threading.RLock()
        self.monitors = [
            DeviceMonitor(
                spec.name,
                spec.open_driver(),
                self.sink,
                config=config.monitor,
                clock_ms=clock_ms,
                lock=self._decide_lock,
            )
            for spec in config.devices
        ]
        self._last_gate: dict[str, tuple[bool, tuple[str, ...]]] = {}
        self._last_gate_ms: dict[str, int] = {}
        self._lock = threading.Lock()
        self._exam_of_device: dict[str, str] = {}

    def sink(self, event_type: str, fields: dict[str, object]) -> None:
        """Sign and queue one event (called from every device thread); an event of a device
        whose room has an exam running names that exam (DESIGN §5.4)."""
        exam = self._exam_of_device.get(str(fields.get("device", "")))
        if exam is not None and "exam" not in fields:
            fields = {**fields, "exam": exam}
        future = self.log.submit(event_type, fields)
        with self._lock:
            self.pending.append(future)
            backlog = len(self.pending) > MAX_PENDING
        if backlog:
            self._collect(block=True)

    def _collect(self, block: bool = False, wait_s: float | None = None) -> None:
        """Count the entries the log took or refused; with ``block``, wait for them, for at
        most ``wait_s`` in all (None: as long as it takes), and count the rest as unsent."""
        with self._lock:
            pending, self.pending = self.pending, []
        if block:
            wait(pending, timeout=wait_s)
        still: list[Future[int]] = []
        for future in pending:
            if not future.done():
                if block:
                    self.unsent += 1
                else:
                    still.append(future)
                continue
            try:
                future.result()
                self.appended += 1
            except (ExamCoreError, ClientError, OSError) as e:
                self.refused.append(str(e))
                print(f"gateway: entry refused: {e}", file=sys.stderr)
        with self._lock:
            self.pending[:0] = still

    def cycle(self) -> None:
        """Poll every device once in turn, then decide every room's gate (diagnostic mode)."""
        for monitor in self.monitors:
            monitor.poll_once()
        self.decide_gates()

    def run_threads(self, stop: threading.Event, deadline: float | None = None) -> int:
        """One polling thread per device, so a silent device never delays the others (research
        serial.md §3.3); this thread decides the gates each period.  Returns the periods run."""
        period = self.config.poll_ms / 1000

        def poll_forever(monitor: DeviceMonitor) -> None:
            while not stop.is_set():
                started = time.monotonic()
                monitor.poll_once()
                monitor.check_staleness()
                stop.wait(max(0.0, period - (time.monotonic() - started)))

        threads = [
            threading.Thread(target=poll_forever, args=(m,), name=f"poll {m.name}", daemon=True)
            for m in self.monitors
        ]
        for thread in threads:
            thread.start()
        periods = 0
        try:
            while not stop.wait(period):
                self.decide_gates()
                periods += 1
                if deadline is not None and time.monotonic() >= deadline:
                    break
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
        return periods

    def _views(self, now: int) -> dict[str, DeviceView]:
        return {m.name: m.view(now) for m in self.monitors}

    def decide_gates(self) -> None:
        """Decide every room's gate; sign it when it changed or at the heartbeat."""
        with self._decide_lock:
            now = self._clock()
            views = self._views(now)
            for room in self.config.rooms:
                decision = decide_gate(room, views)
                key = (decision.allowed, decision.reasons)
                last = self._last_gate_ms.get(room.room)
                heartbeat = last is None or now - last >= self.config.monitor.heartbeat_ms
                if self._last_gate.get(room.room) != key or heartbeat:
                    self._last_gate[room.room] = key
                    self._last_gate_ms[room.room] = now
                    self.sink("device.gate", gate_fields(decision, now))
        self._collect()

    def request_gate(self, room: str, exam: str) -> tuple[GateDecision, int]:
        """An exam asks to start in ``room``: decide now, sign the decision, wait until it is
        durable, and return it with its log index (the caller starts the exam only if allowed).

        Raises:
            DeviceConfigError: the room is not configured on this gateway.
            ExamCoreError: the log refused the decision (it is then not durable).
            ClientError: the same, from a centre over HTTP.
        """
        requirements = self._requirements(room)
        with self._decide_lock:
            now = self._clock()
            decision = decide_gate(requirements, self._views(now))
            queued = self.log.submit("device.gate", gate_fields(decision, now, exam))
        index = queued.result(DEFAULT_WAIT_S)
        if decision.allowed:
            for name in requirements.device_names:
                self._exam_of_device[name] = exam
        return decision, index

    def gate_now(self, room: str) -> GateDecision:
        """What ``room``'s gate would decide now, neither signed nor logged (for a caller that
        waits until the devices' state it caused has been read).

        Raises:
            DeviceConfigError: the room is not configured on this gateway.
        """
        requirements = self._requirements(room)
        with self._decide_lock:
            return decide_gate(requirements, self._views(self._clock()))

    def end_exam(self, room: str, exam: str | None = None) -> None:
        """The exam in ``room`` ended: its devices' events no longer name it.  Given ``exam``,
        only a device that still names that exam lets go: where crews share a room, another
        exam started since holds the room's devices, and one crew's end must not clear it."""
        for name in self._requirements(room).device_names:
            if exam is None or self._exam_of_device.get(name) == exam:
                self._exam_of_device.pop(name, None)

    def _requirements(self, room: str) -> RoomRequirements:
        requirements = next((r for r in self.config.rooms if r.room == room), None)
        if requirements is None:
            raise DeviceConfigError(f"room {room!r} is not configured on this gateway")
        return requirements

    def finish(self) -> None:
        """Close the devices and wait, for at most ``finish_wait_s``, for the log to take what
        is queued; what it has not taken by then is counted in ``unsent``."""
        for monitor in self.monitors:
            monitor.device.close()
        self._collect(block=True, wait_s=self._finish_wait_s)
        if self.unsent:
            print(
                f"gateway: {self.unsent} entries not logged: the centre had not taken them "
                f"{self._finish_wait_s:g} s after the stop",
                file=sys.stderr,
            )


def run_gateway_loop(
    root: Path,
    config: GatewayConfig,
    stop: threading.Event,
    *,
    duration_s: float | None = None,
    cycles: int | None = None,
) -> int:
    """Run against the centre in ``root`` (on this machine) until ``stop`` is set (or the
    duration/cycle limit); exit code 1 if any entry was refused by the log.

    Raises:
        StoreError: ``root`` is not a centre directory.
    """
    try:
        centre = Centre.open(root)
    except FileNotFoundError as e:
        raise StoreError(f"{root} is not a centre directory") from e
    with centre:
        return _run(Gateway(centre, config), stop, duration_s, cycles)


def run_remote_gateway_loop(
    client: CentreClient,
    key_file: Path,
    config: GatewayConfig,
    stop: threading.Event,
    *,
    passphrase: bytes | None = None,
    duration_s: float | None = None,
    cycles: int | None = None,
) -> int:
    """Run against a centre's HTTP service, signing with the key in ``key_file`` (registered
    by the centre's administrator under ``config.key``); exit code 1 if any entry was refused.

    Raises:
        KeyFormatError: the key file is unreadable, readable by others, or not Ed25519.
        ClientError: the centre cannot be reached to learn its origin and the key's seq.
        StoreError: the key name in the configuration is not a valid name.
    """
    origin = client.origin()
    signer = read_key_file(key_file, full_key_name(origin, config.key), passphrase)
    log = RemoteLog(client, signer, origin=origin)
    try:
        return _run(Gateway(log, config), stop, duration_s, cycles)
    finally:
        log.close(timeout=1.0)  # the gateway has waited for what it queued


def _run(
    gateway: Gateway, stop: threading.Event, duration_s: float | None, cycles: int | None
) -> int:
    config = gateway.config
    deadline = None if duration_s is None else time.monotonic() + duration_s
    done = 0
    try:
        if cycles is None:
            done = gateway.run_threads(stop, deadline)
        else:
            # Diagnostic mode: a fixed number of sequential cycles, deterministic order.
            period = config.poll_ms / 1000
            while not stop.is_set() and done < cycles:
                started = time.monotonic()
                gateway.cycle()
                done += 1
                stop.wait(max(0.0, period - (time.monotonic() - started)))
    except KeyboardInterrupt:
        stop.set()
    finally:
        gateway.finish()
    print(
        f"gateway: {done} cycles, {gateway.appended} entries signed, "
        f"{len(gateway.refused)} refused, {gateway.unsent} not sent",
        flush=True,
    )
    return 1 if gateway.refused or gateway.unsent else 0
