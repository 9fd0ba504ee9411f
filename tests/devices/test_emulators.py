"""The emulators answer per research/serial.md §6: exceptions, silence, scenarios, faults."""

from __future__ import annotations

import pytest

from devices.detector import DetectorDriver
from devices.emulators import (
    DetectorModel,
    FaultInjector,
    FaultSpec,
    JammerModel,
    ModbusSlave,
    make_responder,
    parse_scenario,
)
from devices.errors import DeviceConfigError, ExceptionResponseError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.modbus_rtu import (
    READ_INPUT_REGISTERS,
    WRITE_SINGLE_COIL,
    Request,
    encode_request,
    with_crc,
)
from devices.register_map import UNAVAILABLE_SIGNED, signed16
from devices.transport import SerialLink
from tests.devices.conftest import ManualClock, ServeFn


def _ask(model: JammerModel | DetectorModel, request: Request) -> bytes:
    slave = ModbusSlave({model.unit: model})
    (exchange,) = slave.feed(encode_request(request), 0.0)
    assert exchange.reply is not None
    return exchange.reply


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (Request(1, READ_INPUT_REGISTERS, 0x000D, 1), 2),  # gap in the map
        (Request(1, READ_INPUT_REGISTERS, 0x0010, 13), 2),  # partly outside
        (Request(1, WRITE_SINGLE_COIL, 9, 1, (0xFF00,)), 2),
        (Request(1, WRITE_SINGLE_COIL, 1, 1, (0x1234,)), 3),
        (Request(1, 0x06, 0x0105, 1, (5,)), 3),  # vswr threshold below range
        (Request(1, 0x06, 0x0100, 1, (7,)), 3),  # unit id needs unlock
        (Request(1, 0x06, 0x0120, 1, (99,)), 3),  # unknown command
    ],
)
def test_jammer_exceptions(request_: Request, code: int) -> None:
    reply = _ask(JammerModel(clock=lambda: 0.0), request_)
    assert reply[1] == request_.function | 0x80
    assert reply[2] == code


def test_quantity_out_of_range() -> None:
    slave = ModbusSlave({1: JammerModel(clock=lambda: 0.0)})
    (exchange,) = slave.feed(with_crc(bytes.fromhex("01030100007e")), 0.0)
    assert exchange.reply is not None
    assert exchange.reply[1:3] == b"\x83\x03"


def test_illegal_function_found_by_crc_hunting() -> None:
    model = JammerModel(clock=lambda: 0.0)
    slave = ModbusSlave({1: model})
    (exchange,) = slave.feed(b"\xff\x00" + with_crc(b"\x01\x2b\x0e\x01\x00"), 0.0)
    assert exchange.reply is not None
    assert exchange.reply[1:3] == b"\xab\x01"


def test_other_units_and_broadcast_get_silence() -> None:
    slave = ModbusSlave({1: JammerModel(clock=lambda: 0.0)})
    exchanges = slave.feed(
        encode_request(Request(5, READ_INPUT_REGISTERS, 0, 1))
        + encode_request(Request(0, 0x06, 0x0120, 1, (2,))),
        0.0,
    )
    assert [e.reply for e in exchanges] == [None, None]


def test_stale_fragment_is_discarded() -> None:
    slave = ModbusSlave({1: JammerModel(clock=lambda: 0.0)})
    frame = encode_request(Request(1, READ_INPUT_REGISTERS, 0, 1))
    assert slave.feed(frame[:3], 0.0) == []
    (exchange,) = slave.feed(frame, 1.0)
    assert exchange.reply is not None


def test_rf_enable_needs_a_band(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    model.band_enable = [False] * 8
    server = serve(ModbusSlave({1: model}))
    driver = JammerDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 1)
    with pytest.raises(ExceptionResponseError) as info:
        driver.start()
    assert info.value.code == 3


@pytest.mark.parametrize("band", [0, 9, -1])
def test_a_band_outside_the_plan_is_a_domain_error_before_any_io(serve: ServeFn, band: int) -> None:
    server = serve(make_responder("jammer"))
    driver = JammerDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 1)
    with pytest.raises(DeviceConfigError, match=f"band {band} outside 1-8"):
        driver.set_band(band, True)


def test_commands_are_read_back(serve: ServeFn) -> None:
    server = serve(make_responder("jammer"))
    driver = JammerDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 1)
    assert driver.start().state == 1
    driver.set_band(4, False)
    assert not driver.poll().flags["bands"] & {"band-4"}
    server.do("alarm", {"alarm": "tamper"})
    server.do("clear", {"alarm": "tamper"})
    assert driver.acknowledge().alarm_latched == 0
    assert driver.stop().active_bands == 0
    bands = driver.read_bands()
    assert [b.f_low for b in bands][:3] == [925, 1805, 2110]


def test_detector_categories_and_acknowledge_are_read_back(serve: ServeFn) -> None:
    server = serve(make_responder("detector"))
    driver = DetectorDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 2)
    server.do("detect", {"category": "cellular", "level": -500})  # above the -60.0 dBm alarm
    reading = driver.poll()
    assert reading.flags["detected"] == {"cellular"}
    assert reading.flags["alarm"] == reading.flags["latched"] == {"category-cellular"}
    assert reading.extra["state"] == "alarm"
    first = driver.read_categories()
    assert len(first) == 10
    assert (first[0].current_level, first[0].peak_since_ack, first[0].hit_count) == (-500, -500, 1)
    assert first[0].state == 2
    assert first[1].hit_count == 0
    server.do("undetect", {"category": "cellular"})
    status = driver.acknowledge()
    assert status.alarm_latched == status.alarm_live == 0
    after = driver.read_categories()[0]
    # acknowledge restarts the peak from the current (now absent) level; the hit count stays
    assert after.peak_since_ack == after.current_level == signed16(UNAVAILABLE_SIGNED)
    assert after.hit_count == 1
    assert after.state == 0
    assert driver.poll().extra["state"] == "scanning"


def test_scenario_on_injected_clock(serve: ServeFn, clock: ManualClock) -> None:
    steps = parse_scenario(
        '{"steps": [{"at_ms": 5000, "action": "band-alarm", "band": 3, "alarm": "vswr"},'
        ' {"at_ms": 1000, "action": "start"}]}'
    )
    server = serve(ModbusSlave({1: JammerModel(clock)}), scenario=steps, clock=clock)
    driver = JammerDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 1)
    assert driver.poll().extra["state"] == "standby"
    clock.advance(1.0)
    # The server applies due steps on its next turn; poll until it has.
    for _ in range(50):
        if driver.poll().extra["state"] == "jamming":
            break
    assert driver.poll().extra["state"] == "jamming"
    assert "band-3" in driver.poll().flags["bands"]
    clock.advance(4.0)
    for _ in range(50):
        reading = driver.poll()
        if reading.flags["alarm"]:
            break
    assert reading.flags["alarm"] == {"high-vswr"}
    assert "band-3" not in reading.flags["bands"]
    assert server.errors == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"steps": 3}',
        '{"steps": [{"at_ms": -1, "action": "x"}]}',
        '{"steps": [{"at_ms": 1, "action": ""}]}',
        '{"steps": [{"at_ms": true, "action": "x"}]}',
        '{"steps": ["x"]}',
    ],
)
def test_bad_scenarios(text: str) -> None:
    with pytest.raises(DeviceConfigError):
        parse_scenario(text)


def test_unknown_scenario_action_is_refused() -> None:
    model = JammerModel(clock=lambda: 0.0)
    with pytest.raises(DeviceConfigError):
        model.act("explode", {})
    with pytest.raises(DeviceConfigError):
        model.act("band-alarm", {"band": 9})


def test_fault_spec_parsing() -> None:
    spec = FaultSpec.parse("bitflip=0.05,garbage=0.02,drop=0.1,split=0.2,slow=300ms,echo,seed=7")
    assert spec == FaultSpec(
        bitflip=0.05, garbage=0.02, drop=0.1, split=0.2, slow_s=0.3, echo=True, seed=7
    )
    assert FaultSpec.parse("") == FaultSpec()
    assert FaultSpec.parse("split-gap=2s,wrong-unit=1").split_gap_s == 2.0


@pytest.mark.parametrize(
    "spec", ["bitflip=2", "drop=x", "nonsense=1", "slow=fast", "seed=x", "echo=1"]
)
def test_bad_fault_specs(spec: str) -> None:
    with pytest.raises(DeviceConfigError):
        FaultSpec.parse(spec)


def test_fault_injector_is_reproducible() -> None:
    reply = bytes(range(29))
    spec = FaultSpec.parse("bitflip=0.5,garbage=0.5,split=0.5,seed=3")
    a = [FaultInjector(spec).apply(reply) for _ in range(1)]
    b = [FaultInjector(spec).apply(reply) for _ in range(1)]
    assert a == b
    flipped = FaultInjector(FaultSpec(bitflip=1.0)).apply(reply)
    assert len(flipped) == 1
    diff = int.from_bytes(flipped[0].data, "big") ^ int.from_bytes(reply, "big")
    assert bin(diff).count("1") == 1
    assert FaultInjector(FaultSpec(drop=1.0)).apply(reply) == []


def test_refused_scenario_actions_are_reported_not_fatal(serve: ServeFn) -> None:
    model = JammerModel(clock=lambda: 0.0)
    model.band_enable = [False] * 8
    steps = parse_scenario(
        '{"steps": [{"at_ms": 0, "action": "start"}, {"at_ms": 0, "action": "band-enable",'
        ' "band": 12}, {"at_ms": 0, "action": "faults", "spec": "nonsense"}]}'
    )
    server = serve(ModbusSlave({1: model}), scenario=steps)
    driver = JammerDriver(ModbusMaster(SerialLink(server.url, baudrate=115200)), 1)
    assert driver.poll().extra["state"] == "standby"  # the server thread is still serving
    assert len(server.errors) == 3
    assert "refused 'start'" in server.errors[0]
