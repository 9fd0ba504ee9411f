"""科目二 items of the small-car field: 倒车入库, 坡道定点停车和起步, 侧方停车, 曲线行驶, 直角转弯.

Each rule asks the scene for its item's window first: a field without the item (the
large-vehicle field) leaves the rule with nothing to decide.
"""

from __future__ import annotations

from collections.abc import Callable

from exam_core.scoring.facts import Run, runs_of
from exam_core.scoring.field_scene import FieldRuleFunction, FieldScene, inside
from exam_core.scoring.geometry import (
    body_gap_to_edge,
    bounding_box,
    front_bumper_mid,
    point_in_polygon,
    signed_distance_to_line,
)
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import (
    GEAR_REVERSE,
    INDICATOR_LEFT,
    INDICATOR_RIGHT,
    PARKING_BRAKE,
)

INDICATOR_BITS = {"left": INDICATOR_LEFT, "right": INDICATOR_RIGHT}


def stops_midway(exempt: Callable[[FieldScene, Run], bool] | None = None) -> FieldRuleFunction:
    """Each stop longer than ``max_ms`` inside the item (but its required stop), per occurrence."""

    def decide(scene: FieldScene, rule: Rule) -> list[Deduction]:
        window = scene.window(rule.item)
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
    window = scene.window(rule.item)
    if window is None:
        return []
    frame = scene.facts.first_over(window[0], window[1], rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


# 倒车入库 -----------------------------------------------------------------------------------


def rp_body_crosses_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = scene.window(rule.item)
    if window is None:
        return []
    index = scene.index(scene.item(rule.item).lines)
    for i in range(*window):
        if scene.body_touches(i, index):
            return [rule.at(i)]
    return []


def rp_forwards_into_bay(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The first frame the body is entirely in the bay must come while reversing."""
    window = scene.window(rule.item)
    if window is None:
        return []
    bay, speed = scene.item(rule.item).bay, scene.facts.track.speed
    for i in range(*window):
        if scene.body_in(i, bay):
            return [rule.at(i)] if speed[i] >= scene.facts.stop_speed else []
    return []


def rp_never_in_bay(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = scene.completed(rule.item)
    if window is None:
        return []
    bay = scene.item(rule.item).bay
    if any(scene.body_in(i, bay) for i in range(*window)):
        return []
    return [rule.at(window[1] - 1)]


def rp_control_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """At the first reversing frame both front wheels must be beyond (left of) the line."""
    window = scene.window(rule.item)
    if window is None:
        return []
    line = scene.item(rule.item).control_line
    if line is None:
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
    window = scene.window("hill_start")
    if window is None:
        return None
    stops = scene.stops_in(window)
    return stops[0] if stops else None


def hill_no_stop(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = scene.completed(rule.item)
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
    window = scene.window(rule.item)
    if stop is None or window is None:
        return []
    frame = scene.facts.first_over(stop[0], min(stop[1] + 1, window[1]), rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


def hill_wheel_on_edge(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = scene.window(rule.item)
    if window is None:
        return []
    line = scene.item(rule.item).edge_line
    if line is None:
        return []
    half = scene.tyre_half_width
    for i in range(*window):
        w = scene.wheels(i)
        if min(signed_distance_to_line(w[1], *line), signed_distance_to_line(w[2], *line)) <= half:
            return [rule.at(i)]
    return []


def hill_parking_brake(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The parking brake not applied at any time while stopped at the pole: deducted when
    the car moves off (or at the end, if it never does)."""
    stop = _hill_stop(scene)
    if stop is None:
        return []
    a, b = stop
    sig = scene.facts.track.signals
    if any(sig[i] & PARKING_BRAKE for i in range(a, b)):
        return []
    return [rule.at(min(b, scene.facts.n - 1))]


# 侧方停车 -----------------------------------------------------------------------------------


def _parking_stop(scene: FieldScene) -> Run | None:
    """The first stop after reversing has begun, with the pose point inside the bay."""
    window = scene.window("parallel_parking")
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
    window = scene.completed(rule.item)
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
    window = scene.window(rule.item)
    if window is None:
        return []
    index = scene.index(scene.item(rule.item).edge_lines)
    return [rule.at(i) for i in _touch_runs(scene, window, lambda i: scene.wheel_on_line(i, index))]


def pp_body_on_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    window = scene.window(rule.item)
    if window is None:
        return []
    index = scene.index(scene.item(rule.item).lines)
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
    window = scene.window(rule.item)
    if window is None:
        return []
    index = scene.index(scene.item(rule.item).edge_lines)
    for i in range(*window):
        if scene.wheel_on_line(i, index):
            return [rule.at(i)]
    return []


def _signal_zone(scene: FieldScene, name: str) -> tuple[int, int | None, int] | None:
    """The first frame in the item's signal zone, the first frame out of it after that (None
    if the car never leaves it), and the item's indicator bit; None if never in it."""
    window = scene.window(name)
    if window is None:
        return None
    item = scene.item(name)
    tr, box = scene.facts.track, bounding_box(item.signal_zone)
    zone = [inside((tr.x[i], tr.y[i]), box, item.signal_zone) for i in range(*window)]
    entered = next((k for k, z in enumerate(zone) if z), None)
    if entered is None:
        return None
    left = next((k for k in range(entered, len(zone)) if not zone[k]), None)
    bit = INDICATOR_BITS[item.indicator]
    return window[0] + entered, None if left is None else window[0] + left, bit


def turn_signal(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """On entering the signal zone, the item's indicator must be on."""
    found = _signal_zone(scene, rule.item)
    if found is None:
        return []
    entered, _, bit = found
    return [] if scene.facts.track.signals[entered] & bit else [rule.at(entered)]


def indicator_left_on(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The item's indicator still on more than ``max_ms`` after the car leaves the signal
    zone (the turn is over): where the limit is passed."""
    found = _signal_zone(scene, rule.item)
    if found is None:
        return []
    _, exit_frame, bit = found
    if exit_frame is None:
        return []
    since = scene.facts.bit_on_since(bit, exit_frame)
    if since is None:
        return []
    end = next((b for a, b in scene.facts.bit_runs(bit) if a == since), scene.facts.n)
    frame = scene.facts.first_over(exit_frame, end, rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


def _rp_exempt(scene: FieldScene, run: Run) -> bool:
    return scene.body_in(run[0], scene.item("reverse_parking").bay)


RULE_FUNCTIONS: dict[str, FieldRuleFunction] = {
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
    "X20308": hill_parking_brake,
    "X20704": indicator_left_on,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
