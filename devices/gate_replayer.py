"""The auditor's check of device gating (DESIGN §3.5 step 6): is every gate decision what the
one gate rule decides from the device frames it cites and the link states the gateway logged?

Why it exists: a gateway key could sign ``allowed: true`` while the jammer was off.  A
``device.gate`` entry carries the room's requirements, the raw status reply of each device with
the time it was read, and its own time, so the auditor decodes those frames again with each
driver's pure frame → reading function, takes each cited device's link state from the gateway's
own ``device.state`` entries, and applies ``devices.gate.decide_gate`` — the very rule the
gateway applied live — to them.

Findings (all errors): ``gate_inconsistent`` (allowed with reasons, or refused without one),
``gate_bad_evidence`` (evidence or requirements that do not parse, a frame that does not decode,
a device cited twice, a frame read after the decision), ``gate_unknown_device`` (a cited device
never seen in a ``device.*`` entry); for an allowed gate, one finding per reason the rule
refuses: ``gate_evidence_missing`` (no requirements, or a required device with no cited
frame), ``gate_device_down`` (its link was not ONLINE), ``gate_evidence_stale`` (the frame is
older than the room's freshness bound), ``gate_unsupported`` (the frame shows a condition that
forbids the start); and ``gate_decision_wrong`` for a refusal the rule would have allowed.
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
    WRONG_KIND,
    GateDecision,
    decide_gate,
)
from devices.gate_event import logged_evidence, logged_requirements
from devices.monitor import UNKNOWN, DeviceView
from devices.status_frames import reading_from_frame
from exam_core.audit.history import AuditHistory, Finding, IncrementalIndex
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
    event: Mapping[str, object], kinds: Mapping[str, str], links: Mapping[str, str]
) -> ReplayedGate | None:
    """Apply the gate rule to what a ``device.gate`` entry cites (pure).

    ``kinds`` and ``links`` give each device's kind and link state as the gateway's earlier
    entries logged them.  Returns None when the entry names no requirements.

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
        kind = kinds.get(name)
        if name in views or name in unjudged:
            problem("gate_bad_evidence", name, "cited more than once")
            views.pop(name, None)
            continue
        if kind is None:
            problem("gate_unknown_device", name, "no earlier device entry")
            continue
        try:
            reading = reading_from_frame(kind, citation.raw)
        except DeviceError as e:
            problem("gate_bad_evidence", name, str(e))
            continue
        age = None
        if citation.read_ms is not None and type(decided_ms) is int:
            age = decided_ms - citation.read_ms
            if age < 0:
                problem("gate_bad_evidence", name, "frame read after the decision")
                continue
        views[name] = DeviceView(
            name, kind, links.get(name, UNKNOWN), age, reading, citation.read_ms
        )
    return ReplayedGate(decide_gate(requirements, views), tuple(problems), frozenset(unjudged))


class _DeviceIndex:
    """Each gateway's devices as the entries read so far describe them: kind and last link
    state, by gateway."""

    def __init__(self) -> None:
        self.kinds: dict[str, dict[str, str]] = {}
        self.links: dict[str, dict[str, str]] = {}

    def learn(self, index: int, entry: Entry) -> None:
        device = entry.event.get("device")
        if not isinstance(device, str):
            return
        self.kinds.setdefault(entry.actor, {})[device] = str(entry.event.get("kind", ""))
        if entry.type == "device.state":
            self.links.setdefault(entry.actor, {})[device] = str(entry.event.get("state", ""))


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

    def recompute(self, index: int, entry: Entry, history: AuditHistory) -> ReplayedGate | None:
        """The gate rule's decision on what the ``device.gate`` entry at ``index`` cites, with
        the kinds and link states its gateway logged before it (None: no requirements named).

        Raises:
            DeviceConfigError: requirements that do not parse.
            FrameError: evidence that is not a list of cited frames.
        """
        devices = self._devices.before(index, history)
        return recompute_gate(
            entry.event, devices.kinds.get(entry.actor, {}), devices.links.get(entry.actor, {})
        )

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
        elif decision.allowed:
            findings.append(
                Finding(
                    index,
                    "gate_decision_wrong",
                    "refused, but the gate rule allows the start on the frames it cites",
                )
            )
        return findings
