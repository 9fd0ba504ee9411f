"""科目二 items of the large vehicles: 模拟隧道 (simulated tunnel) and 模拟湿滑路 (wet road).

The national codes 21401–21404 and 21601–21603 (research/domain.md §2.2).  A long vehicle is
in the tunnel or on the wet stretch from the frame any corner of its body is inside the item's
``inside`` polygon until the frame its whole body is out again; its speed, gear, lights and
horn are judged at those two frames and between them.
"""

from __future__ import annotations

from exam_core.scoring.field_scene import FieldRuleFunction, FieldScene
from exam_core.scoring.geometry import signed_distance_to_line
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import DIPPED_BEAM, HIGH_BEAM, HORN

HEADLIGHTS = DIPPED_BEAM | HIGH_BEAM


def tunnel_approach(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21401: entering the tunnel faster than ``max_speed_mm_s``, or with the headlights off."""
    way = scene.passage(rule.item)
    if way is None:
        return []
    f = way[0]
    tr = scene.facts.track
    if tr.speed[f] > rule.param("max_speed_mm_s") or not tr.signals[f] & HEADLIGHTS:
        return [rule.at(f)]
    return []


def tunnel_lane(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21402: in the tunnel, any corner of the body on or beyond the tunnel's centre line (in
    the wrong lane, or changing lane): the first such frame."""
    way = scene.passage(rule.item)
    line = scene.item(rule.item).centre_line if way is not None else None
    if way is None or line is None:
        return []
    for i in range(*way):
        if any(signed_distance_to_line(c, *line) >= 0 for c in scene.corners(i)):
            return [rule.at(i)]
    return []


def tunnel_horn(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21403: no horn within ``horn_ms`` before entering the tunnel, and again before leaving
    it: one deduction for each, at the entry or exit frame."""
    way = scene.passage(rule.item)
    if way is None:
        return []
    sig, n = scene.facts.track.signals, scene.facts.n
    k = scene.facts.frames_in(rule.param("horn_ms"))
    out = []
    for f in way:
        if f < n and not any(sig[i] & HORN for i in range(max(0, f - k), f + 1)):
            out.append(rule.at(f))
    return out


def tunnel_lights_left_on(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21404: the headlights still on more than ``max_ms`` after leaving the tunnel."""
    way = scene.passage(rule.item)
    if way is None or way[1] >= scene.facts.n:
        return []
    sig = scene.facts.track.signals
    exit_frame = way[1]
    end = next((i for i in range(exit_frame, scene.facts.n) if not sig[i] & HEADLIGHTS), None)
    frame = scene.facts.first_over(
        exit_frame, scene.facts.n if end is None else end, rule.param("max_ms")
    )
    return [] if frame is None else [rule.at(frame)]


def wet_road_gear(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21601: on the wet road in a gear above ``max_gear`` (not in a low gear)."""
    way = scene.passage(rule.item)
    if way is None:
        return []
    gear, top = scene.facts.track.gear, rule.param("max_gear")
    frame = next((i for i in range(*way) if gear[i] > top), None)
    return [] if frame is None else [rule.at(frame)]


def wet_road_entry_speed(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21602: entering the wet road faster than ``max_speed_mm_s`` (no slowdown before it)."""
    way = scene.passage(rule.item)
    if way is None or scene.facts.track.speed[way[0]] <= rule.param("max_speed_mm_s"):
        return []
    return [rule.at(way[0])]


def wet_road_harsh(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """21603: on the wet road, the speed changes by more than ``max_change_mm_s`` within
    ``window_ms`` (harsh acceleration or braking): the first such frame."""
    way = scene.passage(rule.item)
    if way is None:
        return []
    speed = scene.facts.track.speed
    k, top = scene.facts.frames_in(rule.param("window_ms")), rule.param("max_change_mm_s")
    for i in range(way[0] + 1, min(way[1], scene.facts.n)):
        if abs(speed[i] - speed[max(way[0], i - k)]) > top:
            return [rule.at(i)]
    return []


RULE_FUNCTIONS: dict[str, FieldRuleFunction] = {
    "21401": tunnel_approach,
    "21402": tunnel_lane,
    "21403": tunnel_horn,
    "21404": tunnel_lights_left_on,
    "21601": wet_road_gear,
    "21602": wet_road_entry_speed,
    "21603": wet_road_harsh,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
