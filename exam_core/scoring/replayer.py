"""The audit of scores: every ``exam.scored`` entry recomputed from its logged telemetry.

An auditor trusts no scorer (DESIGN §3.5 steps 5 and 6): for each score the replayer checks
that the exam's room was gated open before it started, fetches the telemetry chunk blobs by
the hashes the entry lists, checks that the in-car unit logged each of them for this exam and
signed it with its registered key, re-runs the engine with the same map and rule-table
versions, and reports every difference as a finding with the entry's index.  It also checks
that the ``stopped`` flag agrees with the examiner's ``exam.stopped`` entries, counts the
examiner's calls (``exam.examiner_judged``) in the recomputed score, and lists each of them:
an auditor, and the monitoring centre counting each examiner's fails, sees every point a person
rather than the car took away.

An exam has one result: a second ``exam.scored`` for it (``exam_rescored``), or new telemetry,
a stop or a gate decision for it after its result (``exam_after_result``), would let whoever
holds the keys append a better score later; each is an error.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field

from exam_core.audit.history import AuditHistory, Finding, IncrementalIndex
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.errors import BlobError, ExamCoreError, ScoringError
from exam_core.log.entry import Entry
from exam_core.log.note import Ed25519Verifier, ed25519_verifier_from_vkey
from exam_core.scoring.course import course_by_version, subject_of
from exam_core.scoring.engine import ExaminerCall, score_track
from exam_core.scoring.result import result_from_json
from exam_core.scoring.rules import RuleTable, rule_table_by_version
from exam_core.scoring.telemetry import MAX_CHUNK_BYTES, TelemetryError, read_track


@dataclass
class _ExamFacts:
    """What the entries before a score say about its exam."""

    logged: dict[str, str] = field(default_factory=dict)
    """Chunk hash → the vehicle that logged it (``telemetry.chunk``)."""
    stops: int = 0
    calls: list[tuple[int, str, ExaminerCall, str]] = field(default_factory=list)
    """The examiner's calls: (entry index, rule table version, call, tablet)."""
    first_gate: int | None = None
    first_chunk: int | None = None
    alarms: list[int] = field(default_factory=list)
    result: int | None = None
    """The index of its first ``exam.scored``: its one result."""


READS = frozenset(
    {
        "key.registered",
        "key.revoked",
        "telemetry.chunk",
        "exam.stopped",
        "exam.examiner_judged",
        "device.gate",
        "device.alarm",
        "exam.scored",
    }
)
"""The earlier entries a score depends on: vehicle keys, its chunks, stops, the examiner's
calls, gates, alarms, and the exam's result if it already has one."""

AFTER_RESULT = frozenset({"telemetry.chunk", "exam.stopped", "device.gate"})
"""What an exam may not have once its result is logged: more telemetry, a stop, a new gate."""


class _LogIndex:
    """The exams and vehicle keys of the entries read so far, read once and in order."""

    def __init__(self) -> None:
        self.exams: dict[str, _ExamFacts] = {}
        self.vehicle_keys: dict[str, Ed25519Verifier] = {}

    def learn(self, position: int, e: Entry) -> None:
        """Take in one admitted entry of ``READS``."""
        kind = e.type
        if kind == "key.registered" and e.event.get("role") == "vehicle":
            with contextlib.suppress(ExamCoreError):
                self.vehicle_keys[str(e.event["name"])] = ed25519_verifier_from_vkey(
                    str(e.event["vkey"])
                )
            return
        if kind == "key.revoked":
            self.vehicle_keys.pop(str(e.event["name"]), None)
            return
        exam = e.event.get("exam")
        if not isinstance(exam, str):
            return
        if kind == "telemetry.chunk":
            facts = self.exams.setdefault(exam, _ExamFacts())
            facts.logged[str(e.event["sha256"])] = e.actor
            facts.first_chunk = position if facts.first_chunk is None else facts.first_chunk
        elif kind == "exam.stopped":
            self.exams.setdefault(exam, _ExamFacts()).stops += 1
        elif kind == "exam.examiner_judged":
            call = ExaminerCall(str(e.event["code"]), int(e.event["frame"]))
            entry = (position, str(e.event["rules"]), call, e.actor)
            self.exams.setdefault(exam, _ExamFacts()).calls.append(entry)
        elif kind == "device.gate" and e.event.get("allowed") is True:
            facts = self.exams.setdefault(exam, _ExamFacts())
            facts.first_gate = position if facts.first_gate is None else facts.first_gate
        elif kind == "device.alarm" and e.event.get("action") == "set":
            self.exams.setdefault(exam, _ExamFacts()).alarms.append(position)
        elif kind == "exam.scored":
            facts = self.exams.setdefault(exam, _ExamFacts())
            facts.result = position if facts.result is None else facts.result


def _gating_findings(
    index: int, first_gate: int | None, first_chunk: int | None, alarms: list[int]
) -> list[Finding]:
    """DESIGN §5.4 as the auditor sees it: an allowed gate decision for this exam comes before
    its first telemetry, and every device alarm recorded against the exam is reported."""
    findings = []
    started = index if first_chunk is None else first_chunk
    if first_gate is None or first_gate > started:
        findings.append(
            Finding(index, "exam_ungated", "no allowed device.gate entry for this exam precedes it")
        )
    findings.extend(
        Finding(
            index, "exam_device_alarm", f"device alarm at entry {at} during this exam", "warning"
        )
        for at in alarms
    )
    return findings


def _examiner_calls(
    entries: list[tuple[int, str, ExaminerCall, str]], table: RuleTable, subject: int, frames: int
) -> tuple[list[ExaminerCall], list[Finding]]:
    """The calls a score must count, and a finding for each: ``examiner_judged`` (a warning
    that lists it) or ``examiner_judged_invalid`` (another table, a rule the table does not
    leave to the examiner, a frame beyond the recording), which the score must not count."""
    calls: list[ExaminerCall] = []
    findings: list[Finding] = []
    for at, version, call, tablet in entries:
        rule = table.rules.get(call.code)
        if version != table.version:
            why = f"names rule table {version}; the score uses {table.version}"
        elif rule is None or rule.judge != "examiner" or subject not in rule.subjects:
            why = f"{call.code} is not an examiner-judged rule of {table.version}"
        elif not 0 <= call.frame < frames:
            why = f"frame {call.frame} is not in the recording of {frames} frames"
        else:
            calls.append(call)
            findings.append(
                Finding(
                    at,
                    "examiner_judged",
                    f"{tablet} judged {call.code} ({rule.points} points: {rule.condition}) at "
                    f"frame {call.frame}",
                    "warning",
                )
            )
            continue
        findings.append(Finding(at, "examiner_judged_invalid", why))
    return calls, findings


class ScoringReplayer(RebuiltFromHistory):
    """Recomputes ``exam.scored`` entries; see the module docstring.

    The audit replays scores in log order over one growing history, so the replayer reads each
    entry once: it keeps an index of the exams and vehicle keys seen so far and only reads the
    entries added since the previous score.  Given another history, or an earlier index, it
    starts the index again.
    """

    def __init__(self) -> None:
        self._index = IncrementalIndex(READS, _LogIndex)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({"exam.scored", *AFTER_RESULT})

    @property
    def reads(self) -> frozenset[str]:
        return READS

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        """Check one score (any other entry of ``AFTER_RESULT``: that its exam has no result yet).

        (0) an allowed gate decision precedes the exam's telemetry (alarms during it are
        warnings); (1) every listed chunk was logged by a ``telemetry.chunk`` entry for this
        exam, and its blob is present and matches its hash; (2) each blob is a chunk signed by
        the key of the vehicle that logged it; (3) the chunks form one valid recording; (4)
        ``stopped`` matches the log; (5) each examiner's call names an examiner-judged rule of
        the score's table at a frame of the recording, and is listed; (6) the engine, with the
        entry's map and rule table and the valid calls, gives exactly the signed result.
        """  # noqa: DOC501 - TelemetryError is caught here
        event = entry.event
        if entry.type != "exam.scored":
            return self._after_result(index, entry, history)
        exam = str(event["exam"])
        log = self._index.before(index, history)
        facts = log.exams.get(exam, _ExamFacts())
        if facts.result is not None:
            return [
                Finding(
                    index,
                    "exam_rescored",
                    f"exam {exam} has its result at entry {facts.result}; one result per exam",
                )
            ]
        logged = facts.logged
        gating = _gating_findings(index, facts.first_gate, facts.first_chunk, facts.alarms)
        keys = log.vehicle_keys
        # (1)
        blobs: list[bytes] = []
        actors: list[str] = []
        for sha in event["chunks"]:
            if sha not in logged:
                return [Finding(index, "telemetry_missing", f"chunk {sha} was never logged")]
            try:
                blob = history.blob(sha, max_bytes=MAX_CHUNK_BYTES)
            except BlobError as e:
                return [Finding(index, "telemetry_invalid", f"not a telemetry chunk: {e}")]
            if blob is None:
                return [Finding(index, "telemetry_missing", f"blob {sha} is not in the bundle")]
            if hashlib.sha256(blob).hexdigest() != sha:
                return [Finding(index, "telemetry_invalid", f"blob {sha} does not match its hash")]
            blobs.append(blob)
            actors.append(logged[sha])
        # (2) and (3)
        try:
            table = rule_table_by_version(str(event["rules"]))
            course = course_by_version(str(event["map"]))
            verifiers = []
            for actor in actors:
                verifier = keys.get(actor)
                if verifier is None:
                    raise TelemetryError("unknown_vehicle", f"{actor} is not a registered vehicle")
                verifiers.append(verifier)
            track = read_track(
                blobs, table.telemetry, verifiers=verifiers, exam_id=bytes.fromhex(exam)
            )
        except TelemetryError as e:
            return [Finding(index, "telemetry_invalid", str(e))]
        except ScoringError as e:
            return [Finding(index, "score_unverifiable", str(e))]
        findings: list[Finding] = list(gating)
        # (4)
        stopped = bool(event["stopped"])
        if stopped != (facts.stops > 0):
            findings.append(
                Finding(
                    index,
                    "stop_mismatch",
                    f"score says stopped={stopped}; the log has {facts.stops} exam.stopped entries",
                )
            )
        subject = subject_of(course)
        if event["subject"] != subject:
            return [
                *findings,
                Finding(
                    index, "score_unverifiable", f"map {course.version} is not subject {subject}"
                ),
            ]
        # (5)
        calls, listed = _examiner_calls(facts.calls, table, subject, len(track))
        findings += listed
        # (6)
        expected = score_track(
            track, course, table, str(event["licence_class"]), stopped, examiner_calls=calls
        )
        try:
            signed = result_from_json({k: event[k] for k in ("score", "passed", "deductions")})
        except ScoringError as e:
            return [*findings, Finding(index, "score_mismatch", str(e))]
        if signed != expected:
            findings.append(
                Finding(
                    index,
                    "score_mismatch",
                    f"signed score {signed.score} ({len(signed.deductions)} deductions), "
                    f"recomputed {expected.score} ({len(expected.deductions)} deductions)",
                )
            )
        return findings

    def _after_result(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        """Nothing of an exam (``AFTER_RESULT``) may follow its result."""
        exam = entry.event.get("exam")
        if not isinstance(exam, str):
            return []
        facts = self._index.before(index, history).exams.get(exam)
        if facts is None or facts.result is None:
            return []
        return [
            Finding(
                index,
                "exam_after_result",
                f"{entry.type} for exam {exam} after its result at entry {facts.result}",
            )
        ]
