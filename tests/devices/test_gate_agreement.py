"""The live gate and the audit's gate replay agree on every fixture room, frame for frame.

Real drivers poll emulated devices over pseudo-terminals; every monitor event and every gate
decision is signed into a log as the gateway signs it; then the replayer recomputes each gate
from the frames that very entry cites.  Both sides must reach the same decision with the same
reasons, through the alarm, latched-alarm, detection, stale, offline and too-old cases, and a
jammer whose uptime freezes or runs ten times too fast (a recorded exchange played back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from devices.canary import CanaryDriver
from devices.detector import DetectorDriver
from devices.emulators import CanaryModem, DetectorModel, JammerModel, ModbusSlave, VendorJammer
from devices.emulators.server import EmulatorServer
from devices.gate import GateDecision, RoomRequirements, decide_gate
from devices.gate_event import gate_fields
from devices.gate_replayer import DeviceGatingReplayer
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.monitor import DeviceMonitor, MonitorConfig
from devices.reading import PolledDevice
from devices.transport import SerialLink
from devices.vendor_jammer_driver import VendorJammerDriver
from exam_core.audit.history import MemoryHistory
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas import validate_event
from tests.devices.conftest import ManualClock, ServeFn, TickingClock

LOG = "exam.example/c/1"
GATEWAY = Ed25519Signer.from_seed(f"{LOG}/gateway/r", bytes(32))
EVERY_BAND = frozenset(range(1, 9))

ROOMS = (
    RoomRequirements(
        "full", jammers={"r/jammer": EVERY_BAND}, detectors=("r/detector",), canaries=("r/canary",)
    ),
    RoomRequirements("band-3", jammers={"r/jammer": frozenset({3})}),
    RoomRequirements("vendor", jammers={"r/vendor": frozenset({1, 2})}, canaries=("r/canary",)),
    RoomRequirements("tight", jammers={"r/jammer": frozenset({1})}, max_age_ms=300),
    RoomRequirements("mixed-up", jammers={"r/canary": frozenset({1})}, canaries=("r/detector",)),
)
"""The fixture rooms: every kind of device, a freshness bound tighter than a poll period, and
devices required as what they are not."""


@dataclass
class SignedLog:
    """The gateway's log as an auditor reads it: every event signed in order."""

    history: MemoryHistory = field(default_factory=MemoryHistory)
    seq: int = 0

    def sign(self, event_type: str, fields: Mapping[str, object]) -> int:
        self.seq += 1
        event = {
            "v": 1,
            "log": LOG,
            "type": event_type,
            "ts": 1_700_000_000_000 + self.seq,
            "actor": GATEWAY.name,
            "seq": self.seq,
            **fields,
        }
        validate_event(event)
        self.history.entries.append(parse_entry(make_entry(GATEWAY, event)))
        return len(self.history.entries) - 1

    def sink(self, event_type: str, fields: dict[str, object]) -> None:
        """The monitors' ``EventSink``: sign the event; its index is of no use to them."""
        self.sign(event_type, fields)


@dataclass
class Room:
    """Emulated devices, their monitors and the log, on one injected clock."""

    clock: ManualClock
    servers: dict[str, EmulatorServer]
    monitors: list[DeviceMonitor]
    log: SignedLog
    replayer: DeviceGatingReplayer = field(default_factory=DeviceGatingReplayer)
    seen: list[tuple[str, str, GateDecision]] = field(default_factory=list)

    def poll(self) -> None:
        self.clock.advance(1.0)  # one vendor report period
        for monitor in self.monitors:
            monitor.poll_once()

    def driver(self, name: str) -> PolledDevice:
        return next(m.device for m in self.monitors if m.name == name)

    def decide_and_replay(self, step: str) -> None:
        now = self.clock.ms()
        views = {m.name: m.view(now) for m in self.monitors}
        for requirements in ROOMS:
            live = decide_gate(requirements, views)
            index = self.log.sign("device.gate", gate_fields(live, now))
            entry = self.log.history.entries[index]
            replayed = self.replayer.recompute(index, entry, self.log.history)
            assert replayed is not None
            assert replayed.problems == ()
            assert (replayed.decision.allowed, replayed.decision.reasons) == (
                live.allowed,
                live.reasons,
            ), (step, requirements.room)
            assert self.replayer.replay(index, entry, self.log.history) == []
            self.seen.append((step, requirements.room, live))


@pytest.fixture
def room(serve: ServeFn, clock: ManualClock) -> Room:
    log = SignedLog()
    servers = {
        "r/jammer": serve(ModbusSlave({1: JammerModel(clock)})),
        "r/detector": serve(ModbusSlave({2: DetectorModel(clock, unit=2)})),
        "r/canary": serve(CanaryModem()),
        "r/vendor": serve(VendorJammer(clock, period_s=1.0), clock=clock),
    }

    def link(name: str) -> SerialLink:
        # Each link waits on its own fake clock: a timeout takes reads, not time.
        return SerialLink(
            servers[name].url, baudrate=115200, clock=TickingClock(0.01), backoff_min_s=0.0
        )

    def modbus(name: str) -> ModbusMaster:
        return ModbusMaster(link(name), response_timeout_s=0.2)

    drivers: dict[str, PolledDevice] = {
        "r/jammer": JammerDriver(modbus("r/jammer"), 1, wall_clock=lambda: 1_700_000_000),
        "r/detector": DetectorDriver(modbus("r/detector"), 2, wall_clock=lambda: 1_700_000_000),
        "r/canary": CanaryDriver(link("r/canary")),
        "r/vendor": VendorJammerDriver(link("r/vendor"), report_timeout_s=2.0),
    }
    monitors = [
        DeviceMonitor(
            name,
            driver,
            log.sink,
            config=MonitorConfig(stale_after_ms=1000, stale_min_failures=2),
            clock_ms=clock.ms,
        )
        for name, driver in drivers.items()
    ]
    return Room(clock, servers, monitors, log)


@dataclass(frozen=True)
class Step:
    """What happens to the devices before the rooms are decided again."""

    name: str
    actions: tuple[tuple[str, str, dict[str, object]], ...] = ()
    acknowledge: str | None = None
    advance_s: float = 0.0
    poll: bool = True


STEPS = (
    Step("switched off"),
    Step("protected", (("r/jammer", "start", {}), ("r/canary", "jammed", {}))),
    Step("band alarm", (("r/jammer", "band-alarm", {"band": 3, "alarm": "vswr"}),)),
    Step("alarm latched", (("r/jammer", "band-clear", {"band": 3, "alarm": "vswr"}),)),
    Step("jammer acknowledged", acknowledge="r/jammer"),
    Step("detection", (("r/detector", "detect", {"category": "wifi-2g4", "level": -400}),)),
    Step("detection gone", (("r/detector", "undetect", {"category": "wifi-2g4"}),)),
    Step("detector acknowledged", acknowledge="r/detector"),
    Step("vendor alarm", (("r/vendor", "alarm", {"alarm": "high-temperature"}),)),
    Step("vendor alarm gone", (("r/vendor", "clear", {"alarm": "high-temperature"}),)),
    Step("too old for the tight room", advance_s=0.5, poll=False),
    Step("jammer unplugged", (("r/jammer", "unplug", {}),)),
    Step("jammer stale"),
    Step("jammer offline", advance_s=9.0),
    Step("jammer back", (("r/jammer", "replug", {}),)),
    # Each poll is 1 s after the last; the uptime tolerance is 2 s (devices.uptime_rule).
    Step("jammer replayed 1 s", (("r/jammer", "uptime", {"rate_pct": 0}),)),
    Step("jammer replayed 2 s"),
    Step("jammer replayed 3 s"),
    Step("jammer live 1 s", (("r/jammer", "uptime", {"rate_pct": 100}),)),
    Step("jammer live 2 s"),
    Step("jammer live 3 s"),
    Step("jammer ten times fast", (("r/jammer", "uptime", {"rate_pct": 1000}),)),
)


def test_live_gate_and_replay_agree_on_every_fixture_room(room: Room) -> None:
    for step in STEPS:
        for device, action, args in step.actions:
            room.servers[device].do(action, args)
        if step.acknowledge is not None:
            driver = room.driver(step.acknowledge)
            assert isinstance(driver, JammerDriver | DetectorDriver)
            driver.acknowledge()
        room.clock.advance(step.advance_s)
        if step.poll:
            room.poll()
        room.decide_and_replay(step.name)
    # The fixture holds the cases it claims to, so the agreement above is not vacuous.
    seen = {(step, name): decision for step, name, decision in room.seen}
    assert not seen["switched off", "full"].allowed
    for name in ("full", "band-3", "vendor", "tight"):
        assert seen["protected", name].allowed, name
    assert "r/jammer: alarm high-vswr" in seen["band alarm", "full"].reasons
    assert "r/jammer: band 3 not radiating" in seen["band alarm", "band-3"].reasons
    assert seen["alarm latched", "band-3"].reasons == ("r/jammer: unacknowledged alarm high-vswr",)
    assert seen["jammer acknowledged", "band-3"].allowed
    assert "r/detector: detecting wifi-2g4" in seen["detection", "full"].reasons
    assert seen["detector acknowledged", "full"].allowed
    assert seen["vendor alarm", "vendor"].reasons == ("r/vendor: alarm high-temperature",)
    assert seen["vendor alarm gone", "vendor"].allowed
    assert seen["too old for the tight room", "tight"].reasons == (
        "r/jammer: status older than 300 ms",
    )
    assert seen["too old for the tight room", "full"].allowed
    assert "r/jammer: link STALE" in seen["jammer stale", "band-3"].reasons
    assert "r/jammer: link OFFLINE" in seen["jammer offline", "band-3"].reasons
    assert seen["jammer back", "full"].allowed
    frozen = "r/jammer: uptime frozen, not advancing with the time between polls"
    # A frozen counter passes for live until more than the tolerance has passed, then not.
    assert seen["jammer replayed 1 s", "full"].allowed
    assert seen["jammer replayed 2 s", "full"].allowed
    assert seen["jammer replayed 3 s", "band-3"].reasons == (frozen,)
    assert frozen in seen["jammer replayed 3 s", "full"].reasons
    # Advancing again lifts it only once a whole judgement window shows it.
    assert seen["jammer live 2 s", "band-3"].reasons == (frozen,)
    assert seen["jammer live 3 s", "full"].allowed
    assert seen["jammer ten times fast", "band-3"].reasons == (
        "r/jammer: uptime too-fast, not advancing with the time between polls",
    )
    assert seen["jammer ten times fast", "vendor"].allowed
    assert all(not d.allowed for (_, name), d in seen.items() if name == "mixed-up")
    assert "r/canary: is a canary, required as a jammer" in seen["protected", "mixed-up"].reasons
