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
  the node four places below it on the walk if they share a fractional edge (closing a 4-cycle),
  else the node six places below under the same condition (a 6-cycle), else its first
  fractional neighbour other than the node it came from.  Reaching a node already on the walk
  closes a cycle: round the cycle (starting from the edge that leaves that node), cut
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
    """The examiner index drawn for each candidate.

    Raises:
        ValueError: a row of ``fractional`` does not sum to ``scale`` or holds a weight outside
            ``[0, scale]``.
        RuntimeError: a candidate was left without an examiner (a bug in the rounding, never valid
            input).
    """
    n = len(fractional)
    # adj[c][examiner node] holds the weight; adj[examiner node][c] only marks the edge.
    adj: list[dict[int, int]] = [{} for _ in range(n + examiners)]
    chosen = [-1] * n
    for c, row in enumerate(fractional):
        if sum(w for _, w in row) != scale or any(not 0 <= w <= scale for _, w in row):
            raise ValueError(f"row {c} of F does not sum to the scale with weights in [0, S]")
        for e, w in row:
            if w == scale:
                chosen[c] = e
            elif 0 < w < scale:
                adj[c][n + e] = w
                adj[n + e][c] = 0

    def round_walk(nodes: list[int], closed: bool) -> None:
        ends = nodes[1:] + nodes[:1] if closed else nodes[1:]
        pairs = [(a, b) if a < b else (b, a) for a, b in zip(nodes, ends, strict=False)]
        weights = [adj[c][x] for c, x in pairs]
        w_plus, w_minus = weights[0::2], weights[1::2]
        alpha = min(scale - max(w_plus), min(w_minus, default=scale))
        beta = min(w_plus)
        beta = min(beta, scale - max(w_minus, default=0))
        step = alpha if stream.below(alpha + beta) < beta else -beta
        for k, (c, x) in enumerate(pairs):
            w = weights[k] + (step if k % 2 == 0 else -step)
            if 0 < w < scale:
                adj[c][x] = w
                continue
            del adj[c][x]
            del adj[x][c]
            if w == scale:
                chosen[c] = x - n

    stack: list[int] = []
    position = [-1] * (n + examiners)
    reversed_once = False
    next_start = 0
    while True:
        if not stack:
            while next_start < n and not adj[next_start]:
                next_start += 1
            if next_start == n:
                break
            stack, reversed_once = [next_start], False
            position[next_start] = 0
        top = stack[-1]
        depth = len(stack)
        here = adj[top]
        if depth >= 4 and stack[-4] in here:
            step_to = stack[-4]  # shortcut: close the 4-cycle through the last four nodes
        elif depth >= 6 and stack[-6] in here:
            step_to = stack[-6]  # or the 6-cycle through the last six
        else:
            step_to = -1
            came_from = stack[-2] if depth > 1 else -1
            for v in here:
                if v != came_from:
                    step_to = v
                    break
        if step_to < 0:
            if reversed_once or len(stack) == 1:
                if len(stack) > 1:
                    round_walk(stack, closed=False)
                for v in stack:
                    position[v] = -1
                stack = []
            else:
                stack.reverse()
                for i, v in enumerate(stack):
                    position[v] = i
                reversed_once = True
        elif position[step_to] >= 0:
            i = position[step_to]
            round_walk(stack[i:], closed=True)
            for v in stack[i + 1 :]:
                position[v] = -1
            del stack[i + 1 :]
        else:
            position[step_to] = len(stack)
            stack.append(step_to)
    if -1 in chosen:
        raise RuntimeError("rounding left a candidate without an examiner")
    return tuple(chosen)
