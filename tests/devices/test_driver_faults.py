"""Under every injected fault the driver never accepts a wrong value, names the cause, and
recovers by itself once the fault stops (research/serial.md §5)."""

from __future__ import annotations

import pytest

from devices.emulators import FaultSpec, JammerModel, ModbusSlave
from devices.errors import (
    CrcError,
    DeviceError,
    ExceptionResponseError,
    FrameError,
    LocalEchoError,
    ResponseTimeoutError,
    UnexpectedFunctionError,
    UnexpectedUnitError,
)
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.register_map import JammerStatus, decode_jammer_status
from devices.transport import SerialLink
from tests.devices.conftest import ServeFn


def _expected(model: JammerModel) -> JammerStatus:
    regs = model.input_registers()
    return decode_jammer_status(tuple(regs[0x10 + i] for i in range(12)))


def _driver(url: str, *, echo: bool = False, retries: int = 0) -> JammerDriver:
    link = SerialLink(url, baudrate=115200, local_echo=echo, backoff_min_s=0.0)
    master = ModbusMaster(link, response_timeout_s=0.1, frame_timeout_s=0.03, read_retries=retries)
    return JammerDriver(master, 1, set_clock=False)


# Each fault at probability 1 must produce exactly its own cause.
PRECISE = [
    ("bitflip=1", (CrcError,)),
    ("garbage=1", (CrcError,)),
    ("drop=1", (ResponseTimeoutError,)),
    ("wrong-unit=1", (UnexpectedUnitError,)),
    ("wrong-function=1", (UnexpectedFunctionError,)),
    ("slow=200ms", (ResponseTimeoutError,)),
    ("split=1,split-gap=150ms", (ResponseTimeoutError,)),
    ("echo", (LocalEchoError,)),
]


@pytest.mark.parametrize(("spec", "causes"), PRECISE, ids=[p[0] for p in PRECISE])
def test_each_fault_is_reported_with_its_cause_and_recovered(
    serve: ServeFn, spec: str, causes: tuple[type[DeviceError], ...]
) -> None:
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}), faults=spec)
    driver = _driver(server.url)
    errors: list[DeviceError] = []
    for _ in range(3):
        try:
            status, _ = driver.read_status()
        except DeviceError as e:
            errors.append(e)
            continue
        # Only a reply later than the deadline can land in the next exchange; it is then the
        # same device's answer to the same request, so its value is still the true one.
        assert spec.startswith(("slow", "split"))
        assert status == _expected(model)
    assert errors
    assert isinstance(errors[0], causes)
    if spec.startswith(("slow", "split")):
        assert all(isinstance(e, (*causes, FrameError)) for e in errors)
    else:
        assert len(errors) == 3
        assert all(isinstance(e, causes) for e in errors)
    server.set_faults(FaultSpec())
    for _ in range(10):  # late replies still in flight are refused, then it recovers
        try:
            first = driver.read_status()[0]
            break
        except (ResponseTimeoutError, FrameError):
            continue
    else:
        pytest.fail("no recovery after the fault stopped")
    assert first == _expected(model)
    for _ in range(3):
        assert driver.read_status()[0] == _expected(model)


def test_split_frame_inside_frame_timeout_is_accepted_correctly(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}), faults="split=1,split-gap=5ms")
    driver = _driver(server.url)
    for _ in range(5):
        status, _ = driver.read_status()
        assert status == _expected(model)


def test_local_echo_port_accepts_the_echo(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}), faults="echo")
    driver = _driver(server.url, echo=True)
    status, _ = driver.read_status()
    assert status == _expected(model)


def test_echo_expected_but_missing_is_reported(serve: ServeFn) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock=lambda: 0.0)}))
    driver = _driver(server.url, echo=True)
    with pytest.raises(LocalEchoError):
        driver.read_status()


@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_mixed_faults_never_yield_a_wrong_value(serve: ServeFn, transport: str) -> None:
    spec = "bitflip=0.1,garbage=0.1,drop=0.05,split=0.1,split-gap=2ms,wrong-unit=0.05,seed=11"
    model = JammerModel(clock=lambda: 0.0)
    server = serve(ModbusSlave({1: model}), faults=spec, transport=transport)
    driver = _driver(server.url, retries=1)
    truth = _expected(model)
    ok = 0
    causes: set[str] = set()
    for _ in range(150):
        try:
            status, _raw = driver.read_status()
        except DeviceError as e:
            causes.add(type(e).__name__)
            continue
        assert status == truth
        ok += 1
    assert ok > 100
    assert causes <= {
        "CrcError",
        "FrameError",
        "ResponseTimeoutError",
        "UnexpectedUnitError",
        "UnexpectedFunctionError",
    }
    assert sum(driver.master.failures.values()) > 0
    server.set_faults(FaultSpec())
    for _ in range(5):
        assert driver.read_status()[0] == truth


def test_exception_response_is_typed(serve: ServeFn) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock=lambda: 0.0)}))
    driver = _driver(server.url)
    with pytest.raises(DeviceError) as info:
        driver.master.read_input_registers(1, 0x0200, 2)
    assert type(info.value) is ExceptionResponseError
    assert info.value.code == 2
