"""科目三 on the road: the route's zones and the rules decided along it.

The route is the right road edge as a polyline; every frame is projected onto it once (a
cursor that only moves to the neighbouring segment, so the pass is linear) to get ``s``, the
distance along the route, and ``d``, the lateral offset to the left, both in integer mm.  Zones
are stretches of ``s``; lanes are bands of ``d``.  The body's outline is worked out only on the
frames where the car is close enough to a line to touch it.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from math import isqrt

from exam_core.errors import ScoringError
from exam_core.scoring.course import RouteCourse, RouteZone
from exam_core.scoring.facts import Run, TrackFacts, runs_of
from exam_core.scoring.geometry import (
    ONE,
    Q,
    body_corners,
    body_gap_to_edge,
    cos_q,
    sin_q,
    trig_tables,
)
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import (
    BRAKE_PEDAL,
    DOOR_OPEN,
    INDICATOR_LEFT,
    INDICATOR_RIGHT,
    PARKING_BRAKE,
)


@dataclass
class RouteScene:
    """A track on a route: facts, projection onto the route, zone windows and lanes.

    ``common`` holds the table's common thresholds (lane hysteresis, manoeuvre onset).
    """

    facts: TrackFacts
    course: RouteCourse
    common: Mapping[str, int]
    _manoeuvres: dict[int, list[tuple[int, int]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def setting(self, name: str) -> int:
        """A common threshold of the table; ``ScoringError`` if the table lacks it."""
        try:
            return self.common[name]
        except KeyError:
            raise ScoringError(f"the rule table has no common threshold {name!r}") from None

    @cached_property
    def projection(self) -> tuple[list[int], list[int], list[int]]:
        """Per frame: distance along the route, lateral offset (left +), segment number."""
        ref = self.course.reference
        segs = []
        s0 = 0
        for (ax, ay), (bx, by) in itertools.pairwise(ref):
            dx, dy = bx - ax, by - ay
            length = isqrt(dx * dx + dy * dy)
            segs.append((ax, ay, dx, dy, length, dx * dx + dy * dy, s0))
            s0 += length
        last = len(segs) - 1
        tr = self.facts.track
        s_col: list[int] = []
        d_col: list[int] = []
        k_col: list[int] = []
        k = 0
        ax, ay, dx, dy, length, l2, base = segs[0]
        for px, py in zip(tr.x, tr.y, strict=True):
            rx, ry = px - ax, py - ay
            dot = rx * dx + ry * dy
            while dot > l2 and k < last:
                nx, ny, ndx, ndy, nl, nl2, nbase = segs[k + 1]
                ndot = (px - nx) * ndx + (py - ny) * ndy
                if ndot < 0:
                    break
                k += 1
                ax, ay, dx, dy, length, l2, base = nx, ny, ndx, ndy, nl, nl2, nbase
                rx, ry, dot = px - ax, py - ay, ndot
            while dot < 0 < k:
                k -= 1
                ax, ay, dx, dy, length, l2, base = segs[k]
                rx, ry = px - ax, py - ay
                dot = rx * dx + ry * dy
                if dot <= l2:
                    break
            s_col.append(base + dot // length)
            d_col.append((dx * ry - dy * rx) // length)
            k_col.append(k)
        return s_col, d_col, k_col

    @cached_property
    def progress(self) -> list[int]:
        """The furthest distance along the route reached so far: monotone, for zone lookup."""
        out = []
        best = -(1 << 62)
        for s in self.projection[0]:
            best = max(best, s)
            out.append(best)
        return out

    def window(self, zone: RouteZone) -> Run | None:
        """Frames from first reaching the zone's start to first reaching its end."""
        a = bisect_left(self.progress, zone.start)
        b = bisect_left(self.progress, zone.end)
        return (a, b) if a < b else None

    def zones(self, item: str) -> list[RouteZone]:
        return [z for z in self.course.zones if z.item == item]

    @cached_property
    def lanes(self) -> list[int]:
        """Lane of the pose point per frame (0 = rightmost), changing only past the hysteresis."""
        width, top = self.course.lane_width, self.course.lanes - 1
        h = self.setting("lane_hysteresis_mm")
        out = []
        lane = 0
        for d in self.projection[1]:
            low, high = lane * width - h, (lane + 1) * width + h
            if d < low or d > high:
                lane = min(max(d // width, 0), top)
            out.append(lane)
        return out

    @cached_property
    def lane_changes(self) -> list[tuple[int, int, int]]:
        """(frame, from lane, to lane) for each change."""
        lanes = self.lanes
        return [
            (i, lanes[i - 1], lanes[i]) for i in range(1, len(lanes)) if lanes[i] != lanes[i - 1]
        ]

    def lateral_onset(self, frame: int, leftwards: bool, earliest: int) -> int:
        """The frame at which the sideways movement that ends at ``frame`` began.

        The movement began at the last frame at which the car was still within
        ``manoeuvre_onset_mm`` (sideways) of the position it moved away from: the rightmost
        (for a move to the left) or leftmost lateral offset of the ``manoeuvre_lookback_ms``
        before ``frame``, not earlier than ``earliest``.  The margin is what position noise
        needs; a drift towards the other lane before the lane change proper starts it.
        """
        onset = self.setting("manoeuvre_onset_mm")
        lookback = self.setting("manoeuvre_lookback_ms")
        d, t = self.projection[1], self.facts.track.t
        start = max(earliest, bisect_left(t, t[frame] - lookback))
        if start >= frame:
            return frame
        span = d[start : frame + 1]
        f = frame
        if leftwards:
            limit = min(span) + onset
            while f > start and d[f] > limit:
                f -= 1
        else:
            limit = max(span) - onset
            while f > start and d[f] < limit:
                f -= 1
        return f

    def manoeuvres(self, method: int) -> list[tuple[int, int]]:
        """(frame, indicator bit required) for every manoeuvre that must be signalled, sorted.

        Starting off (left) at the first motion; each lane change (left or right); entering a
        left-turn, U-turn (left) or right-turn (right) junction zone; the pull-over (right).
        Method 1 (``ga1026-2017/1``) times a lane change at the frame the car is counted in
        the new lane and the pull-over at its stop; method 2 times both where the rule does,
        at the start of the sideways movement (``lateral_onset``).
        """
        found = self._manoeuvres.get(method)
        if found is not None:
            return found
        out: list[tuple[int, int]] = []
        first = self.facts.first_motion
        if first is not None:
            out.append((first, INDICATOR_LEFT))
        previous = 0
        for frame, a, b in self.lane_changes:
            start = frame if method == 1 else self.lateral_onset(frame, b > a, previous)
            out.append((start, INDICATOR_LEFT if b > a else INDICATOR_RIGHT))
            previous = frame
        for item, bit in (
            ("junction_left", INDICATOR_LEFT),
            ("u_turn", INDICATOR_LEFT),
            ("junction_right", INDICATOR_RIGHT),
        ):
            for zone in self.zones(item):
                w = self.window(zone)
                if w is not None:
                    out.append((w[0], bit))
        for zone in self.zones("pull_over"):
            stop = pull_over_stop(self, zone)
            if stop is not None:
                frame = stop[0]
                if method != 1:
                    changed = [f for f, _, _ in self.lane_changes if f < frame]
                    frame = self.lateral_onset(frame, False, changed[-1] if changed else 0)
                out.append((frame, INDICATOR_RIGHT))
        found = self._manoeuvres[method] = sorted(out)
        return found

    @cached_property
    def units(self) -> list[tuple[int, int]]:
        """Each reference segment's direction as a Q16 unit vector."""
        out = []
        for a, b in itertools.pairwise(self.course.reference):
            dx, dy = b[0] - a[0], b[1] - a[1]
            length = isqrt(dx * dx + dy * dy)
            out.append((dx * ONE // length, dy * ONE // length))
        return out

    def lateral_extent(self, i: int) -> tuple[int, int]:
        """Lowest and highest lateral offset of the body's corners at frame ``i``."""
        tr, dims = self.facts.track, self.course.vehicle
        _, d_col, k_col = self.projection
        ux, uy = self.units[k_col[i]]
        c, s = cos_q(tr.heading[i]), sin_q(tr.heading[i])
        sin_rel = (ux * s - uy * c) >> Q
        cos_rel = abs((ux * c + uy * s) >> Q)
        along = (dims.front * sin_rel, -dims.rear_overhang * sin_rel)
        half = (dims.width // 2) * cos_rel
        return d_col[i] + ((min(along) - half) >> Q), d_col[i] + ((max(along) + half) >> Q)

    @cached_property
    def reach(self) -> int:
        dims = self.course.vehicle
        return isqrt(dims.front**2 + (dims.width // 2) ** 2) + 1


RouteRuleFunction = Callable[[RouteScene, Rule], list[Deduction]]
"""A rule function: decides one rule of the table, one deduction per occurrence, each with
the frame that proves it."""


def _d(rule: Rule, frame: int) -> Deduction:
    return Deduction(frame, rule.code, rule.item, rule.points)


def speeding(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Above the road's limit for more than ``max_ms``: once, where the limit is passed."""
    limit = scene.course.speed_limit_mm_s
    speed = scene.facts.track.speed
    if max(speed) <= limit:
        return []
    for a, b in runs_of([v > limit for v in speed]):
        frame = scene.facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            return [_d(rule, frame)]
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
    u_turns = _windows(scene, "u_turn")
    start = 0
    while True:
        frame = _lines_crossed(scene, None, line, start)
        if frame is None:
            return []
        if not any(a <= frame < b for a, b in u_turns):
            return [_d(rule, frame)]
        start = frame + 1


def edge_line(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The body over the right road edge line (moving or stopped)."""
    frame = _lines_crossed(scene, 0, None)
    return [] if frame is None else [_d(rule, frame)]


def two_lanes(scene: RouteScene, rule: Rule) -> list[Deduction]:
    t = scene.facts.track.t
    changes = scene.lane_changes
    out = []
    for (f1, a, b), (f2, b2, c) in itertools.pairwise(changes):
        same_way = (b - a) * (c - b2) > 0
        if b == b2 and same_way and t[f2] - t[f1] < rule.param("min_ms"):
            out.append(_d(rule, f2))
    for f, a, b in changes:
        if abs(b - a) >= 2:
            out.append(_d(rule, f))
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
        _d(rule, f)
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
            out.append(_d(rule, f))
    return out


def _moving_runs_with(scene: RouteScene, bit: int) -> list[Run]:
    stop = scene.facts.stop_speed
    speed = scene.facts.track.speed
    out: list[Run] = []
    for a, b in scene.facts.bit_runs(bit):
        moving = [speed[i] >= stop or speed[i] <= -stop for i in range(a, b)]
        out.extend((a + start, a + end) for start, end in runs_of(moving))
    return out


def door_open_moving(scene: RouteScene, rule: Rule) -> list[Deduction]:
    runs = _moving_runs_with(scene, DOOR_OPEN)
    return [_d(rule, runs[0][0])] if runs else []


def brake_not_released(scene: RouteScene, rule: Rule) -> list[Deduction]:
    for a, b in _moving_runs_with(scene, PARKING_BRAKE):
        frame = scene.facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            return [_d(rule, frame)]
    return []


def brake_released_late(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for a, b in _moving_runs_with(scene, PARKING_BRAKE):
        if scene.facts.first_over(a, b, rule.param("max_ms")) is None:
            out.append(_d(rule, a))
    return out


def _windows(scene: RouteScene, item: str) -> list[Run]:
    return [w for w in map(scene.window, scene.zones(item)) if w is not None]


def wander(scene: RouteScene, rule: Rule) -> list[Deduction]:
    d_col = scene.projection[1]
    for a, b in _windows(scene, rule.item):
        low = high = d_col[a]
        for i in range(a, b):
            low, high = min(low, d_col[i]), max(high, d_col[i])
            if high - low > rule.param("max_mm"):
                return [_d(rule, i)]
    return []


def _end_frame(scene: RouteScene, w: Run) -> int:
    return min(w[1], scene.facts.n) - 1


def no_lane_change(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for w in _windows(scene, rule.item):
        if not any(w[0] <= f < w[1] for f, _, _ in scene.lane_changes):
            out.append(_d(rule, _end_frame(scene, w)))
    return out


def zone_speed(scene: RouteScene, rule: Rule) -> list[Deduction]:
    top = rule.param("max_speed_mm_s")
    speed = scene.facts.track.speed
    out = []
    for a, b in _windows(scene, rule.item):
        frame = next((i for i in range(a, b) if speed[i] > top), None)
        if frame is not None:
            out.append(_d(rule, frame))
    return out


def stop_on_crosswalk(scene: RouteScene, rule: Rule) -> list[Deduction]:
    dims = scene.course.vehicle
    s_col = scene.projection[0]
    out = []
    for zone in scene.zones(rule.item):
        for a, b in scene.facts.stationary:
            hit = next(
                (
                    i
                    for i in range(a, b)
                    if s_col[i] + dims.front > zone.start
                    and s_col[i] - dims.rear_overhang < zone.end
                ),
                None,
            )
            if hit is not None:
                out.append(_d(rule, hit))
                break
    return out


def not_keeping_right(scene: RouteScene, rule: Rule) -> list[Deduction]:
    lanes = scene.lanes
    out = []
    for a, b in _windows(scene, rule.item):
        frame = next((i for i in range(a, b) if lanes[i] != 0), None)
        if frame is not None:
            out.append(_d(rule, frame))
    return out


def no_overtake(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for w in _windows(scene, rule.item):
        inside = [(a, b) for f, a, b in scene.lane_changes if w[0] <= f < w[1]]
        out_and_back = any(b > a for a, b in inside) and any(b < a for a, b in inside)
        if not out_and_back:
            out.append(_d(rule, _end_frame(scene, w)))
    return out


def pull_over_stop(scene: RouteScene, zone: RouteZone) -> Run | None:
    w = scene.window(zone)
    if w is None:
        return None
    a, b = w
    return next(((s, e) for s, e in scene.facts.stationary if a <= s < b), None)


def _pull_over(scene: RouteScene) -> tuple[RouteZone, Run | None] | None:
    zones = scene.zones("pull_over")
    if not zones:
        return None
    return zones[-1], pull_over_stop(scene, zones[-1])


def no_pull_over(scene: RouteScene, rule: Rule) -> list[Deduction]:
    found = _pull_over(scene)
    if found is None or found[1] is not None:
        return []
    return [_d(rule, scene.facts.n - 1)]


def _stop(scene: RouteScene) -> Run | None:
    found = _pull_over(scene)
    return None if found is None else found[1]


def _edge_gap(scene: RouteScene, frame: int, method: int) -> int:
    """The body's distance from the right edge line at ``frame``.

    Method 1 (``ga1026-2017/1``) took the body's nearest point, which lets a car stopped
    askew pass; method 2 is the one definition of ``geometry.body_gap_to_edge`` (the farther
    right-hand corner), with the edge line under the car.
    """
    if method == 1:
        return scene.lateral_extent(frame)[0]
    tr, ref = scene.facts.track, scene.course.reference
    k = scene.projection[2][frame]
    corners = body_corners(tr.x[frame], tr.y[frame], tr.heading[frame], scene.course.vehicle)
    return body_gap_to_edge(corners, ref[k], ref[k + 1])


def pull_over_far(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """After stopping, the body more than ``max_mm`` from the edge line."""
    stop = _stop(scene)
    if stop is None or _edge_gap(scene, stop[0], rule.method) <= rule.param("max_mm"):
        return []
    return [_d(rule, stop[0])]


def pull_over_near(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """After stopping, the body more than ``min_mm`` and at most ``max_mm`` from the edge."""
    stop = _stop(scene)
    if stop is None:
        return []
    gap = _edge_gap(scene, stop[0], rule.method)
    return [_d(rule, stop[0])] if rule.param("min_mm") < gap <= rule.param("max_mm") else []


def _leaving(scene: RouteScene, start: int) -> int | None:
    """The first frame from ``start`` with the engine off or a door open."""
    running, sig = scene.facts.engine_running, scene.facts.track.signals
    return next(
        (i for i in range(start, scene.facts.n) if not running[i] or sig[i] & DOOR_OPEN), None
    )


def no_parking_brake(scene: RouteScene, rule: Rule) -> list[Deduction]:
    stop = _stop(scene)
    if stop is None:
        return []
    frame = _leaving(scene, stop[0])
    if frame is None:
        frame = scene.facts.n - 1
    return [] if scene.facts.track.signals[frame] & PARKING_BRAKE else [_d(rule, frame)]


def brake_released_early(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """After the pull-over stop, the first frame with the brake pedal up while the parking
    brake is not yet on (only when the parking brake is applied at all: X31204 covers that)."""
    stop = _stop(scene)
    if stop is None:
        return []
    sig = scene.facts.track.signals
    applied = next((i for i in range(stop[0], scene.facts.n) if sig[i] & PARKING_BRAKE), None)
    if applied is None:
        return []
    frame = next((i for i in range(stop[0], applied) if not sig[i] & BRAKE_PEDAL), None)
    return [] if frame is None else [_d(rule, frame)]


def moved_after_stop(scene: RouteScene, rule: Rule) -> list[Deduction]:
    stop = _stop(scene)
    if stop is None:
        return []
    odo = scene.facts.track.odo
    ref = odo[stop[0]]
    limit = rule.param("min_mm")
    frame = next((i for i in range(stop[0], scene.facts.n) if abs(odo[i] - ref) >= limit), None)
    return [] if frame is None else [_d(rule, frame)]


def door_with_engine(scene: RouteScene, rule: Rule) -> list[Deduction]:
    stop = _stop(scene)
    if stop is None:
        return []
    running, sig = scene.facts.engine_running, scene.facts.track.signals
    frame = next(
        (i for i in range(stop[0], scene.facts.n) if running[i] and sig[i] & DOOR_OPEN), None
    )
    return [] if frame is None else [_d(rule, frame)]


def door_left_open(scene: RouteScene, rule: Rule) -> list[Deduction]:
    if _stop(scene) is None:
        return []
    last = scene.facts.n - 1
    return [_d(rule, last)] if scene.facts.track.signals[last] & DOOR_OPEN else []


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30101": speeding,
    "X30102": centre_line,
    "X30103": edge_line,
    "X30104": two_lanes,
    "X30105": no_signal,
    "X30106": short_signal,
    "X30201": door_open_moving,
    "X30202": brake_not_released,
    "X30203": brake_released_late,
    "X30301": wander,
    "X30401": no_lane_change,
    "X30501": zone_speed,
    "X30502": zone_speed,
    "X30503": zone_speed,
    "X30601": zone_speed,
    "X30602": stop_on_crosswalk,
    "X30701": zone_speed,
    "X30801": zone_speed,
    "X30901": zone_speed,
    "X30902": not_keeping_right,
    "X31001": no_overtake,
    "X31201": no_pull_over,
    "X31202": pull_over_far,
    "X31203": pull_over_near,
    "X31204": no_parking_brake,
    "X31205": moved_after_stop,
    "X31206": door_with_engine,
    "X31207": door_left_open,
    "X31208": brake_released_early,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {"X30105": 2, "X30106": 2, "X31202": 2, "X31203": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
