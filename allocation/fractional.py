"""The fractional assignment F: integer pair weights over a scale S (DESIGN §4.2).

F[c][e] / S is the probability that examiner e examines candidate c.  A valid F has
- every row summing to exactly S (each candidate gets exactly one examiner),
- every examiner's column sum within ``[load_min·S, load_max·S]`` (so every draw keeps the
  examiner's load within its window: dependent rounding lands on the floor or the ceiling),
- every pair at most the cap (``cap`` units, i.e. probability cap/S), and
- zero on every pair that is not eligible (unqualified for the class, or a conflict).

``smallest_cap`` computes Q*: the least cap for which such an F exists (a binary search whose
every step is one max-flow feasibility check).  ``build_fractional`` then makes F *as even as
the constraints allow*, in this exact sense:

    Let T[c][e] be candidate c's uniform share over its d_c eligible examiners (S // d_c, and
    one more unit for S mod d_c of them, chosen by rotating with the candidate's position).
    F minimises δ = max |F[c][e] − T[c][e]| over all eligible pairs, subject to the
    constraints above; ties are broken by the fixed edge order of the flow network.

When the load windows allow the uniform spread, δ = 0 and F is T.  Otherwise only as much mass
moves away from the uniform share as the windows force, and never more than δ on any pair.
Everything is deterministic, so an auditor can recompute F from the roster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from allocation.errors import CapBelowQStarError, InfeasibleError
from allocation.flow import BoundedFlow

Row = tuple[tuple[int, int], ...]
"""One candidate's row of F: (examiner index, units > 0), by ascending examiner index."""
Fractional = tuple[Row, ...]


@dataclass(frozen=True)
class AssignmentProblem:
    """Who may examine whom and how many each examiner takes, in index form."""

    candidates: tuple[str, ...]
    examiners: tuple[str, ...]
    eligible: tuple[tuple[int, ...], ...]
    """Per candidate, the ascending indices of the examiners who may examine it."""
    load_min: tuple[int, ...]
    load_max: tuple[int, ...]
    scale: int
    rows: str = "candidate"
    """What a row is, in messages: the same problem also pairs examiners with vehicles and
    candidates with routes (``allocation.vehicles``, ``allocation.routes``)."""
    columns: str = "examiner"
    """What a column is, in messages."""


def validate_roster_totals(problem: AssignmentProblem) -> None:
    """Refuse at once what no cap can fix: a candidate nobody may examine, impossible loads.

    Raises:
        InfeasibleError: a row has no eligible column (licence class or conflicts), or the
            columns' minimum loads add up to more rows than there are, or their maximum loads
            to fewer; the roster must change.
    """
    row, column = problem.rows, problem.columns
    for name, eligible in zip(problem.candidates, problem.eligible, strict=True):
        if not eligible:
            raise InfeasibleError(
                f"{row} {name} has no eligible {column} (licence class or conflicts)"
            )
    n = len(problem.candidates)
    if sum(problem.load_min) > n:
        raise InfeasibleError(
            f"the {column}s' minimum loads add up to {sum(problem.load_min)}, "
            f"more than the {n} {row}s"
        )
    if sum(problem.load_max) < n:
        raise InfeasibleError(
            f"the {column}s' maximum loads add up to {sum(problem.load_max)}, "
            f"fewer than the {n} {row}s"
        )


def _solve(
    problem: AssignmentProblem, bounds: Callable[[int, int, int], tuple[int, int]]
) -> tuple[BoundedFlow, list[list[int]], bool]:
    """Build and solve the network; ``bounds(c, position, e)`` gives a pair's (lower, upper)."""
    n, m, s = len(problem.candidates), len(problem.examiners), problem.scale
    source, sink = 0, n + m + 1
    flow = BoundedFlow(n + m + 2)
    handles: list[list[int]] = []
    for c, eligible in enumerate(problem.eligible):
        flow.add_edge(source, 1 + c, s, s)
        row = []
        for position, e in enumerate(eligible):
            lower, upper = bounds(c, position, e)
            row.append(flow.add_edge(1 + c, 1 + n + e, lower, upper))
        handles.append(row)
    for e in range(m):
        flow.add_edge(1 + n + e, sink, problem.load_min[e] * s, problem.load_max[e] * s)
    flow.add_edge(sink, source, 0, n * s)
    return flow, handles, flow.solve()


def _infeasible_reason(problem: AssignmentProblem) -> str:
    """Name who makes the roster infeasible (called only when it is)."""
    n, m, s = len(problem.candidates), len(problem.examiners), problem.scale
    row, column = problem.rows, problem.columns
    relaxed = replace(problem, load_min=(0,) * m)
    flow, _, ok = _solve(relaxed, lambda c, p, e: (0, s))
    if not ok:
        # The min cut: these candidates can only go to these examiners, who lack the room.
        side = flow.stuck_side()
        names = [problem.candidates[v - 1] for v in sorted(side) if 1 <= v <= n]
        full = [problem.examiners[v - 1 - n] for v in sorted(side) if n < v <= n + m]
        more = " …" if len(names) > 20 else ""
        return (
            f"{row}s that cannot all be given {_article(column)} {column}: "
            f"{', '.join(names[:20])}{more} "
            f"(their only eligible {column}s, {', '.join(full[:20])}, lack the room)"
        )
    reach = [0] * m
    for eligible in problem.eligible:
        for e in eligible:
            reach[e] += 1
    short = [
        f"{problem.examiners[e]} (minimum {problem.load_min[e]}, {reach[e]} eligible {row}s)"
        for e in range(m)
        if reach[e] < problem.load_min[e]
    ]
    if short:
        return f"{column}s whose minimum load cannot be met: " + ", ".join(short[:20])
    return f"the {column}s' minimum loads cannot all be met at once with these eligibilities"


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _cap_feasible(problem: AssignmentProblem, cap: int) -> bool:
    return _solve(problem, lambda c, p, e: (0, cap))[2]


def smallest_cap(problem: AssignmentProblem) -> int:
    """Q* in units of the scale: the least pair cap for which a valid F exists.

    Raises:
        InfeasibleError: no valid F exists at any cap (see ``validate_roster_totals``); the
            message says which roster constraint cannot be met.
    """
    validate_roster_totals(problem)
    s = problem.scale
    if not _solve(problem, lambda c, p, e: (0, s))[2]:
        raise InfeasibleError(_infeasible_reason(problem))
    low = max(-(-s // len(eligible)) for eligible in problem.eligible)  # ⌈S / d_c⌉
    if _cap_feasible(problem, low):
        return low
    high = s  # feasible; low is not
    while high - low > 1:
        mid = (low + high) // 2
        if _cap_feasible(problem, mid):
            high = mid
        else:
            low = mid
    return high


def uniform_share(problem: AssignmentProblem, c: int, position: int) -> int:
    """T[c][e] for the examiner at ``position`` in candidate ``c``'s eligible list."""
    d = len(problem.eligible[c])
    base, extra = divmod(problem.scale, d)
    return base + (1 if (position - c) % d < extra else 0)


def build_fractional(problem: AssignmentProblem, cap: int, q_star: int | None = None) -> Fractional:
    """The most even valid F under ``cap`` (see the module docstring); refuse caps below Q*.

    Raises:
        CapBelowQStarError: ``cap`` is below Q* (the error carries Q*).
        InfeasibleError: no assignment exists at all, or ``cap`` is above the scale.
    """
    if q_star is None:
        q_star = smallest_cap(problem)
    if cap < q_star:
        s = problem.scale
        raise CapBelowQStarError(
            f"policy cap {cap}/{s} is below the smallest feasible cap Q* = {q_star}/{s}: "
            "with these eligibilities and load windows no assignment keeps every pair under it",
            q_star=q_star,
            scale=s,
        )
    if cap > problem.scale:
        raise InfeasibleError(f"cap {cap} is above the scale {problem.scale} (probability > 1)")

    def bounds_for(delta: int) -> Callable[[int, int, int], tuple[int, int]]:
        def bounds(c: int, position: int, e: int) -> tuple[int, int]:
            target = uniform_share(problem, c, position)
            return max(0, target - delta), min(cap, target + delta)

        return bounds

    def attempt(delta: int) -> list[list[int]] | None:
        flow, handles, ok = _solve(problem, bounds_for(delta))
        if not ok:
            return None
        return [[flow.flow_on(h) for h in row] for row in handles]

    # δ = cap is feasible because cap ≥ Q*; search the least δ: doubling, then bisection.
    best = attempt(0)
    best_delta = 0
    if best is None:
        low, high = 0, 1
        while (found := attempt(high)) is None:
            if high >= cap:
                raise InfeasibleError("no valid F under this cap (the roster changed under Q*?)")
            low, high = high, min(2 * high, cap)
        best, best_delta = found, high
        while best_delta - low > 1:
            mid = (low + best_delta) // 2
            trial = attempt(mid)
            if trial is None:
                low = mid
            else:
                best, best_delta = trial, mid
    return tuple(
        tuple((e, w) for e, w in zip(problem.eligible[c], weights, strict=True) if w > 0)
        for c, weights in enumerate(best)
    )


def check_fractional(problem: AssignmentProblem, fractional: Sequence[Row], cap: int) -> list[str]:
    """Every way ``fractional`` breaks the rules of a valid F (empty when it is valid)."""
    problems: list[str] = []
    s = problem.scale
    if len(fractional) != len(problem.candidates):
        return [f"F has {len(fractional)} rows for {len(problem.candidates)} candidates"]
    columns = [0] * len(problem.examiners)
    for c, row in enumerate(fractional):
        name = problem.candidates[c]
        allowed = set(problem.eligible[c])
        previous = -1
        for e, w in row:
            if not 0 <= e < len(problem.examiners) or e <= previous:
                problems.append(f"F row of {name}: examiner indices not ascending and in range")
                break
            previous = e
            if e not in allowed:
                problems.append(f"F gives {name} to {problem.examiners[e]}, who is not eligible")
            if not 0 < w <= cap:
                problems.append(f"F[{name}][{problem.examiners[e]}] = {w} is outside (0, {cap}]")
            columns[e] += w
        total = sum(w for _, w in row)
        if total != s:
            problems.append(f"F row of {name} sums to {total}, not {s}")
    for e, total in enumerate(columns):
        low, high = problem.load_min[e] * s, problem.load_max[e] * s
        if not low <= total <= high:
            problems.append(
                f"F column of {problem.examiners[e]} sums to {total}, outside [{low}, {high}]"
            )
    return problems
