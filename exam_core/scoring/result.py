"""The score of one exam: deductions with the frame that proves each, and the verdict.

The result is what the scorer signs (``exam.scored``) and what anyone recomputes, so its bytes
are canonical JSON (``exam_core.log.canonical``): the same telemetry, map and table always give the
same bytes.  ``parse_result`` is the strict inverse used by ``examctl score replay`` and the
audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exam_core.errors import CanonicalError, ScoringError
from exam_core.log.canonical import canonical_json, parse_canonical

FULL_MARKS = 100


@dataclass(frozen=True, order=True)
class Deduction:
    """One rule broken once: ordered by frame, then code, so results sort the same everywhere."""

    frame: int
    code: str
    item: str
    points: int

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "item": self.item, "points": self.points, "frame": self.frame}


@dataclass(frozen=True)
class ScoreResult:
    """Score from 100 minus every deduction (not below 0); passed only at or above the mark
    with no disqualifying deduction."""

    score: int
    passed: bool
    deductions: tuple[Deduction, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "passed": self.passed,
            "deductions": [d.to_json() for d in self.deductions],
        }

    def to_bytes(self) -> bytes:
        return canonical_json(self.to_json())


def make_result(deductions: list[Deduction], pass_mark: int, disqualifying: int) -> ScoreResult:
    ordered = tuple(sorted(deductions))
    score = max(0, FULL_MARKS - sum(d.points for d in ordered))
    failed = any(d.points >= disqualifying for d in ordered)
    return ScoreResult(score, score >= pass_mark and not failed, ordered)


def parse_result(data: bytes) -> ScoreResult:
    """Parse result bytes strictly (canonical JSON of exactly the fields ``to_json`` writes).

    Raises:
        ScoringError: ``data`` is not canonical JSON, or not exactly ``score``, ``passed`` and
            ``deductions`` with valid values.
    """
    try:
        doc = parse_canonical(data)
    except CanonicalError as e:
        raise ScoringError(f"result is not canonical JSON: {e}") from e
    return result_from_json(doc)


def result_from_json(doc: object) -> ScoreResult:
    if not isinstance(doc, dict) or set(doc) != {"score", "passed", "deductions"}:
        raise ScoringError("result must have exactly score, passed and deductions")
    score, passed, rows = doc["score"], doc["passed"], doc["deductions"]
    if not isinstance(score, int) or isinstance(score, bool) or not isinstance(passed, bool):
        raise ScoringError("score must be an integer and passed a boolean")
    if not isinstance(rows, list):
        raise ScoringError("deductions must be a list")
    out = []
    for row in rows:
        if not isinstance(row, dict) or set(row) != {"code", "item", "points", "frame"}:
            raise ScoringError("a deduction has exactly code, item, points and frame")
        code, item, points, frame = row["code"], row["item"], row["points"], row["frame"]
        if not (isinstance(code, str) and isinstance(item, str)):
            raise ScoringError("deduction code and item must be strings")
        if not (isinstance(points, int) and isinstance(frame, int)):
            raise ScoringError("deduction points and frame must be integers")
        out.append(Deduction(frame, code, item, points))
    return ScoreResult(score, passed, tuple(out))
