"""Which approved route each 科目三 candidate drives: the problem the route draw rounds.

A road test is driven on one of the session's approved routes, drawn for each candidate with
the examiner draw's protocol, so that no candidate, instructor or examiner knows the route
before the draw.  Rows are candidates, columns are routes; every route is open to every
candidate and routes are used evenly: each route's load window is ⌊n/r⌋..⌈n/r⌉ for n candidates
and r routes, so F is the uniform share and the rounding keeps every route's load at the floor
or the ceiling.
"""

from __future__ import annotations

from allocation.fractional import AssignmentProblem
from allocation.roster import Roster


def route_problem(roster: Roster, scale: int) -> AssignmentProblem:
    """Index form: every candidate may drive every route; routes are loaded evenly."""
    n, r = len(roster.candidates), len(roster.routes)
    every = tuple(range(r))
    return AssignmentProblem(
        candidates=tuple(c.id for c in roster.candidates),
        examiners=tuple(roster.routes),
        eligible=(every,) * n,
        load_min=(n // r,) * r if r else (),
        load_max=(-(-n // r),) * r if r else (),
        scale=scale,
        rows="candidate",
        columns="route",
    )
