"""The audit of scores: every ``exam.scored`` entry recomputed from its logged telemetry.

An auditor trusts no scorer (DESIGN §3.5 steps 5 and 6): for each score the replayer checks
that the exam's room was gated open before it started, fetches the telemetry chunk blobs by
the hashes the entry lists, checks that the in-car unit logged each of them for this exam and
signed it with its registered key, re-runs the engine with the same map and rule-table
versions, and reports every difference as a finding with the entry's index.  It also checks
that the ``stopped`` flag agrees with the examiner's ``exam.stopped`` entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from exam_core.entry import Entry
from exam_core.errors import ExamCoreError, ScoringError
from exam_core.note import Ed25519Verifier, ed25519_verifier_from_vkey
from exam_core.replay import AuditHistory, Finding
from exam_core.scoring.course import FieldCourse, course_by_version
from exam_core.scoring.engine import score_track
from exam_core.scoring.result import result_from_json
from exam_core.scoring.rules import rule_table_by_version
from exam_core.scoring.telemetry import (
    TelemetryError,
    assemble_track,
    parse_chunk,
    verify_chunk_signature,
)


def _vehicle_keys(entries: Sequence[Entry]) -> dict[str, Ed25519Verifier]:
    keys: dict[str, Ed25519Verifier] = {}
    for e in entries:
        if e.type == "key.registered" and e.event.get("role") == "vehicle":
            try:
                keys[str(e.event["name"])] = ed25519_verifier_from_vkey(str(e.event["vkey"]))
            except ExamCoreError:
                continue
        elif e.type == "key.revoked":
            keys.pop(str(e.event["name"]), None)
    return keys


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


class ScoringReplayer:
    """Recomputes ``exam.scored`` entries; see the module docstring."""

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({"exam.scored"})

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        """Check one score.

        (0) an allowed gate decision precedes the exam's telemetry (alarms during it are
        warnings); (1) every listed chunk was logged by a ``telemetry.chunk`` entry for this
        exam, and its blob is present and matches its hash; (2) each blob is a chunk signed by
        the key of the vehicle that logged it; (3) the chunks form one valid recording; (4)
        ``stopped`` matches the log; (5) the engine, with the entry's map and rule table, gives
        exactly the signed result.
        """
        event = entry.event
        exam = str(event["exam"])
        earlier = history.entries[:index] if len(history.entries) > index else history.entries
        logged: dict[str, Mapping[str, Any]] = {}
        stops = 0
        first_gate: int | None = None
        first_chunk: int | None = None
        alarms: list[int] = []
        for position, e in enumerate(earlier):
            if e.event.get("exam") != exam:
                continue
            if e.type == "telemetry.chunk":
                logged[str(e.event["sha256"])] = {"actor": e.actor, **e.event}
                first_chunk = position if first_chunk is None else first_chunk
            elif e.type == "exam.stopped":
                stops += 1
            elif e.type == "device.gate" and e.event.get("allowed") is True:
                first_gate = position if first_gate is None else first_gate
            elif e.type == "device.alarm" and e.event.get("action") == "set":
                alarms.append(position)
        gating = _gating_findings(index, first_gate, first_chunk, alarms)
        keys = _vehicle_keys(earlier)
        # (1)
        blobs: list[bytes] = []
        actors: list[str] = []
        for sha in event["chunks"]:
            if sha not in logged:
                return [Finding(index, "telemetry_missing", f"chunk {sha} was never logged")]
            blob = history.blob(sha)
            if blob is None:
                return [Finding(index, "telemetry_missing", f"blob {sha} is not in the bundle")]
            if hashlib.sha256(blob).hexdigest() != sha:
                return [Finding(index, "telemetry_invalid", f"blob {sha} does not match its hash")]
            blobs.append(blob)
            actors.append(str(logged[sha]["actor"]))
        # (2) and (3)
        try:
            table = rule_table_by_version(str(event["rules"]))
            course = course_by_version(str(event["map"]))
            chunks = [parse_chunk(b) for b in blobs]
            for chunk, actor in zip(chunks, actors, strict=True):
                verifier = keys.get(actor)
                if verifier is None:
                    raise TelemetryError("unknown_vehicle", f"{actor} is not a registered vehicle")
                verify_chunk_signature(chunk, verifier)
                if chunk.exam_id.hex() != exam:
                    raise TelemetryError(
                        "exam_mismatch", f"chunk {chunk.chunk_no} names another exam"
                    )
            track = assemble_track(chunks, table.telemetry)
        except TelemetryError as e:
            return [Finding(index, "telemetry_invalid", str(e))]
        except ScoringError as e:
            return [Finding(index, "score_unverifiable", str(e))]
        findings: list[Finding] = list(gating)
        # (4)
        stopped = bool(event["stopped"])
        if stopped != (stops > 0):
            findings.append(
                Finding(
                    index,
                    "stop_mismatch",
                    f"score says stopped={stopped}; the log has {stops} exam.stopped entries",
                )
            )
        # (5)
        subject = 2 if isinstance(course, FieldCourse) else 3
        if event["subject"] != subject:
            return [
                *findings,
                Finding(
                    index, "score_unverifiable", f"map {course.version} is not subject {subject}"
                ),
            ]
        expected = score_track(track, course, table, str(event["licence_class"]), stopped)
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
