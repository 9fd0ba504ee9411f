"""The uptime rule: a device whose uptime does not advance with the polls is not protecting.

The rule itself at its tolerance, then real drivers polling emulated jammers over pseudo-
terminals whose uptime counter is normal, frozen (a recorded exchange played back), ten times
too fast, or frozen just up to and just past the tolerance; then the auditor's check of the
verdicts the monitor logs.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from devices.emulators import JammerModel, ModbusSlave
from devices.emulators.server import EmulatorServer
from devices.errors import DeviceConfigError
from devices.gate import UPTIME_SUSPECT, RoomRequirements, decide_gate
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.monitor import DeviceMonitor
from devices.transport import SerialLink
from devices.uptime_replayer import UptimeVerdictReplayer
from devices.uptime_rule import (
    CONSISTENT,
    FROZEN,
    REBOOTED,
    TOO_FAST,
    TOO_SLOW,
    UNDECIDED,
    UPTIME_TOLERANCE_MS,
    UptimeSample,
    UptimeWatch,
    judge_uptime,
    watch_uptime,
)
from exam_core.audit.history import MemoryHistory
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas import validate_event
from tests.devices.conftest import ManualClock, ServeFn, TickingClock

LOG = "exam.example/c/1"
GATEWAY = Ed25519Signer.from_seed(f"{LOG}/gateway/u", bytes(32))
ROOM = RoomRequirements("r", jammers={"r/jammer": frozenset({1, 2})})
Events = list[tuple[str, dict[str, object]]]


def _at(uptime_s: int, read_ms: int, boot_count: int = 1) -> UptimeSample:
    return UptimeSample(uptime_s, boot_count, read_ms)


# -- the rule ------------------------------------------------------------------------------------


def test_tolerance_is_the_counter_resolution_and_the_poll_jitter() -> None:
    assert UPTIME_TOLERANCE_MS == 2000


@pytest.mark.parametrize(
    ("later", "verdict"),
    [
        (_at(100, 2000), UNDECIDED),  # frozen for exactly the tolerance: cannot tell yet
        (_at(100, 2001), FROZEN),
        (_at(103, 1000), UNDECIDED),  # 2000 ms ahead: within the tolerance
        (_at(103, 999), TOO_FAST),
        (_at(101, 3000), CONSISTENT),  # 2000 ms behind, over more than the tolerance
        (_at(101, 3001), TOO_SLOW),
        (_at(102, 2001), CONSISTENT),
        (_at(99, 1000), REBOOTED),
        (_at(101, 1000, boot_count=2), REBOOTED),
    ],
)
def test_verdicts_at_the_tolerance(later: UptimeSample, verdict: str) -> None:
    assert judge_uptime(_at(100, 0), later) == verdict


def test_a_suspicion_stands_until_a_consistent_advance() -> None:
    watch, verdict = watch_uptime(UptimeWatch(), _at(100, 0))
    assert (watch.suspect, verdict) == (None, UNDECIDED)
    watch, verdict = watch_uptime(watch, _at(100, 1000))
    assert (watch.anchor, verdict) == (_at(100, 0), UNDECIDED)  # the anchor waits
    watch, verdict = watch_uptime(watch, _at(100, 2500))
    assert (watch.suspect, watch.anchor, verdict) == (FROZEN, _at(100, 2500), FROZEN)
    # A recording that loops "reboots"; that alone lifts nothing.
    watch, verdict = watch_uptime(watch, _at(5, 3000))
    assert (watch.suspect, verdict) == (FROZEN, REBOOTED)
    watch, _ = watch_uptime(watch, _at(6, 4000))
    assert watch.suspect == FROZEN  # 1 s: too short to show it live
    watch, verdict = watch_uptime(watch, _at(8, 5500))
    assert (watch.suspect, verdict) == (None, CONSISTENT)


# -- emulated jammers over pseudo-terminals -------------------------------------------------------


class Rig:
    """One emulated jammer, its real driver and monitor, all on one manual clock."""

    def __init__(self, serve: ServeFn, clock: ManualClock) -> None:
        self.clock = clock
        self.model = JammerModel(clock)
        self.server: EmulatorServer = serve(ModbusSlave({1: self.model}))
        link = SerialLink(
            self.server.url, baudrate=115200, clock=TickingClock(0.01), backoff_min_s=0.0
        )
        driver = JammerDriver(
            ModbusMaster(link, response_timeout_s=0.2), 1, wall_clock=lambda: 1_700_000_000
        )
        self.events: Events = []
        self.monitor = DeviceMonitor(
            "r/jammer", driver, lambda t, f: self.events.append((t, f)), clock_ms=clock.ms
        )
        self.server.do("start")

    def poll(self, after_s: float) -> tuple[str, ...]:
        """Advance, poll, and return the gate's reasons for the room (empty: allowed)."""
        self.clock.advance(after_s)
        assert self.monitor.poll_once() is not None
        return decide_gate(ROOM, {"r/jammer": self.monitor.view()}).reasons

    def suspects(self) -> list[dict[str, object]]:
        return [f for t, f in self.events if t == "device.uptime_suspect"]


@pytest.fixture
def rig(serve: ServeFn, clock: ManualClock) -> Rig:
    return Rig(serve, clock)


def _reason(verdict: str) -> tuple[str, ...]:
    return (f"r/jammer: uptime {verdict}, not advancing with the time between polls",)


def test_normal_uptime_keeps_the_room_protected(rig: Rig) -> None:
    # Polls a quarter-second apart, with the jitter of a busy line, for 20 s.
    for step in [0.25, 0.1, 0.6, 0.25, 0.45] * 16:
        assert rig.poll(step) == ()
    assert rig.suspects() == []


def test_frozen_uptime_refuses_until_it_advances_again(rig: Rig) -> None:
    assert rig.poll(0.25) == ()
    rig.server.do("uptime", {"rate_pct": 0})
    reasons = [rig.poll(0.25) for _ in range(12)]
    assert reasons[:8] == [()] * 8  # 2 s: a frozen counter still looks live
    assert reasons[8:] == [_reason(FROZEN)] * 4
    decision = decide_gate(ROOM, {"r/jammer": rig.monitor.view()})
    assert {r.cause for r in decision.refusals} == {UPTIME_SUSPECT}
    (suspect,) = rig.suspects()
    assert (suspect["action"], suspect["verdict"], suspect["elapsed_ms"]) == ("set", FROZEN, 2250)
    rig.server.do("uptime", {"rate_pct": 100})
    reasons = [rig.poll(0.25) for _ in range(12)]
    assert _reason(FROZEN) in reasons[:8]
    assert reasons[-1] == ()
    assert [(f["action"], f["verdict"]) for f in rig.suspects()] == [
        ("set", FROZEN),
        ("clear", CONSISTENT),
    ]


def test_uptime_ten_times_fast_refuses_within_two_polls(rig: Rig) -> None:
    assert rig.poll(0.25) == ()
    rig.server.do("uptime", {"rate_pct": 1000})
    reasons = [rig.poll(0.25) for _ in range(2)]
    assert _reason(TOO_FAST) in reasons
    assert rig.poll(0.25) == _reason(TOO_FAST)


def test_frozen_uptime_at_the_tolerance_and_just_past_it(rig: Rig) -> None:
    assert rig.poll(0.25) == ()
    rig.server.do("uptime", {"rate_pct": 0})
    assert rig.poll(UPTIME_TOLERANCE_MS / 1000) == ()
    assert rig.poll(0.001) == _reason(FROZEN)


def test_the_emulator_refuses_a_negative_rate(rig: Rig) -> None:
    with pytest.raises(DeviceConfigError):
        rig.server.do("uptime", {"rate_pct": -1})


# -- the auditor's check of the logged verdicts --------------------------------------------------


def _audit(fields: Mapping[str, object]) -> list[str]:
    event = {
        "v": 1,
        "log": LOG,
        "type": "device.uptime_suspect",
        "ts": 1_700_000_000_000,
        "actor": GATEWAY.name,
        "seq": 1,
        **fields,
    }
    validate_event(event)
    entry = parse_entry(make_entry(GATEWAY, event))
    findings = UptimeVerdictReplayer().replay(0, entry, MemoryHistory([entry]))
    return [f.code for f in findings]


def test_logged_verdicts_are_what_the_rule_gives_on_their_samples(rig: Rig) -> None:
    rig.poll(0.25)
    rig.server.do("uptime", {"rate_pct": 0})
    for _ in range(12):
        rig.poll(0.25)
    rig.server.do("uptime", {"rate_pct": 100})
    for _ in range(12):
        rig.poll(0.25)
    set_, clear = rig.suspects()
    assert _audit(set_) == []
    assert _audit(clear) == []
    # A gateway that lifts a suspicion its own samples do not lift, or names another verdict.
    assert _audit({**set_, "action": "clear", "verdict": CONSISTENT}) == ["uptime_verdict_wrong"]
    assert _audit({**set_, "verdict": TOO_SLOW}) == ["uptime_verdict_wrong"]
    assert _audit({**clear, "action": "set"}) == ["uptime_verdict_wrong"]
