"""The type-specific fields of the exam events, made in one place.

The in-car unit logs each chunk (``telemetry.chunk``), the scorer signs the result
(``exam.scored``), the examiner's tablet stops an exam (``exam.stopped``) or records a call on
what no sensor sees (``exam.examiner_judged``); the audit replays exactly these fields, so the
producers build them here rather than by hand.  The caller adds the common fields (``v``,
``log``, ``type``, ``ts``, ``actor``, ``seq``) and signs with ``exam_core.log.entry.make_entry``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from exam_core.errors import ScoringError
from exam_core.scoring.course import Course, subject_of
from exam_core.scoring.result import ScoreResult
from exam_core.scoring.rules import RuleTable
from exam_core.scoring.telemetry import parse_chunk


def chunk_fields(blob: bytes) -> dict[str, Any]:
    """``telemetry.chunk`` fields for one chunk blob (parsed, so a bad blob is refused)."""
    chunk = parse_chunk(blob)
    return {
        "exam": chunk.exam_id.hex(),
        "chunk": chunk.chunk_no,
        "first_frame": chunk.first_frame,
        "frames": chunk.frame_count,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "length": len(blob),
    }


def scored_fields(
    exam_id: bytes,
    licence_class: str,
    course: Course,
    table: RuleTable,
    blobs: Sequence[bytes],
    *,
    result: ScoreResult,
    stopped: bool = False,
) -> dict[str, Any]:
    """``exam.scored`` fields: everything the audit needs to recompute ``result``."""
    return {
        "exam": exam_id.hex(),
        "subject": subject_of(course),
        "licence_class": licence_class,
        "map": course.version,
        "rules": table.version,
        "chunks": [hashlib.sha256(b).hexdigest() for b in blobs],
        "stopped": stopped,
        **result.to_json(),
    }


def stopped_fields(exam_id: bytes, reason: str) -> dict[str, Any]:
    """``exam.stopped`` fields: the exam and a reason from the schema's fixed list."""
    return {"exam": exam_id.hex(), "reason": reason}


def examiner_judged_fields(
    exam_id: bytes, table: RuleTable, code: str, frame: int
) -> dict[str, Any]:
    """``exam.examiner_judged`` fields: the examiner's call ``code`` at ``frame``.

    Raises:
        ScoringError: unless ``code`` is an examiner-judged rule of ``table`` (the tablet can
            only deduct, and only what the table leaves to the examiner).
    """
    rule = table.rules.get(code)
    if rule is None or rule.judge != "examiner":
        raise ScoringError(f"{code} is not an examiner-judged rule of {table.version}")
    if frame < 0:
        raise ScoringError("an examiner's call refers to a frame of the recording")
    return {"exam": exam_id.hex(), "rules": table.version, "code": code, "frame": frame}
