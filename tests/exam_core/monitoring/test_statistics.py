"""The statistics warning on simulated months: it fires on a colluding examiner, on steered
draws, and stays quiet on honest months, whose false-alarm rate is measured here (seeded)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from scipy import stats

from exam_core.monitoring.month_simulation import Collusion, simulate_month
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.statistics import (
    Placement,
    poisson_binomial_p_value,
    statistical_findings,
    statistics_signals,
)
from exam_core.monitoring.warnings import grade

Q = DEFAULT_TABLE.statistics.false_discovery_rate
CENTRE = "exam.example/c/370100-01"
NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("n", "p", "observed"), [(22, 0.5, 22), (22, 0.5, 17), (40, 0.3, 2), (200, 0.05, 25)]
)
def test_the_exact_p_value_is_the_binomials_when_every_trial_is_alike(
    n: int, p: float, observed: int
) -> None:
    exact = min(1.0, 2 * min(stats.binom.cdf(observed, n, p), stats.binom.sf(observed - 1, n, p)))
    assert poisson_binomial_p_value([p] * n, observed) == pytest.approx(exact, rel=1e-9)


def test_the_p_value_of_unequal_trials_matches_brute_force() -> None:
    probabilities = [0.1, 0.9, 0.5, 0.3, 0.05, 0.7, 0.2, 0.15]
    outcomes = [0.0] * (len(probabilities) + 1)
    for mask in range(1 << len(probabilities)):
        weight = 1.0
        for k, p in enumerate(probabilities):
            weight *= p if mask >> k & 1 else 1 - p
        outcomes[bin(mask).count("1")] += weight
    observed = 7
    exact = 2 * min(sum(outcomes[: observed + 1]), sum(outcomes[observed:]))
    assert poisson_binomial_p_value(probabilities, observed) == pytest.approx(exact, rel=1e-9)


def test_it_fires_on_a_month_where_one_examiner_passes_a_schools_candidates() -> None:
    month = simulate_month(7, collusion=Collusion("e-05", "school-2"))
    findings = statistical_findings(month, Q)
    flagged = {(f.test, f.examiner, f.school) for f in findings}
    assert ("examiner_school_passes", "e-05", "school-2") in flagged
    (cell,) = [
        f
        for f in findings
        if (f.test, f.examiner, f.school) == ("examiner_school_passes", "e-05", "school-2")
    ]
    given = [p for p in month if (p.examiner, p.school) == ("e-05", "school-2")]
    assert cell.observed == len(given) == sum(bool(p.passed) for p in given)
    assert cell.observed > cell.expected + 3 * cell.sd
    assert cell.p_value <= cell.threshold <= Q
    # the evidence: each passed candidate's allocation and result entries
    assert set(cell.entries) == {p.allocation_entry for p in given} | {
        p.result_entry for p in given
    }
    signals = statistics_signals(CENTRE, month, Q, period="2026-11", at_ms=NOW)
    warnings = {(w.subject.kind, w.subject.name): w for w in grade(signals, DEFAULT_TABLE, NOW)}
    examiner = warnings[("examiner", "e-05")]
    assert examiner.level == "orange"
    assert "examiner_school_passes" in {s.source for s in examiner.signals}
    assert "Benjamini–Hochberg" in examiner.signals[0].message
    # recomputing the same period gives the same signals, not new ones
    again = statistics_signals(CENTRE, month, Q, period="2026-11", at_ms=NOW + 1)
    assert {s.id for s in again} == {s.id for s in signals}


def test_it_fires_on_draws_steered_towards_one_examiner() -> None:
    rng = random.Random(3)
    steered = [
        dataclasses.replace(p, examiner="e-03")
        if p.school == "school-3" and p.examiner != "e-03" and rng.random() < 0.3
        else p
        for p in simulate_month(11)
    ]
    flagged = {(f.test, f.examiner, f.school) for f in statistical_findings(steered, Q)}
    assert ("examiner_school_allocation", "e-03", "school-3") in flagged


def test_it_stays_quiet_on_an_honest_month() -> None:
    assert statistical_findings(simulate_month(7), Q) == []


def test_the_false_alarm_rate_over_seeded_honest_months() -> None:
    months = 60
    alarms = sum(
        bool(statistical_findings(simulate_month(100_000 + seed), Q)) for seed in range(months)
    )
    print(f"false alarms: {alarms} of {months} honest months")
    # bench/statistics_false_alarms.py measured 3.0 % of 400 honest months (docs/monitoring.md);
    # 6 of 60 would be more than three times that.
    assert alarms <= 6


def test_placements_without_a_result_or_an_examiner_count_only_where_they_can() -> None:
    month = simulate_month(7)
    pending = [dataclasses.replace(p, passed=None) for p in month[:200]] + month[200:]
    unplaced = [dataclasses.replace(p, examiner=None) for p in month[:10]]
    assert statistical_findings(pending + unplaced, Q) == []
    assert statistical_findings([], Q) == []
    lone = Placement("c-1", "school-1", (("e-01", 1.0),), "e-01", True, 0, 1)
    assert statistical_findings([lone], Q) == []
