"""科目三 general rules (通用评判) decided along the route: speed, solid lines, lanes, signals,
U-turns, the gear not corrected, jerky braking.

The body's outline is worked out only on the frames where the car is close enough to a line
to touch it.
"""

from __future__ import annotations

import itertools
import operator

from exam_core.scoring.facts import runs_of
from exam_core.scoring.geometry import Q, trig_tables
from exam_core.scoring.result import Deduction
from exam_core.scoring.route_scene import RouteRuleFunction, RouteScene
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import FORWARD_GEARS, INDICATOR_LEFT, INDICATOR_RIGHT


def speeding(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Above the road's limit for more than ``max_ms``: once, where the limit is passed."""
    frame = scene.facts.over_speed(scene.course.speed_limit_mm_s, rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


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
        # the nose and the tail: whichever is further to each side (no min/max calls here)
        if sin_rel >= 0:
            below, above = -rear * sin_rel, front * sin_rel
        else:
            below, above = front * sin_rel, -rear * sin_rel
        w = half * cos_rel
        if low is not None and d + ((below - w) >> Q) < low:
            return i
        if high is not None and d + ((above + w) >> Q) > high:
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


def straddling_divider(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The body across a lane divider (between two lanes of the same direction) for more than
    ``max_ms``: once, where the limit is passed.

    Only a run longer than ``max_ms`` matters, so the body is first looked at every half
    ``max_ms`` and a run is measured frame by frame only around a frame that straddles.
    """
    width, lanes = scene.course.lane_width, scene.course.lanes
    dividers = [k * width for k in range(1, lanes)]
    if not dividers:
        return []
    facts, limit = scene.facts, rule.param("max_ms")
    step = max(1, facts.frames_in(limit) // 2)

    def straddles(i: int) -> bool:
        low, high = scene.lateral_extent(i)
        return any(low < div < high for div in dividers)

    i = 0
    while i < facts.n:
        if not straddles(i):
            i += step
            continue
        a, b = i, i + 1
        while a > 0 and straddles(a - 1):
            a -= 1
        while b < facts.n and straddles(b):
            b += 1
        frame = facts.first_over(a, b, limit)
        if frame is not None:
            return [rule.at(frame)]
        i = b + 1
    return []


def _reversed(scene: RouteScene, i: int, cos_limit: int) -> bool:
    """Frame ``i`` heads against the road: its angle to the reference beyond the limit."""
    sin, cos = trig_tables()
    h = scene.facts.track.heading[i]
    ux, uy = scene.units[scene.projection[2][i]]
    return (ux * cos[h] + uy * sin[h]) >> Q < cos_limit


def prohibited_u_turn(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Turned round outside the U-turn zone: driving forwards with the heading more than
    ``max_angle_cdeg`` from the road's direction, at the first such frame of each turn.

    A car turning round falls back behind the furthest point it reached along the route, so
    only frames more than ``back_mm`` behind it are looked at, and from each the turn is traced
    back to where the heading first passed the limit.
    """
    s_col, progress = scene.projection[0], scene.progress
    back = rule.param("back_mm")
    if max(map(operator.sub, progress, s_col)) <= back:
        return []
    _, cos = trig_tables()
    cos_limit = cos[rule.param("max_angle_cdeg")]
    allowed = scene.windows("u_turn")
    tr, stop = scene.facts.track, scene.facts.stop_speed
    for i in range(scene.facts.n):
        if progress[i] - s_col[i] <= back or not _reversed(scene, i, cos_limit):
            continue
        f = i
        while f > 0 and _reversed(scene, f - 1, cos_limit):
            f -= 1
        forwards = tr.gear[f] in FORWARD_GEARS and tr.speed[f] >= stop
        if forwards and not any(a <= f < b for a, b in allowed):
            return [rule.at(f)]
    return []


def wrong_gear_not_corrected(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """A gear that does not match the speed, corrected only after ``min_ms`` (and within
    ``max_ms``; longer is ``gear_mismatch_long``): per occurrence, where ``min_ms`` is passed."""
    facts = scene.facts
    low, high = rule.param("min_ms"), rule.param("max_ms")
    out = []
    for a, b in facts.gear_mismatch:
        frame = facts.first_over(a, b, low)
        if frame is not None and facts.first_over(a, b, high) is None:
            out.append(rule.at(frame))
    return out


def jerky_braking(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Driving forwards, the speed drops by more than ``max_drop_mm_s`` within ``window_ms``:
    per braking, at its first such frame."""
    facts = scene.facts
    speed = facts.track.speed
    k, drop = facts.frames_in(rule.param("window_ms")), rule.param("max_drop_mm_s")
    drops = list(map(operator.sub, speed, speed[k:]))
    if not drops or max(drops) <= drop:
        return []
    flags = [v > 0 and d > drop for v, d in zip(speed, drops, strict=False)]
    return [rule.at(a + k) for a, _ in runs_of(flags)]


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30101": speeding,
    "X30102": centre_line,
    "X30103": edge_line,
    "X30104": two_lanes,
    "X30105": no_signal,
    "X30106": short_signal,
    "X30107": wrong_gear_not_corrected,
    "X30108": jerky_braking,
    "X30109": straddling_divider,
    "X30110": prohibited_u_turn,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {"X30105": 2, "X30106": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
