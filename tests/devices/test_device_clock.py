"""Setting a device's clock (RTC): a real clock ticks between the write and the read-back.

The driver writes the clock at connect and reads it back; a read-back within one second of
what was written is the clock set and ticking, a larger difference a clock that did not take.
The emulated devices' clocks tick from the moment they are set, as real ones do.
"""

from __future__ import annotations

import pytest

from devices.emulators import JammerModel, ModbusSlave
from devices.errors import ReadbackError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.modbus_rtu import WRITE_MULTIPLE_REGISTERS, Request
from devices.register_map import JAMMER_RTC
from devices.transport import SerialLink
from tests.devices.conftest import ManualClock, ServeFn

WRITTEN = 1_700_000_000


class LaggingJammer(JammerModel):
    """A jammer whose clock moves ``lag_s`` between setting its RTC and the next request."""

    def __init__(self, clock: ManualClock, lag_s: float) -> None:
        super().__init__(clock)
        self.manual = clock
        self.lag_s = lag_s

    def handle(self, request: Request) -> bytes:
        reply = super().handle(request)
        if request.function == WRITE_MULTIPLE_REGISTERS and request.address == JAMMER_RTC:
            self.manual.advance(self.lag_s)
        return reply


def _driver(serve: ServeFn, model: JammerModel) -> JammerDriver:
    server = serve(ModbusSlave({1: model}))
    master = ModbusMaster(SerialLink(server.url, baudrate=115200))
    return JammerDriver(master, 1, wall_clock=lambda: WRITTEN)


def test_a_clock_that_ticked_once_before_the_read_back_is_set(
    serve: ServeFn, clock: ManualClock
) -> None:
    model = LaggingJammer(clock, lag_s=1.0)
    driver = _driver(serve, model)
    driver.connect()
    assert driver.connected
    assert model.rtc_s() == WRITTEN + 1


def test_a_clock_further_off_than_a_second_is_refused(serve: ServeFn, clock: ManualClock) -> None:
    driver = _driver(serve, LaggingJammer(clock, lag_s=2.0))
    with pytest.raises(ReadbackError, match=rf"wrote {WRITTEN}, read back {WRITTEN + 2} \(\+2 s"):
        driver.connect()
    assert not driver.connected


def test_the_emulated_clock_ticks_from_when_it_was_set(serve: ServeFn, clock: ManualClock) -> None:
    driver = _driver(serve, JammerModel(clock))
    driver.connect()
    clock.advance(5.0)
    back = driver.master.read_holding_registers(1, JAMMER_RTC, 2).reply.values
    assert (back[0] << 16) | back[1] == WRITTEN + 5
