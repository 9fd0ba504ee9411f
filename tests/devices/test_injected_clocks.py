"""Every wait in the transport and the drivers runs on an injected clock (STYLE §11).

Each test gives a deadline far longer than the test may take and a fake clock that moves a
large step at each read: the timeout must come from the fake clock, after a few reads, so the
test never waits for it.  Were the wait measured on the real clock, the fake clock would not
have moved past the deadline.  (The vendor driver's report deadline: ``test_vendor_jammer``.)
"""

from __future__ import annotations

import pytest

from devices.canary import CanaryDriver
from devices.emulators import CanaryModem, JammerModel, ModbusSlave
from devices.errors import ResponseTimeoutError
from devices.transport import SerialLink
from tests.devices.conftest import ServeFn, TickingClock

LONG_S = 60.0
"""Longer than any test here may run: reaching it on the real clock would fail the test."""


def _silent_link(serve: ServeFn, clock: TickingClock) -> SerialLink:
    # A jammer that is never asked anything: the line stays silent.
    server = serve(ModbusSlave({1: JammerModel(clock=lambda: 0.0)}))
    return SerialLink(server.url, baudrate=115200, clock=clock)


def test_receive_deadline_is_on_the_link_clock(serve: ServeFn) -> None:
    clock = TickingClock(step=5.0)
    link = _silent_link(serve, clock)
    start = clock.now
    with pytest.raises(ResponseTimeoutError, match="no reply"):
        link.receive(8, LONG_S)
    assert clock.now - start >= LONG_S
    assert clock.reads < 2 * LONG_S / clock.step


def test_receive_available_waits_on_the_link_clock(serve: ServeFn) -> None:
    clock = TickingClock(step=5.0)
    link = _silent_link(serve, clock)
    start = clock.now
    assert link.receive_available(LONG_S) == b""
    assert clock.now - start >= LONG_S


def test_silence_after_a_bad_frame_is_measured_on_the_link_clock(serve: ServeFn) -> None:
    clock = TickingClock(step=5.0)
    link = _silent_link(serve, clock)
    start = clock.now
    assert link.discard_until_silent(LONG_S / 2, LONG_S) == 0
    assert clock.now - start >= LONG_S / 2


def test_canary_reply_deadline_is_on_its_clock(serve: ServeFn) -> None:
    server = serve(CanaryModem(), faults="drop=1")  # the modem never answers
    clock = TickingClock(step=5.0)
    link = SerialLink(server.url, baudrate=115200, clock=TickingClock(step=1.0))
    driver = CanaryDriver(link, response_timeout_s=LONG_S, clock=clock)
    start = clock.now
    with pytest.raises(ResponseTimeoutError, match="did not complete"):
        driver.poll()
    assert clock.now - start >= LONG_S
