"""The audit of scores: a signed score recomputes from the logged, signed telemetry, and every
way of breaking that chain is reported with the entry's index."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest

from exam_core.audit.history import MemoryHistory
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas import validate_event
from exam_core.scoring import (
    FieldCourse,
    RuleTable,
    ScoringReplayer,
    load_course,
    load_rule_table,
    score_chunks,
)
from exam_core.scoring.course import DEFAULT_MAPS
from exam_core.scoring.engine import ExaminerCall
from exam_core.scoring.events import (
    chunk_fields,
    examiner_judged_fields,
    scored_fields,
    stopped_fields,
)

from .conftest import EXAM_ID, ScoreFn, chunk_blobs

LOG = "exam.example/c/370100-01"
FIELD_VERSION = load_course(DEFAULT_MAPS[2]).version


class Log:
    def __init__(self) -> None:
        self.history = MemoryHistory()
        self.seq: dict[str, int] = {}
        self.admin = Ed25519Signer.from_seed(f"{LOG}/admin/A1", b"\x0a" * 32)

    def add(self, signer: Ed25519Signer, type_: str, **fields: Any) -> int:
        self.seq[signer.name] = self.seq.get(signer.name, 0) + 1
        event = {
            "v": 1,
            "log": LOG,
            "type": type_,
            "ts": 1_700_000_000_000 + len(self.history.entries),
            "actor": signer.name,
            "seq": self.seq[signer.name],
            **fields,
        }
        validate_event(event)
        self.history.entries.append(parse_entry(make_entry(signer, event)))
        return len(self.history.entries) - 1

    def register(self, signer: Ed25519Signer, role: str) -> None:
        self.add(self.admin, "key.registered", name=signer.name, vkey=signer.vkey, role=role)


SCORER = Ed25519Signer.from_seed(f"{LOG}/scorer/S1", b"\x0b" * 32)
TABLET = Ed25519Signer.from_seed(f"{LOG}/tablet/T017", b"\x0c" * 32)
GATEWAY = Ed25519Signer.from_seed(f"{LOG}/gateway/field-1", b"\x0d" * 32)


def gate(log: Log, *, allowed: bool) -> int:
    return log.add(
        GATEWAY,
        "device.gate",
        room="field-1",
        allowed=allowed,
        reasons=[] if allowed else ["field-1/jammer: jammer is standby, not jamming"],
        evidence=[],
        mono_ms=1,
        exam=EXAM_ID.hex(),
    )


def build(
    scored_blobs: Sequence[bytes],
    result: dict[str, Any],
    vehicle: Ed25519Signer,
    *,
    register_vehicle: bool = True,
    stopped: bool = False,
    stop_entry: bool = False,
    map_version: str = FIELD_VERSION,
    listed: Sequence[str] | None = None,
    gated: bool = True,
    alarm: bool = False,
    calls: Sequence[dict[str, Any]] = (),
) -> tuple[Log, int]:
    log = Log()
    if register_vehicle:
        log.register(vehicle, "vehicle")
    log.register(SCORER, "scorer")
    log.register(TABLET, "tablet")
    log.register(GATEWAY, "gateway")
    gate(log, allowed=False)
    if gated:
        gate(log, allowed=True)
    hashes = []
    for blob in scored_blobs:
        fields = chunk_fields(blob)
        hashes.append(fields["sha256"])
        log.history.blobs[fields["sha256"]] = blob
        log.add(vehicle, "telemetry.chunk", **fields)
    if alarm:
        log.add(
            GATEWAY,
            "device.alarm",
            device="field-1/jammer",
            kind="jammer",
            name="high-vswr",
            action="set",
            raw="00",
            mono_ms=2,
            exam=EXAM_ID.hex(),
        )
    if stop_entry:
        log.add(TABLET, "exam.stopped", **stopped_fields(EXAM_ID, "danger"))
    for call in calls:
        log.add(TABLET, "exam.examiner_judged", **call)
    index = log.add(
        SCORER,
        "exam.scored",
        exam=EXAM_ID.hex(),
        subject=2,
        licence_class="C1",
        map=map_version,
        rules=load_rule_table().version,
        chunks=list(listed if listed is not None else hashes),
        stopped=stopped,
        **result,
    )
    return log, index


@pytest.fixture(scope="module")
def faulty(field: FieldCourse, score_run: ScoreFn) -> Any:
    return score_run(field, ["20104", "10202"])


def replay(log: Log, index: int) -> list[tuple[int | None, str]]:
    findings = ScoringReplayer().replay(index, log.history.entries[index], log.history)
    return [(f.index, f.code) for f in findings]


def test_an_exam_without_an_allowed_gate_is_reported(faulty: Any, vehicle: Ed25519Signer) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, gated=False)
    assert replay(log, index) == [(index, "exam_ungated")]


def test_a_device_alarm_during_the_exam_is_a_warning(faulty: Any, vehicle: Ed25519Signer) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, alarm=True)
    findings = ScoringReplayer().replay(index, log.history.entries[index], log.history)
    assert [(f.code, f.severity) for f in findings] == [("exam_device_alarm", "warning")]


def test_honest_score_has_no_findings(faulty: Any, vehicle: Ed25519Signer) -> None:
    assert ScoringReplayer().event_types == frozenset(
        {"exam.scored", "telemetry.chunk", "exam.stopped", "device.gate"}
    )
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle)
    assert replay(log, index) == []
    assert faulty.result.score == 85


def test_a_single_changed_telemetry_byte_is_caught(faulty: Any, vehicle: Ed25519Signer) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle)
    sha = next(iter(log.history.blobs))
    changed = bytearray(log.history.blobs[sha])
    changed[200] ^= 0x04
    log.history.blobs[sha] = bytes(changed)
    assert replay(log, index) == [(index, "telemetry_invalid")]


def test_telemetry_resigned_by_another_key_is_caught(
    faulty: Any, vehicle: Ed25519Signer, field: FieldCourse
) -> None:
    impostor = Ed25519Signer.from_seed(vehicle.name, b"\x66" * 32)
    blobs = chunk_blobs(impostor, faulty.run.frames)
    log, index = build(blobs, faulty.result.to_json(), vehicle)
    assert replay(log, index) == [(index, "telemetry_invalid")]


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.update(score=95),
        lambda r: r.update(passed=False),
        lambda r: r.update(deductions=r["deductions"][1:]),
        lambda r: r["deductions"][0].update(frame=r["deductions"][0]["frame"] + 1),
        lambda r: r["deductions"][0].update(points=1),
    ],
)
def test_a_changed_score_does_not_recompute(
    faulty: Any, vehicle: Ed25519Signer, change: Any
) -> None:
    result = faulty.result.to_json()
    change(result)
    log, index = build(faulty.blobs, result, vehicle)
    assert replay(log, index) == [(index, "score_mismatch")]


def test_missing_and_unlogged_telemetry(faulty: Any, vehicle: Ed25519Signer) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle)
    log.history.blobs.pop(next(iter(log.history.blobs)))
    assert replay(log, index) == [(index, "telemetry_missing")]
    listed = [hashlib.sha256(b).hexdigest() for b in faulty.blobs[:-1]] + ["00" * 32]
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, listed=listed)
    assert replay(log, index) == [(index, "telemetry_missing")]


def test_a_truncated_recording_is_invalid(faulty: Any, vehicle: Ed25519Signer) -> None:
    listed = [hashlib.sha256(b).hexdigest() for b in faulty.blobs]
    del listed[1]
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, listed=listed)
    assert replay(log, index) == [(index, "telemetry_invalid")]


def test_telemetry_of_an_unregistered_vehicle_is_invalid(
    faulty: Any, vehicle: Ed25519Signer
) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, register_vehicle=False)
    assert replay(log, index) == [(index, "telemetry_invalid")]


def test_a_refused_vehicle_registration_registers_no_key(
    faulty: Any, vehicle: Ed25519Signer
) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle)
    assert replay(log, index) == []
    registration = next(
        i
        for i, e in enumerate(log.history.entries)
        if e.type == "key.registered" and e.event["name"] == vehicle.name
    )
    log.history.refused.add(registration)
    assert replay(log, index) == [(index, "telemetry_invalid")]


def test_the_stop_flag_must_match_the_log(
    faulty: Any, vehicle: Ed25519Signer, field: FieldCourse, table: RuleTable
) -> None:
    stopped_result = score_chunks(faulty.blobs, field, table, "C1", stopped=True).to_json()
    log, index = build(faulty.blobs, stopped_result, vehicle, stopped=True, stop_entry=True)
    assert replay(log, index) == []
    log, index = build(faulty.blobs, stopped_result, vehicle, stopped=True)
    assert replay(log, index) == [(index, "stop_mismatch")]
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, stop_entry=True)
    assert replay(log, index) == [(index, "stop_mismatch")]


def test_unknown_map_version_is_unverifiable(faulty: Any, vehicle: Ed25519Signer) -> None:
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, map_version="k2-field-z/9")
    assert replay(log, index) == [(index, "score_unverifiable")]
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, map_version="k3-route-a/1")
    assert replay(log, index) == [(index, "score_unverifiable")]


def test_scored_fields_make_an_entry_the_audit_accepts(
    faulty: Any, vehicle: Ed25519Signer, field: FieldCourse, table: RuleTable
) -> None:
    log, _ = build(faulty.blobs, faulty.result.to_json(), vehicle)
    log.history.entries.pop()  # the score ``build`` wrote by hand, replaced by the real one
    log.seq[SCORER.name] -= 1
    fields = scored_fields(EXAM_ID, "C1", field, table, faulty.blobs, result=faulty.result)
    index = log.add(SCORER, "exam.scored", **fields)
    assert replay(log, index) == []


def test_one_replayer_follows_a_growing_log_and_starts_again_for_another(
    faulty: Any, vehicle: Ed25519Signer
) -> None:
    """The audit keeps one replayer for a whole bundle: entries added after one score count
    for the next, and another bundle (or an earlier score) is not judged by what it has read."""
    replayer = ScoringReplayer()

    def codes(log: Log, index: int) -> list[tuple[int | None, str]]:
        found = replayer.replay(index, log.history.entries[index], log.history)
        return [(f.index, f.code) for f in found]

    log, first = build(faulty.blobs, faulty.result.to_json(), vehicle)
    assert codes(log, first) == []
    log.add(TABLET, "exam.stopped", **stopped_fields(EXAM_ID, "danger"))
    common = {"v", "log", "type", "ts", "actor", "seq"}
    fields = {k: v for k, v in log.history.entries[first].event.items() if k not in common}
    second = log.add(SCORER, "exam.scored", **fields)
    # The first score, read since, is the exam's one result.
    assert codes(log, second) == [(second, "exam_rescored")]
    assert codes(log, first) == []
    unregistered, index = build(
        faulty.blobs, faulty.result.to_json(), vehicle, register_vehicle=False
    )
    assert codes(unregistered, index) == [(index, "telemetry_invalid")]
    assert codes(log, second) == [(second, "exam_rescored")]


def test_an_exam_has_one_result_and_nothing_after_it(
    vehicle: Ed25519Signer, field: FieldCourse, score_run: ScoreFn
) -> None:
    """An insider holding the keys appends new telemetry and a second, better score for an
    exam already scored: the first result stands, and all that follows it is an error."""
    failed = score_run(field, ["20103"])
    log, first = build(failed.blobs, failed.result.to_json(), vehicle)
    clean = score_run(field, [])
    later = []
    for blob in clean.blobs:
        fields = chunk_fields(blob)
        log.history.blobs[fields["sha256"]] = blob
        later.append(log.add(vehicle, "telemetry.chunk", **fields))
    later.append(log.add(TABLET, "exam.stopped", **stopped_fields(EXAM_ID, "danger")))
    later.append(gate(log, allowed=True))
    rescore = scored_fields(
        EXAM_ID, "C1", field, load_rule_table(), clean.blobs, result=clean.result
    )
    second = log.add(SCORER, "exam.scored", **rescore)
    assert (failed.result.passed, clean.result.passed) == (False, True)
    replayer = ScoringReplayer()
    found = [
        (f.index, f.code, f.severity)
        for index, entry in enumerate(log.history.entries)
        if entry.type in replayer.event_types
        for f in replayer.replay(index, entry, log.history)
    ]
    assert found == [
        *((index, "exam_after_result", "error") for index in later),
        (second, "exam_rescored", "error"),
    ]
    assert (
        f"has its result at entry {first}"
        in replayer.replay(second, log.history.entries[second], log.history)[0].message
    )


def test_the_examiners_calls_count_in_the_score_and_are_listed(
    faulty: Any, vehicle: Ed25519Signer, field: FieldCourse, table: RuleTable
) -> None:
    examiner_rule = next(r for r in table.for_subject(2) if r.judge == "examiner")
    call = examiner_judged_fields(EXAM_ID, table, examiner_rule.code, 120)
    counted = score_chunks(
        faulty.blobs, field, table, "C1", examiner_calls=[ExaminerCall(examiner_rule.code, 120)]
    )
    assert counted.score == max(0, faulty.result.score - examiner_rule.points)
    assert ExaminerCall(examiner_rule.code, 120) not in faulty.result.deductions
    log, index = build(faulty.blobs, counted.to_json(), vehicle, calls=[call])
    findings = ScoringReplayer().replay(index, log.history.entries[index], log.history)
    assert [(f.code, f.severity) for f in findings] == [("examiner_judged", "warning")]
    assert findings[0].index == index - 1  # the examiner's entry, just before the score
    assert examiner_rule.code in findings[0].message
    assert "tablet/T017" in findings[0].message
    # a score that leaves the call out does not recompute
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, calls=[call])
    assert replay(log, index) == [(index - 1, "examiner_judged"), (index, "score_mismatch")]


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.update(code="20104"),  # a machine-judged rule: the car decides it
        lambda c: c.update(rules="ga1026-2017/2"),
        lambda c: c.update(frame=10**6),
    ],
)
def test_an_examiners_call_the_score_cannot_count_is_reported(
    faulty: Any, vehicle: Ed25519Signer, table: RuleTable, change: Any
) -> None:
    examiner_rule = next(r for r in table.for_subject(2) if r.judge == "examiner")
    call = examiner_judged_fields(EXAM_ID, table, examiner_rule.code, 120)
    change(call)
    log, index = build(faulty.blobs, faulty.result.to_json(), vehicle, calls=[call])
    assert replay(log, index) == [(index - 1, "examiner_judged_invalid")]
