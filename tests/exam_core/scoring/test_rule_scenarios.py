"""Every machine-judged rule of the shipped table, triggered and just missed.

The scenarios are generated from the table itself, so a rule added to the table without a
scenario fails here.  A trigger must give the rule's code and points at the frame where the
simulator committed the fault; the near miss (just on the right side of the threshold: a 29 cm
roll-back against 31 cm, a 1.9 s stop against 2.1 s, …) must not give the code at all.
"""

from __future__ import annotations

import pytest

from exam_core.scoring import load_rule_table
from exam_core.scoring.course import LARGE_VEHICLE_ITEMS

from .conftest import ScoreFn

TABLE = load_rule_table()
CASES = [
    pytest.param(rule.code, subject, id=f"{rule.code}-k{subject}")
    for rule in TABLE.rules.values()
    if rule.judge == "machine"
    for subject in sorted(rule.subjects)
]


def _course(subject: int, request: pytest.FixtureRequest, code: str) -> object:
    if TABLE.rules[code].item in LARGE_VEHICLE_ITEMS:
        return request.getfixturevalue("large_field")
    return request.getfixturevalue("field" if subject == 2 else "route")


@pytest.mark.parametrize(("code", "subject"), CASES)
def test_fault_is_deducted_at_its_frame(
    code: str, subject: int, score_run: ScoreFn, request: pytest.FixtureRequest
) -> None:
    rule = TABLE.rules[code]
    scored = score_run(_course(subject, request, code), [code])
    hits = [d for d in scored.result.deductions if d.code == code]
    assert hits, f"{code} not deducted: {scored.result.to_json()}"
    first, last = scored.run.expected[code]
    assert first <= hits[0].frame <= last
    assert hits[0].points == rule.points
    assert hits[0].item == rule.item
    assert not scored.result.passed or rule.points < 100


@pytest.mark.parametrize(("code", "subject"), CASES)
def test_near_miss_is_not_deducted(
    code: str, subject: int, score_run: ScoreFn, request: pytest.FixtureRequest
) -> None:
    scored = score_run(_course(subject, request, code), [f"{code}:near"])
    assert code not in {d.code for d in scored.result.deductions}


def test_every_rule_has_a_scenario() -> None:
    codes = {c.values[0] for c in CASES}
    assert codes == {r.code for r in TABLE.rules.values() if r.judge == "machine"}
    assert len(codes) >= 60
