"""Dependent rounding of F into one assignment whose pair marginals are exactly F/S.

Bipartite dependent rounding (Gandhi, Khuller, Parthasarathy, Srinivasan, JACM 2006; the
sampler of Jecmen et al. 2020), made exact and portable: integer weights, the coin of the
seeded stream, and one fixed traversal order, so that every implementation draws the same
assignment from the same seed (DESIGN §4.5).

The procedure, precisely:

- Nodes are the candidates (manifest order, 0 … n−1) then the examiners (n … n+m−1).  An edge
  is *fractional* while 0 < w < S; a candidate's neighbours are visited by ascending examiner
  index, an examiner's by ascending candidate index, skipping edges that became integral.
- Walk: start at the first candidate that still has a fractional edge; from the top node go to
  its first fractional neighbour other than the node it came from.  Reaching a node already on
  the walk closes a cycle: round the cycle (starting from the edge that leaves that node), cut
  the walk back to that node and continue.  A dead end (an examiner with one fractional edge)
  reverses the walk once; a second dead end makes the whole walk a path: round it and start over.
  A walk that shrank to one node with no fractional edge is dropped (no coin is drawn).
- Rounding a cycle or path: its edges alternate +, −, +, … from the first.  α is the largest
  step that moves + edges up and − edges down while keeping all in [0, S]; β the largest in
  the other direction.  With ``stream.below(α + β) < β`` move by +α, otherwise by −β.  The
  expected change of every edge is zero, row sums never change, and at least one edge becomes
  integral each time.

Each candidate ends with exactly one examiner (row sums S), every column ends at the floor or
the ceiling of its fractional load, and P[c gets e] = F[c][e] / S.
"""

from __future__ import annotations

from collections.abc import Sequence

from allocation.fractional import Row
from allocation.stream import SeedStream

ROUNDING_LABEL = "rounding"


def round_fractional(
    fractional: Sequence[Row], examiners: int, scale: int, stream: SeedStream
) -> tuple[int, ...]:
    """The examiner index drawn for each candidate."""
    n = len(fractional)
    adj: list[dict[int, None]] = [{} for _ in range(n + examiners)]
    weight: dict[tuple[int, int], int] = {}
    chosen = [-1] * n
    for c, row in enumerate(fractional):
        for e, w in row:
            if w == scale:
                chosen[c] = e
            elif 0 < w < scale:
                node = n + e
                weight[(c, node)] = w
                adj[c][node] = None
                adj[node][c] = None

    def settle(edge: tuple[int, int], w: int) -> None:
        if 0 < w < scale:
            weight[edge] = w
            return
        del weight[edge]
        c, node = edge
        del adj[c][node]
        del adj[node][c]
        if w == scale:
            chosen[c] = node - n

    def round_walk(nodes: list[int], closed: bool) -> None:
        ends = nodes[1:] + nodes[:1] if closed else nodes[1:]
        edges = [(a, b) if a < b else (b, a) for a, b in zip(nodes, ends, strict=False)]
        plus, minus = edges[0::2], edges[1::2]
        w_plus = [weight[edge] for edge in plus]
        w_minus = [weight[edge] for edge in minus]
        alpha = min(scale - max(w_plus), min(w_minus, default=scale))
        beta = min(w_plus)
        beta = min(beta, scale - max(w_minus, default=0))
        step = alpha if stream.below(alpha + beta) < beta else -beta
        for edge, w in zip(plus, w_plus, strict=True):
            settle(edge, w + step)
        for edge, w in zip(minus, w_minus, strict=True):
            settle(edge, w - step)

    stack: list[int] = []
    position: dict[int, int] = {}
    reversed_once = False
    next_start = 0
    while True:
        if not stack:
            while next_start < n and not adj[next_start]:
                next_start += 1
            if next_start == n:
                break
            stack, position, reversed_once = [next_start], {next_start: 0}, False
        top = stack[-1]
        came_from = stack[-2] if len(stack) > 1 else -1
        step_to = -1
        for v in adj[top]:
            if v != came_from:
                step_to = v
                break
        if step_to < 0:
            if len(stack) == 1:  # nothing left to walk from here
                stack, position = [], {}
            elif reversed_once:
                round_walk(stack, closed=False)
                stack, position = [], {}
            else:
                stack.reverse()
                position = {v: i for i, v in enumerate(stack)}
                reversed_once = True
        elif step_to in position:
            i = position[step_to]
            round_walk(stack[i:], closed=True)
            for v in stack[i + 1 :]:
                del position[v]
            del stack[i + 1 :]
        else:
            position[step_to] = len(stack)
            stack.append(step_to)
    if -1 in chosen:
        raise ValueError("a row of F does not sum to the scale")
    return tuple(chosen)
