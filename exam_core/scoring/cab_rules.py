"""General rules of both subjects decided from telemetry v2: what the in-cab camera saw, the
pedals, the gearbox, and the voice commands for the common controls.

These rules read the columns only a version 2 track has (``TELEMETRY`` says which); the engine
refuses to score a table with them from version 1 telemetry rather than skip them.
"""

from __future__ import annotations

from exam_core.scoring.cab_inputs import (
    BODY_OUT_OF_WINDOW,
    EYES_OFF_ROAD,
    HANDS_OFF_WHEEL,
    HAZARD_ON,
    HEADLIGHTS_ON,
    LOOKING_AT_GEAR_LEVER,
    WIPERS_ON,
)
from exam_core.scoring.facts import TrackFacts, runs_of
from exam_core.scoring.general_rules import GeneralRuleFunction
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import (
    BRAKE_PEDAL,
    DIPPED_BEAM,
    GEAR_NEUTRAL,
    GEAR_PARK,
    HAZARD,
    WIPER,
)

CONTROL_FOR = {WIPERS_ON: WIPER, HAZARD_ON: HAZARD, HEADLIGHTS_ON: DIPPED_BEAM}
"""The signal bit each command for a common control asks for."""


def observed_while_moving(bit: int) -> GeneralRuleFunction:
    """A rule function: the camera sees ``bit`` while the car moves for more than ``max_ms``,
    once, where the limit is passed."""

    def decide(facts: TrackFacts, rule: Rule) -> list[Deduction]:
        vision, speed, stop = facts.track.vision, facts.track.speed, facts.stop_speed
        if not facts.vision_seen & bit:
            return []
        flags = [bool(v & bit) and not -stop < s < stop for v, s in zip(vision, speed, strict=True)]
        limit = rule.param("max_ms")
        for a, b in runs_of(flags):
            frame = facts.first_over(a, b, limit)
            if frame is not None:
                return [rule.at(frame)]
        return []

    return decide


def both_pedals(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """The accelerator pressed beyond ``min_permille`` while the brake pedal is down, for more
    than ``max_ms`` (wrong use of brake and accelerator): once, where the limit is passed."""
    accel, low = facts.track.accel, rule.param("min_permille")
    for a, b in facts.bit_runs(BRAKE_PEDAL):
        for s, e in runs_of([v > low for v in accel[a:b]]):
            frame = facts.first_over(a + s, a + e, rule.param("max_ms"))
            if frame is not None:
                return [rule.at(frame)]
    return []


def failed_engagements(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """Two failed gear engagements in a row: each time the lever goes into a gear the gearbox
    must have that gear within ``engage_ms``; the second failure of a row is deducted where
    its time runs out."""
    engaged = facts.track.engaged
    k = facts.frames_in(rule.param("engage_ms"))
    failures = 0
    for a, _, g in facts.gear_runs[1:]:
        if g in (GEAR_NEUTRAL, GEAR_PARK):
            continue
        i = a
        end = min(i + k + 1, facts.n)
        if any(engaged[j] == g for j in range(i, end)):
            failures = 0
            continue
        failures += 1
        if failures == 2:
            return [rule.at(end - 1)]
    return []


def controls_on_command(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """A command to work a common control (wipers, hazard lights, headlights) not followed
    within ``response_ms`` by the control on: each time, where the time runs out."""
    tr = facts.track
    k = facts.frames_in(rule.param("response_ms"))
    out = []
    for p, code in facts.commands:
        bit = CONTROL_FOR.get(code)
        if bit is None:
            continue
        end = min(p + k, facts.n - 1)
        if not any(tr.signals[j] & bit for j in range(p, end + 1)):
            out.append(rule.at(end))
    return out


RULE_FUNCTIONS: dict[str, GeneralRuleFunction] = {
    "X10108": observed_while_moving(EYES_OFF_ROAD),
    "X10109": observed_while_moving(HANDS_OFF_WHEEL),
    "X10110": observed_while_moving(BODY_OUT_OF_WINDOW),
    "X10111": observed_while_moving(LOOKING_AT_GEAR_LEVER),
    "X10112": both_pedals,
    "X10113": failed_engagements,
    "X10114": controls_on_command,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {}
"""The newest method of each rule decided in more than one way (the others have method 1)."""

TELEMETRY = dict.fromkeys(RULE_FUNCTIONS, 2)
"""The telemetry format version each rule needs (the others need version 1)."""
