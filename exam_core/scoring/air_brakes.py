"""起步 on an air-braked vehicle: moving off before the brakes have the air to stop it.

A vehicle with air brakes cannot brake fully until its tanks are charged, so the table fails a
start-off with the brake air pressure too low (research/domain.md §2.6 起步).  The pressure is
the in-car unit's signed gauge reading, telemetry version 3's ``air`` column; a vehicle without
air brakes reports ``AIR_NONE`` and is never judged by this rule.  What pressure is "too low" is
not in the research (UNSOURCED): the table's ``min_kpa`` is our choice, versioned with it.
"""

from __future__ import annotations

from exam_core.scoring.result import Deduction
from exam_core.scoring.route_scene import RouteRuleFunction, RouteScene
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import AIR_NONE


def low_air_at_start(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """At each start-off, the brake air pressure below ``min_kpa`` as the car moves off: per
    start-off, at its first moving frame."""
    facts = scene.facts
    air, low = facts.track.air, rule.param("min_kpa")
    return [rule.at(f) for f in facts.starts if air[f] != AIR_NONE and air[f] < low]


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {"X30207": low_air_at_start}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""

TELEMETRY: dict[str, int] = dict.fromkeys(RULE_FUNCTIONS, 3)
"""The telemetry format version each rule needs."""
