"""F and Q*: exact integer flows checked against an LP oracle (scipy HiGHS) on small rosters."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from allocation import (
    AssignmentProblem,
    InfeasibleError,
    build_fractional,
    check_fractional,
    smallest_cap,
)
from allocation.flow import BoundedFlow, FlowNetwork
from allocation.fractional import uniform_share


def random_problem(rng: random.Random, scale: int = 60) -> AssignmentProblem:
    n, m = rng.randint(3, 12), rng.randint(2, 5)
    while True:
        eligible = tuple(tuple(sorted(rng.sample(range(m), rng.randint(1, m)))) for _ in range(n))
        low = [max(0, n // m - rng.randint(0, 1)) for _ in range(m)]
        high = [-(-n // m) + rng.randint(0, 2) for _ in range(m)]
        problem = AssignmentProblem(
            tuple(f"c{i}" for i in range(n)),
            tuple(f"e{j}" for j in range(m)),
            eligible,
            tuple(low),
            tuple(high),
            scale,
        )
        if _lp(problem, None) is not None:
            return problem


def _lp(
    problem: AssignmentProblem,
    pair_bounds: Sequence[Sequence[tuple[float, float]]] | None,
) -> float | None:
    """Minimise the largest pair weight t (in units) over the LP; None when infeasible.

    With ``pair_bounds`` the per-pair bounds are fixed and t is unconstrained by them.
    """
    pairs = [(c, e) for c, row in enumerate(problem.eligible) for e in row]
    k = len(pairs)
    s = problem.scale
    a_eq = np.zeros((len(problem.candidates), k + 1))
    for j, (c, _) in enumerate(pairs):
        a_eq[c, j] = 1
    b_eq = np.full(len(problem.candidates), s)
    rows, rhs = [], []
    for e in range(len(problem.examiners)):
        col = np.array([1.0 if pe == e else 0.0 for _, pe in pairs] + [0.0])
        rows += [col, -col]
        rhs += [problem.load_max[e] * s, -problem.load_min[e] * s]
    for j in range(k):
        r = np.zeros(k + 1)
        r[j], r[k] = 1, -1
        rows.append(r)
        rhs.append(0)
    bounds: list[tuple[float, float | None]] = [(0, s) for _ in range(k + 1)]  # pairs, then t
    if pair_bounds is not None:
        flat = [
            pair_bounds[c][p] for c, row in enumerate(problem.eligible) for p in range(len(row))
        ]
        bounds = [*flat, (0, s)]
    cost = np.zeros(k + 1)
    cost[k] = 1
    result = linprog(
        cost, A_ub=np.array(rows), b_ub=rhs, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs"
    )
    return float(result.fun) if result.status == 0 else None


@pytest.mark.parametrize("seed", range(25))
def test_q_star_matches_the_lp_optimum(seed: int) -> None:
    problem = random_problem(random.Random(seed))
    optimum = _lp(problem, None)
    assert optimum is not None
    # The network matrix makes every integer cap ≥ the LP optimum feasible in integers.
    assert smallest_cap(problem) == int(np.ceil(optimum - 1e-7))


@pytest.mark.parametrize("seed", range(25))
def test_fractional_is_valid_and_as_even_as_the_constraints_allow(seed: int) -> None:
    problem = random_problem(random.Random(1000 + seed))
    q_star = smallest_cap(problem)
    cap = min(problem.scale, q_star + random.Random(seed).randint(0, 15))
    fractional = build_fractional(problem, cap, q_star)
    assert check_fractional(problem, fractional, cap) == []
    weights = [dict(row) for row in fractional]
    delta = max(
        abs(weights[c].get(e, 0) - uniform_share(problem, c, p))
        for c, row in enumerate(problem.eligible)
        for p, e in enumerate(row)
    )
    if delta == 0:
        return
    tighter = [
        [
            (
                max(0, uniform_share(problem, c, p) - delta + 1),
                min(cap, uniform_share(problem, c, p) + delta - 1),
            )
            for p in range(len(row))
        ]
        for c, row in enumerate(problem.eligible)
    ]
    assert _lp(problem, tighter) is None, f"a smaller deviation than {delta} is feasible"


def test_symmetric_roster_gets_the_uniform_spread() -> None:
    problem = AssignmentProblem(
        tuple(f"c{i}" for i in range(6)),
        ("e0", "e1", "e2"),
        ((0, 1, 2),) * 6,
        (2, 2, 2),
        (2, 2, 2),
        900,
    )
    assert smallest_cap(problem) == 300
    assert build_fractional(problem, 900) == (((0, 300), (1, 300), (2, 300)),) * 6


def test_candidate_nobody_may_examine_is_named() -> None:
    problem = AssignmentProblem(("c0", "c-lonely"), ("e0",), ((0,), ()), (0,), (2,), 10)
    with pytest.raises(InfeasibleError, match="c-lonely has no eligible examiner"):
        smallest_cap(problem)


def test_hall_violation_names_the_candidates() -> None:
    # three C2 candidates, one C2 examiner who may take two
    problem = AssignmentProblem(
        ("a", "b", "c", "d"), ("e0", "e1"), ((0,), (0,), (0,), (1,)), (0, 0), (2, 4), 10
    )
    with pytest.raises(
        InfeasibleError,
        match=r"cannot all be given an examiner: a, b, c \(their only eligible examiners, e0",
    ):
        smallest_cap(problem)


def test_unreachable_minimum_load_names_the_examiner() -> None:
    problem = AssignmentProblem(
        ("a", "b", "c"), ("e0", "e1"), ((0, 1), (1,), (1,)), (2, 0), (3, 3), 10
    )
    with pytest.raises(InfeasibleError, match=r"minimum load cannot be met: e0 \(minimum 2"):
        smallest_cap(problem)


def test_impossible_load_totals_are_refused() -> None:
    few = AssignmentProblem(("a", "b", "c"), ("e0",), ((0,),) * 3, (0,), (2,), 10)
    with pytest.raises(InfeasibleError, match="maximum loads add up to 2, fewer than the 3"):
        smallest_cap(few)
    many = AssignmentProblem(("a",), ("e0", "e1"), ((0, 1),), (1, 1), (1, 1), 10)
    with pytest.raises(InfeasibleError, match="minimum loads add up to 2, more than the 1"):
        smallest_cap(many)


def test_policy_cap_below_q_star_is_refused_with_the_reason() -> None:
    problem = AssignmentProblem(("a", "b"), ("e0", "e1"), ((0, 1), (0, 1)), (1, 1), (1, 1), 100)
    assert smallest_cap(problem) == 50
    with pytest.raises(InfeasibleError, match=r"policy cap 49/100 is below .* Q\* = 50/100"):
        build_fractional(problem, 49)
    with pytest.raises(InfeasibleError, match="above the scale"):
        build_fractional(problem, 101)


def test_check_fractional_reports_each_broken_rule() -> None:
    problem = AssignmentProblem(("a", "b"), ("e0", "e1"), ((0, 1), (1,)), (1, 1), (1, 1), 100)
    assert check_fractional(problem, (((0, 100),), ((1, 100),)), 100) == []
    found = check_fractional(problem, (((0, 60), (1, 30)), ((0, 100),)), 70)
    text = " | ".join(found)
    assert "sums to 90, not 100" in text
    assert "e0, who is not eligible" in text
    assert "F[b][e0] = 100 is outside (0, 70]" in text
    assert "column of e0 sums to 160" in text


@pytest.mark.parametrize("seed", range(20))
def test_max_flow_matches_scipy(seed: int) -> None:
    rng = random.Random(seed)
    nodes = rng.randint(4, 30)
    dense = np.zeros((nodes, nodes), dtype=np.int32)
    net = FlowNetwork(nodes)
    for _ in range(rng.randint(nodes, 5 * nodes)):
        u, v = rng.randrange(nodes), rng.randrange(nodes)
        if u == v or dense[u, v]:
            continue
        c = rng.randint(1, 1000)
        dense[u, v] = c
        net.add_edge(u, v, c)
    expected = maximum_flow(csr_matrix(dense), 0, nodes - 1).flow_value
    assert net.max_flow(0, nodes - 1) == expected


def test_bounded_flow_respects_lower_bounds_or_reports_them_unmet() -> None:
    flow = BoundedFlow(3)
    first = flow.add_edge(0, 1, 3, 5)
    flow.add_edge(1, 2, 0, 4)
    flow.add_edge(2, 0, 0, 10)
    assert flow.solve()
    assert 3 <= flow.flow_on(first) <= 4
    impossible = BoundedFlow(3)
    impossible.add_edge(0, 1, 6, 8)
    impossible.add_edge(1, 2, 0, 4)
    impossible.add_edge(2, 0, 0, 10)
    assert not impossible.solve()
    assert impossible.unmet()
    with pytest.raises(ValueError):
        impossible.add_edge(0, 1, 5, 4)
