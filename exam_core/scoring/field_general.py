"""科目二 general rules that need the field: the course driven in order, the field's speed
limit, the solid lines of the roads between the items, and their lane dividers."""

from __future__ import annotations

from exam_core.errors import ScoringError
from exam_core.scoring.facts import runs_of
from exam_core.scoring.field_scene import FieldRuleFunction, FieldScene
from exam_core.scoring.geometry import bounding_box
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule


def course_completed(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """Every item driven through (entered and left) in the map's order."""
    last_end = 0
    for item in scene.course.items:
        window = scene.window(item.item)
        if window is None or window[1] >= scene.facts.n:
            return [rule.at(scene.facts.n - 1)]
        if window[0] < last_end:
            return [rule.at(window[0])]
        last_end = window[1]
    return []


def field_speeding(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """Above the field's speed limit for more than ``max_ms``: once, where the limit is passed.

    Raises:
        ScoringError: if the map gives no speed limit (a map older than the rule).
    """
    limit = scene.course.speed_limit_mm_s
    if limit is None:
        raise ScoringError(f"map {scene.course.version} has no speed limit for rule {rule.code}")
    frame = scene.facts.over_speed(limit, rule.param("max_ms"))
    return [] if frame is None else [rule.at(frame)]


def wheel_on_road_line(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """Between the items, a wheel on a solid line of the field's roads (touching it, or
    crossing it since the previous frame): the first such frame.

    Raises:
        ScoringError: if the map draws no road lines (a map older than the rule).
    """
    lines = scene.course.road_lines
    if not lines:
        raise ScoringError(f"map {scene.course.version} has no road lines for rule {rule.code}")
    index = scene.index(lines)
    in_items = [False] * scene.facts.n
    for window in scene.windows.values():
        if window is not None:
            in_items[window[0] : window[1]] = [True] * (window[1] - window[0])
    for i in range(scene.facts.n):
        if not in_items[i] and scene.wheel_on_line(i, index):
            return [rule.at(i)]
    return []


def straddling_field_divider(scene: FieldScene, rule: Rule) -> list[Deduction]:
    """The body across a lane divider of the field's roads for more than ``max_ms``: once,
    where the limit is passed.

    Only frames whose pose point is within the body's reach of the dividers' bounding box get
    the body's outline.  A field whose roads have one lane each way (every map before
    ``k2-field-a/3``, and the large-vehicle field) has no dividers to straddle.
    """
    dividers = scene.course.lane_dividers
    if not dividers:
        return []
    index = scene.index(dividers)
    dims = scene.dims
    reach = dims.front + dims.width
    x0, y0, x1, y1 = bounding_box(p for seg in dividers for p in seg)
    x0, y0, x1, y1 = x0 - reach, y0 - reach, x1 + reach, y1 + reach
    tr, facts = scene.facts.track, scene.facts
    flags = [
        x0 <= x <= x1 and y0 <= y <= y1 and scene.body_touches(i, index)
        for i, (x, y) in enumerate(zip(tr.x, tr.y, strict=True))
    ]
    for a, b in runs_of(flags):
        frame = facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            return [rule.at(frame)]
    return []


RULE_FUNCTIONS: dict[str, FieldRuleFunction] = {
    "X20001": course_completed,
    "X20002": field_speeding,
    "X20003": wheel_on_road_line,
    "X20004": straddling_field_divider,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
