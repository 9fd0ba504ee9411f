"""科目二 items on the closed field: 倒车入库, 坡道定点停车和起步, 侧方停车, 曲线行驶, 直角转弯.

Each item is decided over its window (the frames from the car's first entry into the item's
zone until it leaves) by a fixed sequence of checks on the body polygon and tyre contact points
against the map's lines, bays and zones, all in integer millimetres.  Lines are looked up
through a grid so that a frame is tested only against lines near the car.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from exam_core.scoring.course import FieldCourse, FieldItem
from exam_core.scoring.facts import Run, TrackFacts, runs_of
from exam_core.scoring.geometry import (
    Point,
    Segment,
    SegmentIndex,
    VehicleDims,
    body_corners,
    body_gap_to_edge,
    bounding_box,
    distance_to_segment,
    front_bumper_mid,
    point_in_polygon,
    polygon_crosses,
    segments_intersect,
    signed_distance_to_line,
    wheel_points,
)
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import GEAR_REVERSE, INDICATOR_LEFT, INDICATOR_RIGHT

INDICATOR_BITS = {"left": INDICATOR_LEFT, "right": INDICATOR_RIGHT}


def _inside(p: Point, box: tuple[int, int, int, int], polygon: tuple[Point, ...]) -> bool:
    return box[0] < p[0] < box[2] and box[1] < p[1] < box[3] and point_in_polygon(p, polygon)


@dataclass
class FieldScene:
    """A track on a field: facts, item windows and cached body geometry."""

    facts: TrackFacts
    course: FieldCourse
    tyre_half_width: int

    @property
    def dims(self) -> VehicleDims:
        return self.course.vehicle

    def item(self, name: str) -> FieldItem:
        return next(i for i in self.course.items if i.item == name)

    @cached_property
    def windows(self) -> dict[str, Run | None]:
        """Each item's window: the first run of frames with the pose point in its zone."""
        tr = self.facts.track
        out: dict[str, Run | None] = {}
        for item in self.course.items:
            box = bounding_box(item.zone)
            flags = [_inside(p, box, item.zone) for p in zip(tr.x, tr.y, strict=True)]
            runs = runs_of(flags)
            out[item.item] = runs[0] if runs else None
        return out

    @cached_property
    def _corners(self) -> dict[int, tuple[Point, ...]]:
        return {}

    @cached_property
    def _wheels(self) -> dict[int, tuple[Point, ...]]:
        return {}

    def corners(self, i: int) -> tuple[Point, ...]:
        found = self._corners.get(i)
        if found is None:
            tr = self.facts.track
            found = self._corners[i] = body_corners(tr.x[i], tr.y[i], tr.heading[i], self.dims)
        return found

    def wheels(self, i: int) -> tuple[Point, ...]:
        found = self._wheels.get(i)
        if found is None:
            tr = self.facts.track
            found = self._wheels[i] = wheel_points(tr.x[i], tr.y[i], tr.heading[i], self.dims)
        return found

    def body_in(self, i: int, polygon: tuple[Point, ...]) -> bool:
        """The whole body strictly inside a convex polygon (a bay)."""
        tr = self.facts.track
        # the pose point is inside the body, so outside the polygon means the body is not in it
        if not point_in_polygon((tr.x[i], tr.y[i]), polygon):
            return False
        return all(point_in_polygon(c, polygon) for c in self.corners(i))

    def body_touches(self, i: int, index: SegmentIndex) -> bool:
        corners = self.corners(i)
        return polygon_crosses(corners, index.near(corners))

    def wheel_on_line(self, i: int, index: SegmentIndex) -> bool:
        """A tyre's contact point within half a tyre width of a line, or crossing it since the
        previous frame (so that a fast crossing between two samples is not missed)."""
        now = self.wheels(i)
        before = self.wheels(i - 1) if i > 0 else now
        half = self.tyre_half_width
        for p, q in zip(before, now, strict=True):
            x0, x1 = min(p[0], q[0]) - half, max(p[0], q[0]) + half
            y0, y1 = min(p[1], q[1]) - half, max(p[1], q[1]) + half
            for a, b in index.near(((x0, y0), (x1, y1))):
                if (
                    max(a[0], b[0]) < x0
                    or min(a[0], b[0]) > x1
                    or max(a[1], b[1]) < y0
                    or min(a[1], b[1]) > y1
                ):
                    continue
                if distance_to_segment(q, a, b) <= half or segments_intersect(p, q, a, b):
                    return True
        return False

    def stops_in(self, window: Run) -> list[Run]:
        a, b = window
        return [(max(s, a), min(e, b)) for s, e in self.facts.stationary if s < b and e > a]

    def moving(self, i: int) -> bool:
        v = self.facts.track.speed[i]
        return v >= self.facts.stop_speed or v <= -self.facts.stop_speed


FieldRuleFunction = Callable[[FieldScene, Rule], list[Deduction]]
"""A rule function: decides one rule of the table, one deduction per occurrence, each with
the frame that proves it."""


def _index(segments: tuple[Segment, ...]) -> SegmentIndex:
    return SegmentIndex(segments)


def course_completed(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """Every item driven through (entered and left) in the map's order."""
    last_end = 0
    for item in scene.course.items:
        window = scene.windows[item.item]
        if window is None or window[1] >= scene.facts.n:
            return [rule.at(scene.facts.n - 1)]
        if window[0] < last_end:
            return [rule.at(window[0])]
        last_end = window[1]
    return []


def _completed(scene: FieldScene, name: str) -> Run | None:
    window = scene.windows[name]
    if window is None or window[1] >= scene.facts.n:
        return None
    return window


def _window(scene: FieldScene, name: str) -> Run | None:
    return scene.windows[name]


def stops_midway(exempt: Callable[[FieldScene, Run], bool] | None = None) -> FieldRuleFunction:
    """Each stop longer than ``max_ms`` inside the item (but its required stop), per occurrence."""

    def decide(scene: FieldScene, rule: Rule) -> list[Deduction]:
        window = _window(scene, rule.item)
        if window is None:
            return []
        limit = rule.param("max_ms")
        out = []
        for run in scene.stops_in(window):
            if exempt is not None and exempt(scene, run):
                continue
            frame = scene.facts.first_over(run[0], run[1], limit)
            if frame is not None:
                out.append(rule.at(frame))
        return out

    return decide


def time_limit(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The item takes more than ``max_ms`` from entering its zone."""
    window = _window(scene, rule.item)
    if window is None:
        return []
    frame = scene.facts.first_over(window[0], window[1], rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


# 倒车入库 -----------------------------------------------------------------------------------


def rp_body_crosses_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _window(scene, rule.item)
    if window is None:
        return []
    index = _index(scene.item(rule.item).lines)
    for i in range(*window):
        if scene.body_touches(i, index):
            return [rule.at(i)]
    return []


def rp_forwards_into_bay(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The first frame the body is entirely in the bay must come while reversing."""
    window = _window(scene, rule.item)
    if window is None:
        return []
    bay, speed = scene.item(rule.item).bay, scene.facts.track.speed
    for i in range(*window):
        if scene.body_in(i, bay):
            return [rule.at(i)] if speed[i] >= scene.facts.stop_speed else []
    return []


def rp_never_in_bay(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _completed(scene, rule.item)
    if window is None:
        return []
    bay = scene.item(rule.item).bay
    if any(scene.body_in(i, bay) for i in range(*window)):
        return []
    return [rule.at(window[1] - 1)]


def rp_control_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """At the first reversing frame both front wheels must be beyond (left of) the line."""
    window = _window(scene, rule.item)
    line = scene.item(rule.item).control_line
    if window is None or line is None:
        return []
    gear, speed = scene.facts.track.gear, scene.facts.track.speed
    for i in range(*window):
        if gear[i] == GEAR_REVERSE and speed[i] <= -scene.facts.stop_speed:
            front = scene.wheels(i)[:2]
            if all(signed_distance_to_line(w, *line) > 0 for w in front):
                return []
            return [rule.at(i)]
    return []


# 坡道定点停车和起步 ---------------------------------------------------------------------------


def _hill_stop(scene: FieldScene) -> Run | None:
    window = _window(scene, "hill_start")
    if window is None:
        return None
    stops = scene.stops_in(window)
    return stops[0] if stops else None


def hill_no_stop(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _completed(scene, rule.item)
    if window is None or _hill_stop(scene) is not None:
        return []
    return [rule.at(window[1] - 1)]


def _pole_offset(scene: FieldScene, frame: int) -> int | None:
    item = scene.item("hill_start")
    if item.pole_line is None:
        return None
    tr = scene.facts.track
    bumper = front_bumper_mid(tr.x[frame], tr.y[frame], tr.heading[frame], scene.dims)
    return abs(signed_distance_to_line(bumper, *item.pole_line))


def hill_pole_far(scene: FieldScene, rule: Rule) -> list[Deduction]:
    stop = _hill_stop(scene)
    if stop is None:
        return []
    off = _pole_offset(scene, stop[0])
    return [rule.at(stop[0])] if off is not None and off > rule.param("max_mm") else []


def hill_pole_near(scene: FieldScene, rule: Rule) -> list[Deduction]:
    stop = _hill_stop(scene)
    if stop is None:
        return []
    off = _pole_offset(scene, stop[0])
    band = scene.item(rule.item).pole_band_mm
    if off is not None and band < off <= rule.param("max_mm"):
        return [rule.at(stop[0])]
    return []


def _edge_gap(scene: FieldScene, frame: int) -> int | None:
    line = scene.item("hill_start").edge_line
    if line is None:
        return None
    return body_gap_to_edge(scene.corners(frame), *line)


def hill_edge_far(scene: FieldScene, rule: Rule) -> list[Deduction]:
    stop = _hill_stop(scene)
    if stop is None:
        return []
    gap = _edge_gap(scene, stop[0])
    return [rule.at(stop[0])] if gap is not None and gap > rule.param("max_mm") else []


def hill_edge_near(scene: FieldScene, rule: Rule) -> list[Deduction]:
    stop = _hill_stop(scene)
    if stop is None:
        return []
    gap = _edge_gap(scene, stop[0])
    if gap is not None and rule.param("min_mm") < gap <= rule.param("max_mm"):
        return [rule.at(stop[0])]
    return []


def hill_start_slow(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """More than ``max_ms`` from stopping to moving off (or to the end of the window)."""
    stop = _hill_stop(scene)
    window = _window(scene, rule.item)
    if stop is None or window is None:
        return []
    frame = scene.facts.first_over(stop[0], min(stop[1] + 1, window[1]), rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


def hill_wheel_on_edge(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _window(scene, rule.item)
    line = scene.item(rule.item).edge_line
    if window is None or line is None:
        return []
    half = scene.tyre_half_width
    for i in range(*window):
        w = scene.wheels(i)
        if min(signed_distance_to_line(w[1], *line), signed_distance_to_line(w[2], *line)) <= half:
            return [rule.at(i)]
    return []


# 侧方停车 -----------------------------------------------------------------------------------


def _parking_stop(scene: FieldScene) -> Run | None:
    """The first stop after reversing has begun, with the pose point inside the bay."""
    window = _window(scene, "parallel_parking")
    if window is None:
        return None
    gear, bay = scene.facts.track.gear, scene.item("parallel_parking").bay
    tr = scene.facts.track
    reversed_at = next((i for i in range(*window) if gear[i] == GEAR_REVERSE), None)
    if reversed_at is None:
        return None
    for run in scene.stops_in(window):
        if run[0] >= reversed_at and point_in_polygon((tr.x[run[0]], tr.y[run[0]]), bay):
            return run
    return None


def pp_not_parked(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _completed(scene, rule.item)
    if window is None or _parking_stop(scene) is not None:
        return []
    return [rule.at(window[1] - 1)]


def pp_parked_over_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    stop = _parking_stop(scene)
    if stop is None or scene.body_in(stop[0], scene.item(rule.item).bay):
        return []
    return [rule.at(stop[0])]


def _touch_runs(scene: FieldScene, window: Run, test: Callable[[int], bool]) -> list[int]:
    """First frames of each run of moving frames where ``test`` holds."""
    flags = [scene.moving(i) and test(i) for i in range(*window)]
    return [window[0] + a for a, _ in runs_of(flags)]


def pp_wheel_on_edge(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _window(scene, rule.item)
    if window is None:
        return []
    index = _index(scene.item(rule.item).edge_lines)
    return [rule.at(i) for i in _touch_runs(scene, window, lambda i: scene.wheel_on_line(i, index))]


def pp_body_on_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _window(scene, rule.item)
    if window is None:
        return []
    index = _index(scene.item(rule.item).lines)
    return [rule.at(i) for i in _touch_runs(scene, window, lambda i: scene.body_touches(i, index))]


def pp_leave_signal(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """Leaving the bay: the left indicator on for ``min_ms`` when the car first moves again."""
    stop = _parking_stop(scene)
    if stop is None or stop[1] >= scene.facts.n:
        return []
    move = stop[1]
    since = scene.facts.bit_on_since(INDICATOR_LEFT, move)
    t = scene.facts.track.t
    if since is None or t[move] - t[since] < rule.param("min_ms"):
        return [rule.at(move)]
    return []


def _is_parking_stop(scene: FieldScene, run: Run) -> bool:
    return run == _parking_stop(scene)


# 曲线行驶, 直角转弯 ----------------------------------------------------------------------------


def wheel_on_edge_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = _window(scene, rule.item)
    if window is None:
        return []
    index = _index(scene.item(rule.item).edge_lines)
    for i in range(*window):
        if scene.wheel_on_line(i, index):
            return [rule.at(i)]
    return []


def turn_signal(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """On entering the signal zone, the item's indicator must be on."""
    window = _window(scene, rule.item)
    item = scene.item(rule.item)
    if window is None:
        return []
    tr, box = scene.facts.track, bounding_box(item.signal_zone)
    bit = INDICATOR_BITS[item.indicator]
    for i in range(*window):
        if _inside((tr.x[i], tr.y[i]), box, item.signal_zone):
            return [] if tr.signals[i] & bit else [rule.at(i)]
    return []


def _rp_exempt(scene: FieldScene, run: Run) -> bool:
    return scene.body_in(run[0], scene.item("reverse_parking").bay)


RULE_FUNCTIONS: dict[str, FieldRuleFunction] = {
    "X20001": course_completed,
    "20101": rp_forwards_into_bay,
    "20102": rp_body_crosses_line,
    "20103": rp_never_in_bay,
    "X20105": rp_control_line,
    "X20106": time_limit,
    "20104": stops_midway(_rp_exempt),
    "20301": hill_pole_far,
    "20303": hill_pole_near,
    "20302": hill_start_slow,
    "20304": hill_edge_near,
    "X20305": hill_edge_far,
    "X20306": hill_wheel_on_edge,
    "X20307": hill_no_stop,
    "20401": pp_parked_over_line,
    "X20407": pp_not_parked,
    "X20404": time_limit,
    "20403": pp_wheel_on_edge,
    "X20405": pp_body_on_line,
    "X20406": pp_leave_signal,
    "20402": stops_midway(_is_parking_stop),
    "20601": wheel_on_edge_line,
    "20602": stops_midway(),
    "20701": wheel_on_edge_line,
    "X20703": turn_signal,
    "20702": stops_midway(),
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
