"""The exam event types: who may sign them and which fields they carry (integers only, no
personal data), checked in both directions."""

from __future__ import annotations

from typing import Any

import pytest

import exam_core.scoring
from exam_core.errors import EntryError
from exam_core.log.schemas import REGISTRY, validate_event

EXAM = "00112233445566778899aabbccddeeff"
SHA = "ab" * 32


def event(type_: str, **fields: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "log": "exam.example/c/1",
        "type": type_,
        "ts": 1,
        "actor": "k",
        "seq": 1,
        **fields,
    }


CHUNK = {"exam": EXAM, "chunk": 0, "first_frame": 0, "frames": 600, "sha256": SHA, "length": 16_900}
SCORED = {
    "exam": EXAM,
    "subject": 3,
    "licence_class": "C1",
    "map": "k3-route-a/1",
    "rules": "ga1026-2017/1",
    "chunks": [SHA],
    "stopped": False,
    "score": 90,
    "passed": True,
    "deductions": [{"code": "10202", "item": "general", "points": 10, "frame": 79}],
}


JUDGED = {"exam": EXAM, "rules": "ga1026-2017/3", "code": "X39001", "frame": 812}


def test_roles() -> None:
    assert REGISTRY["telemetry.chunk"].roles == frozenset({"vehicle"})
    assert REGISTRY["exam.scored"].roles == frozenset({"scorer"})
    assert REGISTRY["exam.stopped"].roles == frozenset({"tablet"})
    assert REGISTRY["exam.examiner_judged"].roles == frozenset({"tablet"})


def test_valid_events() -> None:
    validate_event(event("telemetry.chunk", **CHUNK))
    validate_event(event("exam.scored", **SCORED))
    validate_event(event("exam.stopped", exam=EXAM, reason="danger"))
    validate_event(event("exam.examiner_judged", **JUDGED))


@pytest.mark.parametrize(
    ("type_", "base", "change"),
    [
        ("telemetry.chunk", CHUNK, {"exam": "Mr Zhang"}),
        ("telemetry.chunk", CHUNK, {"sha256": "ab"}),
        ("telemetry.chunk", CHUNK, {"frames": 0}),
        ("telemetry.chunk", CHUNK, {"length": "1"}),
        ("exam.scored", SCORED, {"score": 101}),
        ("exam.scored", SCORED, {"subject": 1}),
        ("exam.scored", SCORED, {"chunks": []}),
        ("exam.scored", SCORED, {"passed": 1}),
        ("exam.scored", SCORED, {"map": "no version"}),
        ("exam.scored", SCORED, {"deductions": [{"code": "10202", "item": "general"}]}),
        (
            "exam.scored",
            SCORED,
            {"deductions": [{"code": "1", "item": "g", "points": 1, "frame": 1}]},
        ),
        ("exam.scored", SCORED, {"examiner_note": "x"}),
        ("exam.stopped", {"exam": EXAM, "reason": "danger"}, {"reason": "candidate name here"}),
        ("exam.stopped", {"exam": EXAM, "reason": "danger"}, {"note": "free text"}),
        ("exam.examiner_judged", JUDGED, {"code": "no code"}),
        ("exam.examiner_judged", JUDGED, {"frame": -1}),
        ("exam.examiner_judged", JUDGED, {"frame": 1.5}),
        ("exam.examiner_judged", JUDGED, {"rules": "latest"}),
        ("exam.examiner_judged", JUDGED, {"points": 10}),
        ("exam.examiner_judged", JUDGED, {"note": "the candidate looked nervous"}),
    ],
)
def test_invalid_events_are_refused(
    type_: str, base: dict[str, Any], change: dict[str, Any]
) -> None:
    with pytest.raises(EntryError) as e:
        validate_event(event(type_, **{**base, **change}))
    assert e.value.code == "schema"


def test_scoring_public_api_is_pinned() -> None:
    assert sorted(exam_core.scoring.__all__) == sorted(
        [
            "Chunk",
            "Course",
            "Deduction",
            "FieldCourse",
            "Frame",
            "RouteCourse",
            "Rule",
            "RuleTable",
            "ScoreResult",
            "ScoringReplayer",
            "TelemetryCheck",
            "TelemetryError",
            "Track",
            "assemble_track",
            "check_telemetry",
            "chunk_fields",
            "course_by_version",
            "load_course",
            "load_rule_table",
            "make_chunk",
            "parse_chunk",
            "parse_course",
            "parse_result",
            "parse_rule_table",
            "rule_table_by_version",
            "score_chunks",
            "score_track",
            "scored_fields",
            "simulate",
            "stopped_fields",
            "verify_chunk_signature",
        ]
    )
    for name in exam_core.scoring.__all__:
        assert hasattr(exam_core.scoring, name)
