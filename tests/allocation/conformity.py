"""The sampler's conformity test, shared by the examiner, vehicle and route draws.

Given how often each row (a candidate, or an examiner for the cars) drew each column over many
seeds: every drawn pair is in the support of F, no pair was drawn more often than the cap
allows beyond 4.5 σ of sampling noise, each row's counts fit F/S by a χ² test (Bonferroni over
the rows) and the rows' p-values are uniform by a Kolmogorov–Smirnov test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from scipy import stats

from allocation.fractional import Row


def assert_draws_match_f(
    counts: Sequence[Counter[int]], fractional: Sequence[Row], scale: int, cap: int, draws: int
) -> list[float]:
    """Assert the conformity of ``counts`` (per row: column → draws) to F; return the p-values."""
    p_values = []
    for c, row in enumerate(fractional):
        support = [e for e, _ in row]
        assert set(counts[c]) <= set(support), "a pair outside the support of F was drawn"
        share = cap / scale
        limit = draws * share + 4.5 * (draws * share * (1 - share)) ** 0.5
        assert max(counts[c].values()) <= limit
        if len(row) < 2:
            continue
        observed = [counts[c][e] for e in support]
        expected = [draws * w / scale for _, w in row]
        p_values.append(float(stats.chisquare(observed, expected).pvalue))
    assert p_values, "no row of F has a choice to test"
    assert min(p_values) > 0.001 / len(p_values)  # Bonferroni
    assert stats.kstest(p_values, "uniform").pvalue > 0.001
    return p_values
