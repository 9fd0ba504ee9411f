"""科目三 items along the route: 起步, 直线行驶, 变更车道, the zones, 超车, 靠边停车.

Each item is decided over the windows of its zones (from the frame the car first reaches a
zone's start to the frame it first reaches its end) or, for the pull-over, around its stop.
"""

from __future__ import annotations

import itertools

from exam_core.errors import ScoringError
from exam_core.scoring.course import RouteZone
from exam_core.scoring.facts import Run, runs_of
from exam_core.scoring.geometry import body_corners, body_gap_to_edge, trig_tables
from exam_core.scoring.result import Deduction
from exam_core.scoring.route_scene import RouteRuleFunction, RouteScene
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import BRAKE_PEDAL, DOOR_OPEN, PARKING_BRAKE


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
    return [rule.at(runs[0][0])] if runs else []


def brake_not_released(scene: RouteScene, rule: Rule) -> list[Deduction]:
    for a, b in _moving_runs_with(scene, PARKING_BRAKE):
        frame = scene.facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            return [rule.at(frame)]
    return []


def brake_released_late(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for a, b in _moving_runs_with(scene, PARKING_BRAKE):
        if scene.facts.first_over(a, b, rule.param("max_ms")) is None:
            out.append(rule.at(a))
    return out


def wander(scene: RouteScene, rule: Rule) -> list[Deduction]:
    d_col = scene.projection[1]
    for a, b in scene.windows(rule.item):
        low = high = d_col[a]
        for i in range(a, b):
            low, high = min(low, d_col[i]), max(high, d_col[i])
            if high - low > rule.param("max_mm"):
                return [rule.at(i)]
    return []


def _end_frame(scene: RouteScene, w: Run) -> int:
    return min(w[1], scene.facts.n) - 1


def no_lane_change(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for w in scene.windows(rule.item):
        if not any(w[0] <= f < w[1] for f, _, _ in scene.lane_changes):
            out.append(rule.at(_end_frame(scene, w)))
    return out


def zone_speed(scene: RouteScene, rule: Rule) -> list[Deduction]:
    top = rule.param("max_speed_mm_s")
    speed = scene.facts.track.speed
    out = []
    for a, b in scene.windows(rule.item):
        frame = next((i for i in range(a, b) if speed[i] > top), None)
        if frame is not None:
            out.append(rule.at(frame))
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
                out.append(rule.at(hit))
                break
    return out


def not_keeping_right(scene: RouteScene, rule: Rule) -> list[Deduction]:
    lanes = scene.lanes
    out = []
    for a, b in scene.windows(rule.item):
        frame = next((i for i in range(a, b) if lanes[i] != 0), None)
        if frame is not None:
            out.append(rule.at(frame))
    return out


def no_overtake(scene: RouteScene, rule: Rule) -> list[Deduction]:
    out = []
    for w in scene.windows(rule.item):
        inside = [(a, b) for f, a, b in scene.lane_changes if w[0] <= f < w[1]]
        out_and_back = any(b > a for a, b in inside) and any(b < a for a, b in inside)
        if not out_and_back:
            out.append(rule.at(_end_frame(scene, w)))
    return out


def _pull_over(scene: RouteScene) -> tuple[RouteZone, Run | None] | None:
    zones = scene.zones("pull_over")
    if not zones:
        return None
    return zones[-1], scene.first_stop_in(zones[-1])


def no_pull_over(scene: RouteScene, rule: Rule) -> list[Deduction]:
    found = _pull_over(scene)
    if found is None or found[1] is not None:
        return []
    return [rule.at(scene.facts.n - 1)]


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
    return [rule.at(stop[0])]


def pull_over_near(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """After stopping, the body more than ``min_mm`` and at most ``max_mm`` from the edge."""
    stop = _stop(scene)
    if stop is None:
        return []
    gap = _edge_gap(scene, stop[0], rule.method)
    return [rule.at(stop[0])] if rule.param("min_mm") < gap <= rule.param("max_mm") else []


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
    return [] if scene.facts.track.signals[frame] & PARKING_BRAKE else [rule.at(frame)]


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
    return [] if frame is None else [rule.at(frame)]


def moved_after_stop(scene: RouteScene, rule: Rule) -> list[Deduction]:
    stop = _stop(scene)
    if stop is None:
        return []
    odo = scene.facts.track.odo
    ref = odo[stop[0]]
    limit = rule.param("min_mm")
    frame = next((i for i in range(stop[0], scene.facts.n) if abs(odo[i] - ref) >= limit), None)
    return [] if frame is None else [rule.at(frame)]


def door_with_engine(scene: RouteScene, rule: Rule) -> list[Deduction]:
    stop = _stop(scene)
    if stop is None:
        return []
    running, sig = scene.facts.engine_running, scene.facts.track.signals
    frame = next(
        (i for i in range(stop[0], scene.facts.n) if running[i] and sig[i] & DOOR_OPEN), None
    )
    return [] if frame is None else [rule.at(frame)]


def door_left_open(scene: RouteScene, rule: Rule) -> list[Deduction]:
    if _stop(scene) is None:
        return []
    last = scene.facts.n - 1
    return [rule.at(last)] if scene.facts.track.signals[last] & DOOR_OPEN else []


def left_of_centre(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """A left turn must pass left of the junction's centre point (靠路口中心点左侧转弯): where
    the car comes closest to the point, the point must be on its right.  Per junction, at that
    frame.

    Raises:
        ScoringError: if a zone of the item has no centre point (a map older than the rule).
    """
    tr = scene.facts.track
    sin, cos = trig_tables()
    out = []
    for zone in scene.zones(rule.item):
        if zone.centre is None:
            raise ScoringError(f"map {scene.course.version}: {zone.item} has no centre point")
        w = scene.window(zone)
        if w is None:
            continue
        cx, cy = zone.centre
        i = min(range(*w), key=lambda k: ((tr.x[k] - cx) ** 2 + (tr.y[k] - cy) ** 2, k))
        h = tr.heading[i]
        left = cos[h] * (cy - tr.y[i]) - sin[h] * (cx - tr.x[i])
        if left >= 0:
            out.append(rule.at(i))
    return out


def overtaking_right(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """In the overtaking section, out to a lane on the right and back (passing on the right):
    at the change back."""
    out = []
    for w in scene.windows(rule.item):
        inside = [(f, a, b) for f, a, b in scene.lane_changes if w[0] <= f < w[1]]
        for (_, a1, b1), (f2, a2, b2) in itertools.pairwise(inside):
            if b1 < a1 and b2 > a2:
                out.append(rule.at(f2))
    return out


def jerky_start(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """Moving off, the speed gains more than ``max_gain_mm_s`` within ``window_ms`` of the
    standstill (闯动): per start-off, where the gain is passed."""
    facts = scene.facts
    speed = facts.track.speed
    k, gain = facts.frames_in(rule.param("window_ms")), rule.param("max_gain_mm_s")
    out = []
    for f in facts.starts:
        base = speed[f - 1]
        frame = next((j for j in range(f, min(f + k, facts.n)) if speed[j] - base > gain), None)
        if frame is not None:
            out.append(rule.at(frame))
    return out


def revving_at_start(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The engine above ``max_rpm`` within ``window_ms`` of moving off (poor accelerator
    control): per start-off, at the first such frame."""
    facts = scene.facts
    rpm = facts.track.rpm
    k, top = facts.frames_in(rule.param("window_ms")), rule.param("max_rpm")
    out = []
    for f in facts.starts:
        frame = next((j for j in range(f, min(f + k, facts.n)) if rpm[j] > top), None)
        if frame is not None:
            out.append(rule.at(frame))
    return out


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30201": door_open_moving,
    "X30202": brake_not_released,
    "X30203": brake_released_late,
    "X30204": jerky_start,
    "X30205": revving_at_start,
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
    "X30504": left_of_centre,
    "X31001": no_overtake,
    "X31002": overtaking_right,
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

METHODS: dict[str, int] = {"X31202": 2, "X31203": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
