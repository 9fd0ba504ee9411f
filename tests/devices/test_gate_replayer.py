"""The auditor's gating check: decisions the frames support pass, forged ones are found."""

from __future__ import annotations

from devices.emulators import CanaryModem, DetectorModel, JammerModel, ModbusSlave
from devices.gate import RoomRequirements, decide_gate
from devices.gate_replayer import DeviceGatingReplayer
from devices.modbus_rtu import READ_INPUT_REGISTERS, Request, encode_request
from devices.monitor import ONLINE, DeviceView
from devices.status_frames import reading_from_frame
from devices.vendor_jammer import VendorStatus, encode_status
from exam_core.audit.history import MemoryHistory
from exam_core.log.entry import Entry, make_entry, parse_entry
from exam_core.log.note import Ed25519Signer

GATEWAY = Ed25519Signer.from_seed("exam.example/c/1/gateway/g", bytes(32))


def _status_frame(model: JammerModel | DetectorModel) -> bytes:
    slave = ModbusSlave({model.unit: model})
    request = encode_request(Request(model.unit, READ_INPUT_REGISTERS, 0x10, 12))
    (exchange,) = slave.feed(request, 0.0)
    assert exchange.reply is not None
    return exchange.reply


def _entry(seq: int, type_: str, **fields: object) -> Entry:
    event = {
        "v": 1,
        "log": "exam.example/c/1",
        "type": type_,
        "ts": 1_700_000_000_000 + seq,
        "actor": GATEWAY.name,
        "seq": seq,
        **fields,
    }
    return parse_entry(make_entry(GATEWAY, event))


def _log(
    jammer_raw: bytes, *, allowed: bool, reasons: list[str], link: str = "ONLINE"
) -> list[Entry]:
    return [
        _entry(
            1,
            "device.state",
            device="r/j",
            kind="jammer",
            mono_ms=1,
            state=link,
            previous="UNKNOWN",
            failures=0,
            silent_ms=0,
            cause="",
            raw="",
        ),
        _entry(
            2,
            "device.gate",
            room="r",
            allowed=allowed,
            reasons=reasons,
            evidence=[{"device": "r/j", "raw": jammer_raw.hex(), "mono_ms": 1}],
            requires=RoomRequirements("r", jammers={"r/j": frozenset({1})}).to_json(),
            mono_ms=2,
        ),
    ]


def _replay(entries: list[Entry]) -> list[str]:
    findings = DeviceGatingReplayer().replay(
        len(entries) - 1, entries[-1], MemoryHistory(list(entries))
    )
    return [f.code for f in findings]


def test_supported_decision_passes() -> None:
    jammer = JammerModel(clock=lambda: 0.0)
    jammer.command(1)
    assert _replay(_log(_status_frame(jammer), allowed=True, reasons=[])) == []


def test_forged_allowed_is_found() -> None:
    standby = _status_frame(JammerModel(clock=lambda: 0.0))
    assert _replay(_log(standby, allowed=True, reasons=[])) == ["gate_unsupported"] * 2


def test_refusal_needs_reasons_and_allowed_needs_none() -> None:
    standby = _status_frame(JammerModel(clock=lambda: 0.0))
    assert _replay(_log(standby, allowed=False, reasons=["r/j: off"])) == []
    assert _replay(_log(standby, allowed=False, reasons=[])) == ["gate_inconsistent"]


def test_allowed_while_device_stale_is_found() -> None:
    jammer = JammerModel(clock=lambda: 0.0)
    jammer.command(1)
    assert _replay(_log(_status_frame(jammer), allowed=True, reasons=[], link="STALE")) == [
        "gate_device_down"
    ]


def test_corrupted_evidence_is_found() -> None:
    jammer = JammerModel(clock=lambda: 0.0)
    jammer.command(1)
    frame = bytearray(_status_frame(jammer))
    frame[5] ^= 0x01
    assert _replay(_log(bytes(frame), allowed=True, reasons=[])) == ["gate_bad_evidence"]


def test_unknown_device_is_found() -> None:
    entries = _log(b"", allowed=True, reasons=[])[1:]
    assert _replay(entries) == ["gate_unknown_device"]


def _refusals(kind: str, raw: bytes) -> list[str]:
    """What the one gate rule says of this frame, for a device required as its own kind."""
    required = "jammer" if kind == "vendor-jammer" else kind
    room = RoomRequirements(
        "r",
        jammers={"x": frozenset({1})} if required == "jammer" else {},
        detectors=("x",) if required == "detector" else (),
        canaries=("x",) if required == "canary" else (),
    )
    view = DeviceView("x", kind, ONLINE, 0, reading_from_frame(kind, raw), 0)
    return [r.detail for r in decide_gate(room, {"x": view}).refusals]


def test_evidence_of_every_kind() -> None:
    detector = DetectorModel(clock=lambda: 0.0)
    assert _refusals("detector", _status_frame(detector)) == []
    detector.detect(4, -300)
    assert len(_refusals("detector", _status_frame(detector))) == 3
    modem = CanaryModem()
    (ex,) = modem.feed(b"AT#JDR=2,63,128\r", 0.0)
    assert ex.reply is not None
    assert _refusals("canary", ex.reply) == ["canary reports operative, not jammed"]
    modem.jammed = True
    (ex,) = modem.feed(b"AT#JDR=2,63,128\r", 0.0)
    assert ex.reply is not None
    assert _refusals("canary", ex.reply) == []
    good = VendorStatus(1, 24000, 150, 40, 0x3FFFF, 0, 0, 1)
    assert _refusals("vendor-jammer", encode_status(good)) == []
    bad = VendorStatus(1, 24000, 150, 40, 0, 0x02, 0, 1)
    assert _refusals("vendor-jammer", encode_status(bad)) == [
        "jammer is standby, not jamming",
        "band 1 not radiating",
        "alarm high-temperature",
    ]


def _uptime_suspect(seq: int, action: str, verdict: str) -> Entry:
    return _entry(
        seq,
        "device.uptime_suspect",
        device="r/j",
        kind="jammer",
        mono_ms=1,
        action=action,
        verdict=verdict,
        uptime_s=40,
        boot_count=1,
        previous_uptime_s=40,
        previous_boot_count=1,
        elapsed_ms=1,
        raw="",
    )


def test_allowed_while_uptime_suspect_is_found() -> None:
    jammer = JammerModel(clock=lambda: 0.0)
    jammer.command(1)
    state, gate = _log(_status_frame(jammer), allowed=True, reasons=[])
    suspect = _uptime_suspect(2, "set", "frozen")
    assert _replay([state, suspect, gate]) == ["gate_uptime_suspect"]
    lifted = _uptime_suspect(3, "clear", "consistent")
    assert _replay([state, suspect, lifted, gate]) == []
