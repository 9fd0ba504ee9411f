"""Fixtures: emulators served on real ptys and sockets, and an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import pytest

from devices.emulators import EmulatorServer, FaultSpec, PtyEndpoint, SocketEndpoint, Step
from devices.emulators.server import Clock, Responder


class ManualClock:
    """A monotonic clock the test moves by hand (seconds), with a millisecond view."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def ms(self) -> int:
        return round(self.now * 1000)

    def advance(self, seconds: float) -> None:
        self.now += seconds


class TickingClock(ManualClock):
    """A fake monotonic clock that moves ``step`` seconds each time it is read.

    Time passes only when a waiting loop looks at it, so a deadline of T seconds ends after
    about T / step reads, however loaded the machine: a timeout is reached without waiting.
    """

    def __init__(self, step: float, start: float = 1000.0) -> None:
        super().__init__(start)
        self.step = step
        self.reads = 0

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        self.reads += 1
        return now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


class ServeFn(Protocol):
    """The ``serve`` fixture: start an emulator server on a pty (default) or a socket."""

    def __call__(
        self,
        responder: Responder,
        *,
        transport: str = ...,
        baudrate: int = ...,
        faults: str = ...,
        scenario: Sequence[Step] = ...,
        clock: Clock = ...,
    ) -> EmulatorServer: ...


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeFn]:
    """Start an emulator server; ``transport='pty'`` (default) or ``'socket'``."""
    servers: list[EmulatorServer] = []

    def start(
        responder: Responder,
        *,
        transport: str = "pty",
        baudrate: int = 115200,
        faults: str = "",
        scenario: Sequence[Step] = (),
        clock: Clock = time.monotonic,
    ) -> EmulatorServer:
        if transport == "pty":
            endpoint: PtyEndpoint | SocketEndpoint = PtyEndpoint(tmp_path / f"tty{len(servers)}")
        else:
            endpoint = SocketEndpoint()
        server = EmulatorServer(
            responder,
            endpoint,
            baudrate=baudrate,
            faults=FaultSpec.parse(faults),
            scenario=scenario,
            clock=clock,
        )
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()
    crashes = [e for server in servers for e in server.errors if e.startswith("emulator error")]
    assert not crashes, crashes
