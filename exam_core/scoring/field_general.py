"""科目二 general rules that need the field: the course driven in order, the field's speed
limit, the solid lines of the roads between the items."""

from __future__ import annotations

from exam_core.errors import ScoringError
from exam_core.scoring.field_scene import FieldRuleFunction, FieldScene
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


RULE_FUNCTIONS: dict[str, FieldRuleFunction] = {
    "X20001": course_completed,
    "X20002": field_speeding,
    "X20003": wheel_on_road_line,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
