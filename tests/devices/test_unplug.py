"""Unplug and replug: the link is reported lost, reopened with back-off, and polls recover."""

from __future__ import annotations

import os

import pytest

from devices.emulators import JammerModel, ModbusSlave
from devices.errors import LinkError, LinkLostError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.transport import SerialLink
from tests.devices.conftest import ManualClock, ServeFn


def _poll_until_failure(driver: JammerDriver) -> None:
    for _ in range(3):  # a socket may need a write before the peer's close shows
        driver.poll()


@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_unplug_replug_recovers(serve: ServeFn, clock: ManualClock, transport: str) -> None:
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}), transport=transport)
    link = SerialLink(server.url, baudrate=115200, clock=clock, backoff_min_s=0.5)
    driver = JammerDriver(ModbusMaster(link, response_timeout_s=0.2), 1, set_clock=False)
    assert driver.poll().extra["state"] == "standby"
    assert driver.connected

    server.do("unplug")
    with pytest.raises(LinkLostError):
        _poll_until_failure(driver)
    assert not link.is_open
    assert not driver.connected

    # Inside the back-off window nothing is tried; after it, the port is still gone.
    with pytest.raises(LinkError, match="back-off"):
        driver.poll()
    clock.advance(0.6)
    with pytest.raises(LinkError, match="cannot open"):
        driver.poll()
    # The back-off doubles after each failed attempt (0.5 s -> 1 s -> 2 s ...).
    clock.advance(0.6)
    with pytest.raises(LinkError, match="back-off"):
        driver.poll()

    server.do("replug")
    clock.advance(10.0)
    reading = driver.poll()
    assert reading.extra["state"] == "standby"
    assert link.opens == 2
    assert link.losses == 1


def test_replugged_pty_has_a_new_tty_behind_the_stable_name(serve: ServeFn) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock=lambda: 0.0)}))
    before = os.path.realpath(server.url)
    server.do("unplug")
    server.do("replug")
    assert os.path.realpath(server.url) != before or os.path.exists(server.url)


def test_reboot_is_detected_and_identity_reread(serve: ServeFn, clock: ManualClock) -> None:
    model = JammerModel(clock=clock)
    server = serve(ModbusSlave({1: model}))
    link = SerialLink(server.url, baudrate=115200)
    driver = JammerDriver(ModbusMaster(link), 1, set_clock=False)
    first = driver.poll()
    assert not first.rebooted
    clock.advance(100)
    assert not driver.poll().rebooted
    server.do("reboot")
    after = driver.poll()
    assert after.rebooted
    assert after.values["boot_count"] == 2
    assert [e.type for e in after.events] == [6]  # the boot record of the new power cycle


def test_a_pty_can_be_opened_again_with_parity(serve: ServeFn) -> None:
    # Linux ptys refuse the settings of a previous even-parity client unless reset.
    server = serve(ModbusSlave({1: JammerModel(clock=lambda: 0.0)}))
    for _ in range(3):
        link = SerialLink(server.url, baudrate=19200, parity="E")
        driver = JammerDriver(ModbusMaster(link), 1, set_clock=False)
        assert driver.poll().extra["state"] == "standby"
        link.close()
