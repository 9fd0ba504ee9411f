"""The auditor's check of device gating (DESIGN §3.5 step 6): is every gate decision what the
one gate rule decides from the device frames it cites, and do those frames show each device's
latest logged status?

Why it exists: a gateway key could sign ``allowed: true`` while the jammer was off.  A
``device.gate`` entry carries the room's requirements, the raw status reply of each device with
the time it was read, and its own time, so the auditor decodes those frames again with each
driver's pure frame → reading function, takes each cited device's link state from the gateway's
own ``device.state`` entries and whether its uptime stands suspect from the gateway's
``device.uptime_suspect`` entries, and applies ``devices.gate.decide_gate`` — the very rule the
gateway applied live — to them.  An allowed gate must moreover cite, for every required device,
its latest logged status (``devices.logged_devices``): no entry of that device logged after the
frame was read, and no alarm or detection standing in the log.

Findings (all errors): ``gate_inconsistent`` (allowed with reasons, or refused without one),
``gate_bad_evidence`` (evidence or requirements that do not parse, a frame that does not decode,
a device cited twice, a frame read after the decision), ``gate_unknown_device`` (a cited device
never seen in a ``device.*`` entry); for an allowed gate, ``gate_evidence_missing`` (no
requirements, a required device with no cited frame, or a frame without its read time),
``gate_evidence_stale`` (a frame older than the room's freshness bound, or not the device's
latest logged status), ``gate_device_down`` (its link was not ONLINE), ``gate_uptime_suspect``
(its gateway had logged its uptime suspect and not cleared), ``gate_unsupported`` (the
frame shows a condition that forbids the start); and ``gate_decision_wrong`` for a refusal the
rule would have allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devices.errors import DeviceConfigError, DeviceError, FrameError
from devices.gate import (
    CONTRADICTS,
    LINK_DOWN,
    NO_STATUS,
    TOO_OLD,
    UPTIME_SUSPECT,
    WRONG_KIND,
    GateDecision,
    decide_gate,
)
from devices.gate_event import logged_evidence, logged_requirements
from devices.logged_devices import LoggedDevice, LoggedDevices
from devices.monitor import DeviceView
from devices.status_frames import reading_from_frame
from exam_core.audit.history import AuditHistory, Finding, IncrementalIndex
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.log.entry import Entry
from exam_core.log.schemas.devices import SCHEMAS as DEVICE_SCHEMAS

READS = frozenset(schema.type for schema in DEVICE_SCHEMAS if "device" in schema.fields)
"""The entries that name a device: its kind, and its link state in ``device.state``."""

FINDING_OF_CAUSE = {
    NO_STATUS: "gate_evidence_missing",
    LINK_DOWN: "gate_device_down",
    TOO_OLD: "gate_evidence_stale",
    WRONG_KIND: "gate_unsupported",
    CONTRADICTS: "gate_unsupported",
    UPTIME_SUSPECT: "gate_uptime_suspect",
}
"""The finding for each cause the gate rule can refuse an allowed gate for."""


@dataclass(frozen=True)
class ReplayedGate:
    """A gate decision recomputed from its entry: the rule's decision over the frames that
    could be judged, and the problems that kept the others from being judged."""

    decision: GateDecision
    problems: tuple[tuple[str, str], ...]
    """(finding code, message) for each cited frame that could not be judged."""
    unjudged: frozenset[str]
    """The devices those problems concern (the rule saw no status for them)."""


def recompute_gate(
    event: Mapping[str, object], devices: Mapping[str, LoggedDevice]
) -> ReplayedGate | None:
    """Apply the gate rule to what a ``device.gate`` entry cites (pure).

    ``devices`` are the gateway's devices as its earlier entries logged them (kind and link
    state).  Returns None when the entry names no requirements.

    Raises:
        DeviceConfigError: requirements that do not parse.
        FrameError: evidence that is not a list of cited frames.
    """
    requirements = logged_requirements(event)
    if requirements is None:
        return None
    decided_ms = event.get("mono_ms")
    problems: list[tuple[str, str]] = []
    unjudged: set[str] = set()
    views: dict[str, DeviceView] = {}

    def problem(code: str, name: str, message: str) -> None:
        problems.append((code, f"{name}: {message}"))
        unjudged.add(name)

    for citation in logged_evidence(event):
        name = citation.device
        logged = devices.get(name)
        if name in views or name in unjudged:
            problem("gate_bad_evidence", name, "cited more than once")
            views.pop(name, None)
            continue
        if logged is None:
            problem("gate_unknown_device", name, "no earlier device entry")
            continue
        if citation.read_ms is None:
            problem("gate_evidence_missing", name, "cited without the time it was read")
            continue
        try:
            reading = reading_from_frame(logged.kind, citation.raw)
        except DeviceError as e:
            problem("gate_bad_evidence", name, str(e))
            continue
        age = decided_ms - citation.read_ms if type(decided_ms) is int else None
        if age is not None and age < 0:
            problem("gate_bad_evidence", name, "frame read after the decision")
            continue
        views[name] = DeviceView(
            name, logged.kind, logged.link, age, reading, citation.read_ms, logged.uptime_suspect
        )
    return ReplayedGate(decide_gate(requirements, views), tuple(problems), frozenset(unjudged))


class DeviceGatingReplayer(RebuiltFromHistory):
    """A ``Replayer`` for ``device.gate`` entries (see the module docstring)."""

    def __init__(self) -> None:
        self._devices = IncrementalIndex(READS, LoggedDevices)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({"device.gate"})

    @property
    def reads(self) -> frozenset[str]:
        return READS

    def recompute(self, index: int, entry: Entry, history: AuditHistory) -> ReplayedGate | None:
        """The gate rule's decision on what the ``device.gate`` entry at ``index`` cites, with
        the kinds and link states its gateway logged before it (None: no requirements named).

        Raises:
            DeviceConfigError: requirements that do not parse.
            FrameError: evidence that is not a list of cited frames.
        """
        return recompute_gate(entry.event, self._devices.before(index, history).of(entry.actor))

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event: Mapping[str, object] = entry.event
        allowed = event.get("allowed") is True
        reasons = event.get("reasons")
        if not isinstance(reasons, list):
            return [Finding(index, "gate_bad_evidence", "reasons is not a list")]
        findings: list[Finding] = []
        if allowed == bool(reasons):
            findings.append(
                Finding(
                    index, "gate_inconsistent", f"allowed={allowed} with {len(reasons)} reasons"
                )
            )
        try:
            replayed = self.recompute(index, entry, history)
        except (DeviceConfigError, FrameError) as e:
            return [*findings, Finding(index, "gate_bad_evidence", str(e))]
        if replayed is None:
            if allowed:
                message = "allowed without the requirements it was decided on"
                findings.append(Finding(index, "gate_evidence_missing", message))
            return findings
        findings += [Finding(index, code, message) for code, message in replayed.problems]
        decision = replayed.decision
        if allowed:
            findings += [
                Finding(index, FINDING_OF_CAUSE[r.cause], str(r))
                for r in decision.refusals
                if r.device not in replayed.unjudged
            ]
            findings += self._not_latest(index, entry.actor, decision, history)
        elif decision.allowed:
            findings.append(
                Finding(
                    index,
                    "gate_decision_wrong",
                    "refused, but the gate rule allows the start on the frames it cites",
                )
            )
        return findings

    def _not_latest(
        self, index: int, gateway: str, decision: GateDecision, history: AuditHistory
    ) -> list[Finding]:
        """An allowed gate must rest on each cited device's latest logged status."""
        devices = self._devices.before(index, history).of(gateway)
        findings: list[Finding] = []
        for citation in decision.evidence:
            why = devices[citation.device].not_latest(citation)
            if why is not None:
                findings.append(Finding(index, "gate_evidence_stale", f"{citation.device}: {why}"))
        return findings
