"""The auditor's check of device gating (DESIGN §3.5 step 6): is every gate decision borne out
by the device frames it cites and by the link states the gateway logged before it?

Why it exists: a gateway key could sign ``allowed: true`` while the jammer was off.  The
evidence of a ``device.gate`` entry is the raw status reply of each device, so the auditor can
decode those frames again (pure, offline) and check that each shows what "allowed" requires:
a jammer jamming without alarm, a detector scanning with nothing detected, a canary reporting
JAMMED; and that no cited device was STALE or OFFLINE by the gateway's own ``device.state``
entries.  The required bands of a room are configuration, not in the log, so they are not
checked here.  Findings (all errors): ``gate_inconsistent`` (allowed with reasons, or refused
without one), ``gate_unknown_device`` (cited device never seen in a ``device.*`` entry),
``gate_bad_evidence`` (a frame that does not decode), ``gate_unsupported`` (a frame that
contradicts "allowed"), ``gate_device_down`` (allowed while a cited device was not ONLINE).
"""

from __future__ import annotations

from collections.abc import Mapping

from devices.at_canary import JdrReport, parse_line, split_lines
from devices.errors import DeviceError
from devices.modbus_rtu import READ_INPUT_REGISTERS, Request, decode_reply
from devices.reading import CANARY, DETECTOR, JAMMER, VENDOR_JAMMER
from devices.register_map import (
    STATUS_ADDR,
    STATUS_COUNT,
    decode_detector_status,
    decode_jammer_status,
)
from devices.vendor_jammer import decode_frame, decode_status
from exam_core.audit.history import AuditHistory, Finding, IncrementalIndex
from exam_core.log.entry import Entry
from exam_core.log.schemas.devices import SCHEMAS as DEVICE_SCHEMAS


def evidence_problems(kind: str, raw: bytes) -> list[str]:
    """Why this status frame does not support "the exam may start" (empty: it does).

    Raises ``DeviceError`` when the frame does not decode at all.
    """
    if kind in (JAMMER, DETECTOR):
        unit = raw[0] if raw else 0
        request = Request(unit, READ_INPUT_REGISTERS, STATUS_ADDR, STATUS_COUNT)
        regs = decode_reply(request, raw).values
        if kind == JAMMER:
            j = decode_jammer_status(regs)
            problems = [] if j.state == 1 else [f"jammer state {j.state}, not jamming"]
            if j.active_bands == 0:
                problems.append("no band radiating")
            if j.alarm_live or j.alarm_latched:
                problems.append(f"alarms live {j.alarm_live:#06x} latched {j.alarm_latched:#06x}")
            return problems
        d = decode_detector_status(regs)
        problems = [] if d.state == 1 else [f"detector state {d.state}, not scanning quietly"]
        if d.detected_now:
            problems.append(f"detecting {d.detected_now:#06x}")
        if d.alarm_live or d.alarm_latched:
            problems.append(f"alarms live {d.alarm_live:#06x} latched {d.alarm_latched:#06x}")
        return problems
    if kind == VENDOR_JAMMER:
        v = decode_status(decode_frame(raw))
        problems = [] if v.channels else ["no channel radiating"]
        if v.alarms:
            problems.append(f"alarms {v.alarms:#04x}")
        return problems
    if kind == CANARY:
        lines, _ = split_lines(raw)
        reports = [
            p
            for p in (parse_line(x) for x in lines if not x.startswith("AT"))
            if isinstance(p, JdrReport)
        ]
        if not reports:
            return ["no #JDR report in the canary's reply"]
        return [] if reports[-1].jammed else ["canary reports OPERATIVE"]
    return [f"unknown device kind {kind!r}"]


READS = frozenset(schema.type for schema in DEVICE_SCHEMAS if "device" in schema.fields)
"""The entries that name a device: its kind, and its link state in ``device.state``."""


class _DeviceIndex:
    """Each gateway's devices as the entries read so far describe them: kind and last link
    state, by (gateway, device)."""

    def __init__(self) -> None:
        self.kinds: dict[tuple[str, str], str] = {}
        self.states: dict[tuple[str, str], str] = {}

    def learn(self, index: int, entry: Entry) -> None:
        device = entry.event.get("device")
        if not isinstance(device, str):
            return
        key = (entry.actor, device)
        self.kinds[key] = str(entry.event.get("kind", ""))
        if entry.type == "device.state":
            self.states[key] = str(entry.event.get("state", ""))


class DeviceGatingReplayer:
    """A ``Replayer`` for ``device.gate`` entries (see the module docstring)."""

    def __init__(self) -> None:
        self._devices = IncrementalIndex(READS, _DeviceIndex)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({"device.gate"})

    @property
    def reads(self) -> frozenset[str]:
        return READS

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event: Mapping[str, object] = entry.event
        allowed = event.get("allowed") is True
        reasons = event.get("reasons")
        evidence = event.get("evidence")
        if not isinstance(reasons, list) or not isinstance(evidence, list):
            return [Finding(index, "gate_bad_evidence", "reasons or evidence is not a list")]
        findings: list[Finding] = []
        if allowed == bool(reasons):
            findings.append(
                Finding(
                    index, "gate_inconsistent", f"allowed={allowed} with {len(reasons)} reasons"
                )
            )
        if not allowed:
            return findings
        devices = self._devices.before(index, history)
        for item in evidence:
            if not isinstance(item, dict):
                findings.append(Finding(index, "gate_bad_evidence", "evidence item not an object"))
                continue
            device, raw_hex = str(item.get("device")), str(item.get("raw", ""))
            kind = devices.kinds.get((entry.actor, device))
            if kind is None:
                findings.append(
                    Finding(index, "gate_unknown_device", f"{device}: no earlier device entry")
                )
                continue
            state = devices.states.get((entry.actor, device))
            if state != "ONLINE":
                findings.append(Finding(index, "gate_device_down", f"{device}: link {state}"))
            try:
                problems = evidence_problems(kind, bytes.fromhex(raw_hex))
            except (DeviceError, ValueError) as e:
                findings.append(Finding(index, "gate_bad_evidence", f"{device}: {e}"))
                continue
            findings.extend(Finding(index, "gate_unsupported", f"{device}: {p}") for p in problems)
        return findings
