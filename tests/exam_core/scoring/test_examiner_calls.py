"""The examiner's calls: only the table's examiner-judged rows, at a frame of the recording,
each costing its row's points; they can take points away, never give any."""

from __future__ import annotations

import pytest

from exam_core.errors import ScoringError
from exam_core.scoring import RouteCourse, RuleTable, score_chunks
from exam_core.scoring.engine import ExaminerCall
from exam_core.scoring.events import examiner_judged_fields

from .conftest import EXAM_ID, ScoreFn


def test_every_examiner_row_costs_its_points(
    route: RouteCourse, table: RuleTable, score_run: ScoreFn
) -> None:
    clean = score_run(route)
    assert clean.result.score == 100
    rows = [r for r in table.for_subject(3) if r.judge == "examiner"]
    assert len(rows) >= 40
    for rule in (rows[0], next(r for r in rows if r.points < 100)):
        result = score_chunks(
            clean.blobs, route, table, "C1", examiner_calls=[ExaminerCall(rule.code, 300)]
        )
        assert [(d.code, d.frame, d.points) for d in result.deductions] == [
            (rule.code, 300, rule.points)
        ]
        assert result.passed == (rule.points < 100 and 100 - rule.points >= 90)


@pytest.mark.parametrize(
    ("code", "frame", "why"),
    [
        ("X30105", 10, "not an examiner-judged rule"),  # the car decides it
        ("X29001", 10, "not an examiner-judged rule"),  # a 科目二 row on the route
        ("X39999", 10, "not an examiner-judged rule"),
        ("X39001", 10**7, "not in the recording"),
        ("X39001", -1, "not in the recording"),
    ],
)
def test_a_call_outside_the_examiners_rows_or_the_recording_is_refused(
    code: str, frame: int, why: str, route: RouteCourse, table: RuleTable, score_run: ScoreFn
) -> None:
    clean = score_run(route)
    with pytest.raises(ScoringError, match=why):
        score_chunks(clean.blobs, route, table, "C1", examiner_calls=[ExaminerCall(code, frame)])


def test_the_tablet_can_only_name_an_examiner_row(table: RuleTable) -> None:
    fields = examiner_judged_fields(EXAM_ID, table, "X39001", 5)
    assert fields == {"exam": EXAM_ID.hex(), "rules": table.version, "code": "X39001", "frame": 5}
    with pytest.raises(ScoringError):
        examiner_judged_fields(EXAM_ID, table, "10101", 5)
    with pytest.raises(ScoringError):
        examiner_judged_fields(EXAM_ID, table, "X39001", -5)
