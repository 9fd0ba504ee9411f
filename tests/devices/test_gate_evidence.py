"""An allowed gate must rest on each required device's latest logged status (audit item 7).

An insider holding the gateway key can append ``allowed: true`` with no evidence, or with a
frame from before a logged alarm.  The audit's gate replay finds both, and recomputes the
decision with the one gate rule from the frames cited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from devices.emulators import JammerModel, ModbusSlave
from devices.gate import RoomRequirements
from devices.gate_replayer import DeviceGatingReplayer
from devices.modbus_rtu import READ_INPUT_REGISTERS, Request, encode_request
from exam_core.audit.history import Finding, MemoryHistory
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas import validate_event

LOG = "exam.example/c/1"
GATEWAY = Ed25519Signer.from_seed(f"{LOG}/gateway/g", bytes(32))
ROOM = RoomRequirements("r", jammers={"r/j": frozenset({1, 2})})


def _jammer_frame(*, on: bool) -> bytes:
    model = JammerModel(clock=lambda: 0.0)
    if on:
        model.command(1)
    slave = ModbusSlave({1: model})
    (exchange,) = slave.feed(encode_request(Request(1, READ_INPUT_REGISTERS, 0x10, 12)), 0.0)
    assert exchange.reply is not None
    return exchange.reply


ON = _jammer_frame(on=True)
OFF = _jammer_frame(on=False)


@dataclass
class GatewayLog:
    """A gateway's entries, signed and schema-checked, replayed as the audit replays them."""

    history: MemoryHistory = field(default_factory=MemoryHistory)

    def add(self, type_: str, **fields: object) -> None:
        seq = len(self.history.entries) + 1
        event = {
            "v": 1,
            "log": LOG,
            "type": type_,
            "ts": 1_700_000_000_000 + seq,
            "actor": GATEWAY.name,
            "seq": seq,
            **fields,
        }
        validate_event(event)
        self.history.entries.append(parse_entry(make_entry(GATEWAY, event)))

    def online(self, mono: int, previous: str = "UNKNOWN") -> None:
        self.add(
            "device.state",
            device="r/j",
            kind="jammer",
            mono_ms=mono,
            state="ONLINE",
            previous=previous,
            failures=0,
            silent_ms=0,
            cause="",
            raw=ON.hex(),
        )

    def alarm(self, mono: int, action: str, raw: bytes = ON) -> None:
        self.add(
            "device.alarm",
            device="r/j",
            kind="jammer",
            mono_ms=mono,
            name="high-vswr",
            action=action,
            raw=raw.hex(),
        )

    def gate(
        self,
        mono: int,
        evidence: list[dict[str, object]],
        *,
        allowed: bool = True,
        reasons: tuple[str, ...] = (),
        requires: dict[str, object] | None = None,
    ) -> list[Finding]:
        fields: dict[str, object] = {
            "room": "r",
            "allowed": allowed,
            "reasons": list(reasons),
            "evidence": evidence,
            "mono_ms": mono,
        }
        fields["requires"] = ROOM.to_json() if requires is None else requires
        self.add("device.gate", **fields)
        index = len(self.history.entries) - 1
        return DeviceGatingReplayer().replay(index, self.history.entries[index], self.history)


def _cite(raw: bytes, mono: int | None) -> dict[str, object]:
    item: dict[str, object] = {"device": "r/j", "raw": raw.hex()}
    if mono is not None:
        item["mono_ms"] = mono
    return item


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def test_an_honest_allowed_gate_passes() -> None:
    log = GatewayLog()
    log.online(100)
    assert log.gate(150, [_cite(ON, 100)]) == []


def test_allowed_gate_with_no_evidence_is_gate_evidence_missing() -> None:
    log = GatewayLog()
    log.online(100)
    findings = log.gate(150, [])
    assert _codes(findings) == ["gate_evidence_missing"]
    assert findings[0].message == "r/j: no status"


def test_allowed_gate_without_its_requirements_is_gate_evidence_missing() -> None:
    log = GatewayLog()
    log.online(100)
    log.add("device.gate", room="r", allowed=True, reasons=[], evidence=[], mono_ms=150)
    entry = log.history.entries[-1]
    findings = DeviceGatingReplayer().replay(1, entry, log.history)
    assert _codes(findings) == ["gate_evidence_missing"]


def test_a_frame_cited_without_its_read_time_is_gate_evidence_missing() -> None:
    log = GatewayLog()
    log.online(100)
    findings = log.gate(150, [_cite(ON, None)])
    assert _codes(findings) == ["gate_evidence_missing"]
    assert "without the time it was read" in findings[0].message


def test_a_frame_older_than_a_later_logged_alarm_is_gate_evidence_stale() -> None:
    log = GatewayLog()
    log.online(100)
    log.alarm(300, "set")
    findings = log.gate(400, [_cite(ON, 100)])
    assert _codes(findings) == ["gate_evidence_stale"]
    assert "device.alarm at index 1 was logged later, at 300 ms" in findings[0].message


def test_a_good_frame_with_a_fresh_time_while_an_alarm_stands_is_gate_evidence_stale() -> None:
    # The insider re-dates the old good frame to look newer than the alarm: the alarm still
    # stands in the log, so the frame cannot be the device's latest status.
    log = GatewayLog()
    log.online(100)
    log.alarm(300, "set")
    findings = log.gate(400, [_cite(ON, 390)])
    assert _codes(findings) == ["gate_evidence_stale"]
    assert "alarm high-vswr logged at index 1 was not cleared" in findings[0].message


def test_a_frame_after_the_alarm_cleared_passes() -> None:
    log = GatewayLog()
    log.online(100)
    log.alarm(300, "set")
    log.alarm(350, "clear")
    assert log.gate(400, [_cite(ON, 350)]) == []


def test_a_frame_older_than_the_freshness_bound_is_gate_evidence_stale() -> None:
    log = GatewayLog()
    log.online(100)
    findings = log.gate(100 + ROOM.max_age_ms + 1, [_cite(ON, 100)])
    assert _codes(findings) == ["gate_evidence_stale"]
    assert findings[0].message == f"r/j: status older than {ROOM.max_age_ms} ms"


def test_a_gateway_restart_starts_the_device_history_again() -> None:
    # The machine rebooted: the monotonic clock starts low again, and the earlier run's alarm
    # is no longer the device's status.
    log = GatewayLog()
    log.online(90_000)
    log.alarm(90_500, "set")
    log.online(50)
    assert log.gate(80, [_cite(ON, 50)]) == []


def test_a_refusal_the_rule_would_allow_is_gate_decision_wrong() -> None:
    log = GatewayLog()
    log.online(100)
    findings = log.gate(150, [_cite(ON, 100)], allowed=False, reasons=("r/j: made up",))
    assert _codes(findings) == ["gate_decision_wrong"]


def test_an_allowed_gate_on_a_jammer_that_is_off_is_gate_unsupported() -> None:
    log = GatewayLog()
    log.online(100)
    findings = log.gate(150, [_cite(OFF, 100)])
    assert [(f.code, f.message) for f in findings] == [
        ("gate_unsupported", "r/j: jammer is standby, not jamming"),
        ("gate_unsupported", "r/j: band 1 not radiating"),
        ("gate_unsupported", "r/j: band 2 not radiating"),
    ]
