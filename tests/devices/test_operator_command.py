"""Named operator commands: each reaches the right driver call and is read back from the
emulated device; a command for another kind of device is refused before any I/O."""

from __future__ import annotations

import pytest

from devices.canary import CanaryDriver
from devices.detector import DetectorDriver
from devices.emulators import DetectorModel, JammerModel, ModbusSlave
from devices.errors import DeviceConfigError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.operator_command import COMMAND_KINDS, perform_command
from devices.transport import SerialLink
from tests.devices.conftest import ServeFn

_NOWHERE = "socket://127.0.0.1:9"


def _master(url: str) -> ModbusMaster:
    return ModbusMaster(SerialLink(url, baudrate=115200, backoff_min_s=0.0))


def test_jammer_commands_are_read_back(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    driver = JammerDriver(_master(serve(ModbusSlave({1: model})).url), 1, set_clock=False)
    try:
        perform_command(driver, "band-off", 2)
        assert "band-2" not in driver.poll().flags["bands"]
        perform_command(driver, "stop")
        assert driver.poll().extra["state"] != "jamming"
        perform_command(driver, "start")
        assert driver.poll().extra["state"] == "jamming"
    finally:
        driver.close()


def test_detector_commands_are_read_back(serve: ServeFn) -> None:
    model = DetectorModel(clock=lambda: 0.0)
    driver = DetectorDriver(_master(serve(ModbusSlave({2: model})).url), 2, set_clock=False)
    try:
        perform_command(driver, "disarm")
        assert model.armed is False
        perform_command(driver, "arm")
        assert model.armed is True
        perform_command(driver, "ack")
    finally:
        driver.close()


@pytest.mark.parametrize("action", sorted(a for a, k in COMMAND_KINDS.items() if k == "detector"))
def test_detector_command_refused_by_a_jammer(action: str) -> None:
    driver = JammerDriver(_master(_NOWHERE), 1)
    with pytest.raises(DeviceConfigError, match="not a jammer command"):
        perform_command(driver, action)
    assert not driver.connected


def test_band_command_needs_a_band() -> None:
    driver = JammerDriver(_master(_NOWHERE), 1)
    with pytest.raises(DeviceConfigError, match="not a jammer command"):
        perform_command(driver, "band-on")


def test_canary_takes_no_commands() -> None:
    driver = CanaryDriver(SerialLink(_NOWHERE))
    with pytest.raises(DeviceConfigError, match="canary takes no commands"):
        perform_command(driver, "ack")
