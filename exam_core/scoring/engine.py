"""The scoring engine: telemetry, a course map and a rule table in; a result out.

It is pure and deterministic (DESIGN §6): no clock, no file, no database, no floating point in
any decision, so the same inputs give the same result bytes on every machine and the audit can
recompute a score from the logged telemetry.  Each machine-judged rule of the table is decided
by exactly one rule function (the ``RULE_FUNCTIONS`` of ``general_rules``, of ``field_general``,
``field_items`` and ``large_items`` for 科目二 and of ``route_general`` and ``route_items`` for
科目三: code → the function that decides it); a table naming a rule this engine cannot decide
is refused rather than scored without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Verifier
from exam_core.scoring import (
    air_brakes,
    cab_rules,
    field_general,
    field_items,
    general_rules,
    large_items,
    no_stopping,
    route_cab_rules,
    route_general,
    route_items,
)
from exam_core.scoring.course import Course, FieldCourse, subject_of
from exam_core.scoring.facts import TrackFacts
from exam_core.scoring.field_scene import FieldScene
from exam_core.scoring.result import Deduction, ScoreResult, make_result
from exam_core.scoring.route_scene import RouteScene
from exam_core.scoring.rules import DISQUALIFYING, Rule, RuleTable
from exam_core.scoring.telemetry import Track, read_track

GENERAL_FUNCTIONS = {**general_rules.RULE_FUNCTIONS, **cab_rules.RULE_FUNCTIONS}
"""The rule functions of both subjects, which read only the track's facts."""


def decided_codes(subject: int) -> frozenset[str]:
    """Every rule code this engine can decide for a subject."""
    return frozenset(GENERAL_FUNCTIONS) | frozenset(_subject_functions(subject))


def _subject_functions(subject: int) -> dict[str, Callable[..., list[Deduction]]]:
    if subject == 2:
        return {
            **field_general.RULE_FUNCTIONS,
            **field_items.RULE_FUNCTIONS,
            **large_items.RULE_FUNCTIONS,
        }
    return {
        **route_general.RULE_FUNCTIONS,
        **route_items.RULE_FUNCTIONS,
        **route_cab_rules.RULE_FUNCTIONS,
        **no_stopping.RULE_FUNCTIONS,
        **air_brakes.RULE_FUNCTIONS,
    }


def newest_method(code: str) -> int:
    """The newest method by which this engine decides a rule (1 for most)."""
    methods = (
        general_rules.METHODS,
        cab_rules.METHODS,
        field_general.METHODS,
        field_items.METHODS,
        large_items.METHODS,
        route_general.METHODS,
        route_items.METHODS,
        route_cab_rules.METHODS,
        no_stopping.METHODS,
        air_brakes.METHODS,
    )
    return next((m[code] for m in methods if code in m), 1)


def telemetry_needed(code: str) -> int:
    """The telemetry format version a rule reads (2 or 3 for what only that version carries)."""
    needs = {**cab_rules.TELEMETRY, **route_cab_rules.TELEMETRY, **air_brakes.TELEMETRY}
    return needs.get(code, 1)


def verify_table_decidable(table: RuleTable, subject: int) -> None:
    """Refuse a table with a machine-judged rule that no rule function decides, or by a method
    this engine does not know.

    Raises:
        ScoringError: naming the first such rule.
    """
    known = decided_codes(subject)
    for rule in table.for_subject(subject):
        if rule.judge != "machine":
            continue
        if rule.code not in known:
            raise ScoringError(f"rule {rule.code} of {table.version} cannot be decided here")
        if rule.method > newest_method(rule.code):
            raise ScoringError(f"rule {rule.code} has no method {rule.method} here")


@dataclass(frozen=True)
class ExaminerCall:
    """An ``exam.examiner_judged`` entry as the score counts it: a code and its frame."""

    code: str
    frame: int


def examiner_deductions(
    calls: Sequence[ExaminerCall], table: RuleTable, subject: int, frames: int
) -> list[Deduction]:
    """The deductions of the examiner's calls: each must name an examiner-judged rule of the
    table for the subject, at a frame of the recording; it costs that rule's points.

    Raises:
        ScoringError: for a call that names another rule or a frame beyond the recording.
    """
    out = []
    for call in calls:
        rule = table.rules.get(call.code)
        if rule is None or rule.judge != "examiner" or subject not in rule.subjects:
            raise ScoringError(
                f"{call.code} is not an examiner-judged rule of {table.version} for subject "
                f"{subject}"
            )
        if not 0 <= call.frame < frames:
            raise ScoringError(
                f"examiner's call {call.code} at frame {call.frame} is not in "
                f"the recording of {frames} frames"
            )
        out.append(rule.at(call.frame))
    return out


def score_track(
    track: Track,
    course: Course,
    table: RuleTable,
    licence_class: str,
    stopped: bool = False,
    *,
    examiner_calls: Sequence[ExaminerCall] = (),
) -> ScoreResult:
    """Score one exam's track.

    (1) the table must be decidable for the course's subject; (2) the track must carry what
    each rule reads (a version 1 track has no camera, pedal, gearbox or command columns), and
    the general rules and the subject's rules each add their deductions; (3) the score is 100
    minus the points, passed at or above the pass mark of the subject and licence class with
    no disqualifying rule broken.  An exam the examiner stopped (``stopped``) keeps its points
    but never passes.

    Raises:
        ScoringError: if the table cannot be decided here or needs telemetry the track lacks,
            or an examiner's call is not an examiner-judged rule at a frame of the track.
    """
    subject = subject_of(course)
    # (1)
    verify_table_decidable(table, subject)
    facts = TrackFacts(track, table.common)
    deductions: list[Deduction] = []
    # (2)
    rules = [r for r in table.for_subject(subject) if r.judge == "machine"]
    for rule in rules:
        if telemetry_needed(rule.code) > track.version:
            raise ScoringError(
                f"rule {rule.code} of {table.version} needs telemetry version "
                f"{telemetry_needed(rule.code)}; this exam's is version {track.version}: score it "
                "with a table for its in-car unit"
            )
    # The subject's rule functions bound to its scene; ``unreached`` is its "every item driven"
    # rule, which a stopped exam is not judged by (it keeps the points of what it did drive).
    own: dict[str, Callable[[Rule], list[Deduction]]]
    if isinstance(course, FieldCourse):
        field = FieldScene(facts, course, facts.setting("tyre_half_width_mm"))
        own = {code: partial(fn, field) for code, fn in _subject_functions(2).items()}
        unreached = "X20001"
    else:
        route = RouteScene(facts, course)
        own = {code: partial(fn, route) for code, fn in _subject_functions(3).items()}
        unreached = "X31201"
    for rule in rules:
        if rule.code in GENERAL_FUNCTIONS:
            deductions += GENERAL_FUNCTIONS[rule.code](facts, rule)
        elif not (stopped and rule.code == unreached):
            deductions += own[rule.code](rule)
    deductions += examiner_deductions(examiner_calls, table, subject, len(track))
    # (3)
    result = make_result(deductions, table.pass_mark(subject, licence_class), DISQUALIFYING)
    if stopped and result.passed:
        return ScoreResult(result.score, False, result.deductions)
    return result


def score_chunks(
    blobs: Sequence[bytes],
    course: Course,
    table: RuleTable,
    licence_class: str,
    *,
    verifier: Ed25519Verifier | None = None,
    exam_id: bytes | None = None,
    stopped: bool = False,
    examiner_calls: Sequence[ExaminerCall] = (),
) -> ScoreResult:
    """Score chunk blobs (``read_track``: signed by ``verifier`` and of ``exam_id`` when
    given), with the examiner's calls.

    Raises:
        ScoringError: as ``read_track`` and ``score_track`` do.
    """
    verifiers = None if verifier is None else [verifier] * len(blobs)
    track = read_track(blobs, table.telemetry, verifiers=verifiers, exam_id=exam_id)
    return score_track(track, course, table, licence_class, stopped, examiner_calls=examiner_calls)
