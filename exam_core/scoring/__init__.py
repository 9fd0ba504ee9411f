"""Automated scoring from signed telemetry (DESIGN §6).

The score is a function of what the car did: the in-car unit signs its telemetry chunks, the
engine decides every rule of a versioned table against a versioned course map, and anyone can
recompute the result byte for byte.

Errors are those of ``exam_core`` (``exam_core.errors``); scoring adds one leaf:

    ExamCoreError
    └── ScoringError            a course map, rule table or result that cannot be used
        └── TelemetryError      telemetry refused, with a stable ``reason`` and the frame

Caller mistakes (an exam id that is not 16 bytes, a frame value out of range when making a
chunk) are ``RuntimeError``.
"""

from __future__ import annotations

from exam_core.scoring.course import (
    Course,
    FieldCourse,
    RouteCourse,
    course_by_version,
    load_course,
    parse_course,
)
from exam_core.scoring.engine import score_chunks, score_track
from exam_core.scoring.events import chunk_fields, scored_fields, stopped_fields
from exam_core.scoring.replayer import ScoringReplayer
from exam_core.scoring.result import Deduction, ScoreResult, parse_result
from exam_core.scoring.rules import (
    Rule,
    RuleTable,
    load_rule_table,
    parse_rule_table,
    rule_table_by_version,
)
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import (
    Chunk,
    Frame,
    TelemetryCheck,
    TelemetryError,
    Track,
    assemble_track,
    check_telemetry,
    make_chunk,
    parse_chunk,
    verify_chunk_signature,
)

__all__ = [
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
