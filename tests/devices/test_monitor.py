"""The monitor: link states on an injected clock, no lost alarms, events that fit the schemas."""

from __future__ import annotations

import pytest

from devices.detector import DetectorDriver
from devices.emulators import DetectorModel, FaultSpec, JammerModel, ModbusSlave
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.monitor import OFFLINE, ONLINE, STALE, DeviceMonitor, MonitorConfig
from devices.transport import SerialLink
from exam_core.log.schemas import validate_event
from tests.devices.conftest import ManualClock, ServeFn, TickingClock

Events = list[tuple[str, dict[str, object]]]


def _monitor(url: str, clock: ManualClock, events: Events, kind: str = "jammer") -> DeviceMonitor:
    # The link waits on its own fake clock, so a timeout takes reads, not time; the monitor's
    # clock moves only when the test says.
    link = SerialLink(url, baudrate=115200, clock=TickingClock(0.01), backoff_min_s=0.0)
    master = ModbusMaster(link, response_timeout_s=0.05, frame_timeout_s=0.02, read_retries=0)
    driver: JammerDriver | DetectorDriver
    if kind == "jammer":
        driver = JammerDriver(master, 1, wall_clock=lambda: 1_700_000_000)
    else:
        driver = DetectorDriver(master, 2, wall_clock=lambda: 1_700_000_000)
    return DeviceMonitor(
        f"room-1/{kind}",
        driver,
        lambda t, f: events.append((t, f)),
        config=MonitorConfig(stale_after_ms=1000, stale_min_failures=2, offline_after_ms=10_000),
        clock_ms=clock.ms,
    )


def _states(events: Events) -> list[str]:
    return [str(f["state"]) for t, f in events if t == "device.state"]


def test_silent_device_goes_stale_then_offline_once_each(
    serve: ServeFn, clock: ManualClock
) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    assert monitor.poll_once() is not None
    assert _states(events) == [ONLINE]

    server.set_faults(FaultSpec(drop=1.0))
    clock.advance(0.5)
    assert monitor.poll_once() is None
    assert monitor.state == ONLINE  # one failure, not yet 1 s: no change
    clock.advance(0.4)
    monitor.poll_once()
    assert monitor.state == ONLINE  # two failures but only 0.9 s: the AND rule holds it
    clock.advance(0.2)
    monitor.poll_once()
    assert monitor.state == STALE
    for _ in range(3):
        clock.advance(1.0)
        monitor.poll_once()
    assert _states(events) == [ONLINE, STALE]
    clock.advance(6.0)  # 10.1 s since the last good poll
    monitor.check_staleness()
    assert monitor.state == OFFLINE
    monitor.poll_once()
    monitor.check_staleness()
    assert _states(events) == [ONLINE, STALE, OFFLINE]
    stale = next(f for t, f in events if t == "device.state" and f["state"] == STALE)
    assert "responsetimeout" in str(stale["cause"])

    server.set_faults(FaultSpec())
    clock.advance(1.0)
    assert monitor.poll_once() is not None
    assert _states(events) == [ONLINE, STALE, OFFLINE, ONLINE]
    back = [f for t, f in events if t == "device.state"][-1]
    assert back["previous"] == OFFLINE
    assert back["silent_ms"] == 10_000  # the stale period: from STALE (1.1 s) to 11.1 s


def test_device_never_seen_goes_offline(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}), faults="drop=1")
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    clock.advance(9.9)
    monitor.poll_once()
    assert _states(events) == []
    clock.advance(0.2)
    monitor.check_staleness()
    assert _states(events) == [OFFLINE]


def test_alarm_raised_and_cleared_between_polls_is_not_lost(
    serve: ServeFn, clock: ManualClock
) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    events.clear()
    server.do("band-alarm", {"band": 3, "alarm": "vswr"})
    server.do("band-clear", {"band": 3, "alarm": "vswr"})
    clock.advance(0.25)
    reading = monitor.poll_once()
    assert reading is not None
    assert not reading.flags["alarm"]  # the live status shows nothing any more
    records = [(f["event_type"], f["subject"]) for t, f in events if t == "device.event"]
    assert records == [(2, 3), (3, 3)]  # but the FIFO kept the set and the clear of band 3
    assert all(f["raw"] for t, f in events if t == "device.event")


def test_live_alarm_and_status_changes_are_events(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    server.do("start")
    server.do("band-alarm", {"band": 3, "alarm": "vswr"})
    clock.advance(0.25)
    monitor.poll_once()
    alarms = [(f["name"], f["action"]) for t, f in events if t == "device.alarm"]
    assert alarms == [("high-vswr", "set")]
    statuses = [f["state"] for t, f in events if t == "device.status"]
    assert statuses == ["standby", "jamming"]
    server.do("band-clear", {"band": 3, "alarm": "vswr"})
    clock.advance(0.25)
    monitor.poll_once()
    alarms = [(f["name"], f["action"]) for t, f in events if t == "device.alarm"]
    assert alarms == [("high-vswr", "set"), ("high-vswr", "clear")]
    # The bands came back: a status change too.
    assert [f["state"] for t, f in events if t == "device.status"][-1] == "jamming"


def test_heartbeat_status(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    clock.advance(30)
    monitor.poll_once()
    assert sum(t == "device.status" for t, _ in events) == 1
    clock.advance(30)
    monitor.poll_once()
    assert sum(t == "device.status" for t, _ in events) == 2


def test_detections_and_reboot(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({2: DetectorModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events, kind="detector")
    monitor.poll_once()
    server.do("detect", {"category": "bluetooth", "level": -450})
    clock.advance(0.25)
    monitor.poll_once()
    assert [(f["name"], f["action"]) for t, f in events if t == "device.detection"] == [
        ("bluetooth", "set")
    ]
    assert ("category-bluetooth", "set") in [
        (f["name"], f["action"]) for t, f in events if t == "device.alarm"
    ]
    clock.advance(5)
    server.do("reboot")
    monitor.poll_once()
    reboots = [f for t, f in events if t == "device.reboot"]
    assert len(reboots) == 1
    assert reboots[0]["boot_count"] == 2


@pytest.mark.parametrize("kind", ["jammer", "detector"])
def test_every_event_fits_its_schema(serve: ServeFn, clock: ManualClock, kind: str) -> None:
    model = JammerModel(clock) if kind == "jammer" else DetectorModel(clock)
    server = serve(ModbusSlave({model.unit: model}))
    events: Events = []
    monitor = _monitor(server.url, clock, events, kind=kind)
    monitor.poll_once()
    server.do("reboot")
    server.do("tamper" if kind == "detector" else "start")
    clock.advance(1)
    monitor.poll_once()
    server.set_faults(FaultSpec(drop=1.0))
    for _ in range(12):
        clock.advance(1)
        monitor.poll_once()
    assert {t for t, _ in events} >= {"device.state", "device.status", "device.event"}
    for seq, (type_, fields) in enumerate(events, start=1):
        event = {
            "v": 1,
            "log": "exam.example/c/1",
            "type": type_,
            "ts": 1_700_000_000_000,
            "actor": "exam.example/c/1/gateway/g1",
            "seq": seq,
            **fields,
        }
        assert validate_event(event).type == type_


def test_unplug_and_replug_are_logged_and_recovered(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    server.do("unplug")
    for _ in range(4):
        clock.advance(0.6)
        monitor.poll_once()
    assert monitor.state == STALE
    stale = next(f for t, f in events if t == "device.state" and f["state"] == STALE)
    assert "link" in str(stale["cause"])
    server.do("replug")
    clock.advance(0.6)
    assert monitor.poll_once() is not None
    assert _states(events) == [ONLINE, STALE, ONLINE]


def test_fifo_overflow_is_reported_as_lost_records(serve: ServeFn, clock: ManualClock) -> None:
    model = JammerModel(clock)
    server = serve(ModbusSlave({1: model}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()  # drains the boot record (event_seq 1)
    for _ in range(35):  # 70 records; the device keeps the newest 64
        server.do("alarm", {"alarm": "tamper"})
        server.do("clear", {"alarm": "tamper"})
    for _ in range(5):  # at most 16 records per poll
        clock.advance(0.25)
        monitor.poll_once()
    records = [f for t, f in events if t == "device.event"]
    lost = [f for f in records if f["event_type"] == 0]
    assert len(lost) == 1
    assert lost[0]["value"] == 6
    assert [f["event_seq"] for f in records if f["event_type"] != 0][1:] == list(range(8, 72))


def test_stale_event_carries_the_damaged_frame(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(ModbusSlave({1: JammerModel(clock)}))
    events: Events = []
    monitor = _monitor(server.url, clock, events)
    monitor.poll_once()
    server.set_faults(FaultSpec(bitflip=1.0))
    for _ in range(3):
        clock.advance(0.6)
        monitor.poll_once()
    stale = next(f for t, f in events if t == "device.state" and f["state"] == STALE)
    assert str(stale["cause"]).startswith("crc: ")
    raw = bytes.fromhex(str(stale["raw"]))
    assert len(raw) == 17  # the 6-register counters reply, one bit flipped (seed 0)
    assert raw[:2] == b"\x01\x04"
