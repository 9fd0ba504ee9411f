"""科目三 general rules (通用评判) decided along the route: speed, solid lines, lanes, signals.

The body's outline is worked out only on the frames where the car is close enough to a line
to touch it.
"""

from __future__ import annotations

import itertools

from exam_core.scoring.facts import runs_of
from exam_core.scoring.geometry import Q, trig_tables
from exam_core.scoring.result import Deduction
from exam_core.scoring.route_scene import RouteRuleFunction, RouteScene
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import INDICATOR_LEFT, INDICATOR_RIGHT


def speeding(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Above the road's limit for more than ``max_ms``: once, where the limit is passed."""
    limit = scene.course.speed_limit_mm_s
    speed = scene.facts.track.speed
    if max(speed) <= limit:
        return []
    for a, b in runs_of([v > limit for v in speed]):
        frame = scene.facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            return [rule.at(frame)]
    return []


def _lines_crossed(
    scene: RouteScene, low: int | None, high: int | None, start: int = 0
) -> int | None:
    """The first frame where the body reaches below ``low`` or above ``high`` (lateral mm).

    Only frames whose pose point is within the body's reach of a line get the full outline;
    the rest cannot touch it.  This loop runs over every frame, so it is written flat.
    """
    tr, dims = scene.facts.track, scene.course.vehicle
    _, d_col, k_col = scene.projection
    units = scene.units
    sin, cos = trig_tables()
    reach = scene.reach
    front, rear, half = dims.front, dims.rear_overhang, dims.width // 2
    low_near = -(1 << 62) if low is None else low + reach
    high_near = 1 << 62 if high is None else high - reach
    heading = tr.heading
    for i in range(start, len(d_col)):
        d = d_col[i]
        if low_near <= d <= high_near:
            continue
        ux, uy = units[k_col[i]]
        c, s = cos[heading[i]], sin[heading[i]]
        sin_rel = (ux * s - uy * c) >> Q
        cos_rel = abs((ux * c + uy * s) >> Q)
        a, b = front * sin_rel, -rear * sin_rel
        w = half * cos_rel
        if low is not None and d + ((min(a, b) - w) >> Q) < low:
            return i
        if high is not None and d + ((max(a, b) + w) >> Q) > high:
            return i
    return None


def centre_line(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The body over the solid centre line, outside the U-turn zone where it is broken."""
    line = scene.course.lanes * scene.course.lane_width
    u_turns = scene.windows("u_turn")
    start = 0
    while True:
        frame = _lines_crossed(scene, None, line, start)
        if frame is None:
            return []
        if not any(a <= frame < b for a, b in u_turns):
            return [rule.at(frame)]
        start = frame + 1


def edge_line(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The body over the right road edge line (moving or stopped)."""
    frame = _lines_crossed(scene, 0, None)
    return [] if frame is None else [rule.at(frame)]


def two_lanes(scene: RouteScene, rule: Rule) -> list[Deduction]:
    t = scene.facts.track.t
    changes = scene.lane_changes
    out = []
    for (f1, a, b), (f2, b2, c) in itertools.pairwise(changes):
        same_way = (b - a) * (c - b2) > 0
        if b == b2 and same_way and t[f2] - t[f1] < rule.param("min_ms"):
            out.append(rule.at(f2))
    for f, a, b in changes:
        if abs(b - a) >= 2:
            out.append(rule.at(f))
    return out


def _signal_since(scene: RouteScene, frame: int, bit: int) -> int | None:
    other = INDICATOR_LEFT | INDICATOR_RIGHT
    sig = scene.facts.track.signals[frame]
    if not sig & bit or sig & (other ^ bit):
        return None
    return scene.facts.bit_on_since(bit, frame)


def no_signal(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The required indicator not on, or the other one on, when a manoeuvre begins."""
    return [
        rule.at(f)
        for f, bit in scene.manoeuvres(rule.method)
        if _signal_since(scene, f, bit) is None
    ]


def short_signal(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The required indicator on for less than ``min_ms`` when a manoeuvre begins."""
    t = scene.facts.track.t
    out = []
    for f, bit in scene.manoeuvres(rule.method):
        since = _signal_since(scene, f, bit)
        if since is not None and t[f] - t[since] < rule.param("min_ms"):
            out.append(rule.at(f))
    return out


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30101": speeding,
    "X30102": centre_line,
    "X30103": edge_line,
    "X30104": two_lanes,
    "X30105": no_signal,
    "X30106": short_signal,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {"X30105": 2, "X30106": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
