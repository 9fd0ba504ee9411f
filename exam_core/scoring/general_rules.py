"""The general rules (通用评判) of both subjects read from the car's own signals: belt,
monitoring, starter, roll-back, stall, coasting, gear and speed.

Each rule function decides one rule of the table from the track's facts and returns a deduction
per occurrence with the frame that proves it; thresholds come from the rule's ``params`` (and
the gears' speed bands from the table's common thresholds).
"""

from __future__ import annotations

from collections.abc import Callable

from exam_core.scoring.facts import NOT_IN_GEAR, TrackFacts, runs_of
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import BELT, CAMERA_OK, GEAR_NEUTRAL, STARTER

GeneralRuleFunction = Callable[[TrackFacts, Rule], list[Deduction]]
"""A rule function: decides one rule of the table, one deduction per occurrence, each with
the frame that proves it."""


def _one(rule: Rule, frame: int | None) -> list[Deduction]:
    return [] if frame is None else [rule.at(frame)]


def seat_belt(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """From the first motion to the final stop the belt stays buckled: the first frame it is
    not (unbuckling after the car has come to its final stop is getting out, not driving)."""
    start = facts.first_motion
    if start is None:
        return []
    stops = facts.stationary
    end = stops[-1][0] if stops and stops[-1][1] == facts.n and stops[-1][0] > start else facts.n
    for a, b in facts.bit_runs(BELT, on=False):
        if b > start and a < end:
            return _one(rule, max(a, start))
    return []


def monitoring_off(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """Audio/video monitoring off for more than ``max_ms``: the frame the limit is passed."""
    limit = rule.param("max_ms")
    for a, b in facts.bit_runs(CAMERA_OK, on=False):
        frame = facts.first_over(a, b, limit)
        if frame is not None:
            return _one(rule, frame)
    return []


def start_in_gear(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """The starter turned while a gear is engaged: the first such frame."""
    gear = facts.track.gear
    for a, b in facts.bit_runs(STARTER):
        for i in range(a, b):
            if gear[i] not in NOT_IN_GEAR:
                return _one(rule, i)
    return []


def starter_held(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """The starter still held more than ``max_ms`` after the engine runs, per occurrence."""
    limit = rule.param("max_ms")
    running = facts.engine_running
    out = []
    for a, b in facts.bit_runs(STARTER):
        for ra, rb in runs_of(running[a:b]):
            frame = facts.first_over(a + ra, a + rb, limit)
            if frame is not None:
                out.append(rule.at(frame))
    return out


def rollbacks(facts: TrackFacts, rule: Rule) -> list[tuple[int, int, int]]:
    """The roll-back episodes a rule judges.

    Method 1 (``ga1026-2017/1``): every episode.  Method 2: only those of starting off, as the
    table's rows say (起步时后溜): the episode begins from a standstill, before the engine is
    switched off for the last time (a car rolling once parked at the end is not starting off;
    one rolling after a stall, to be restarted, is).
    """
    if rule.method == 1:
        return facts.rollbacks
    last = facts.last_running
    return [e for e in facts.rollbacks if e[0] <= last and facts.standing_before(e[0])]


def rollback_over(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """Rolls back more than ``max_mm``: the first frame beyond the limit, per episode."""
    limit = rule.param("max_mm")
    odo = facts.track.odo
    out = []
    for a, b, peak in rollbacks(facts, rule):
        for i in range(a, b):
            if peak - odo[i] > limit:
                out.append(rule.at(i))
                break
    return out


def rollback_within(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """Rolls back at most ``max_mm`` (method 1: and at least ``min_mm``; the table has no lower
    bound, so method 2 has none): the frame of the furthest roll, per episode."""
    low, high = rule.param("min_mm") if rule.method == 1 else 1, rule.param("max_mm")
    odo = facts.track.odo
    out = []
    for a, b, peak in rollbacks(facts, rule):
        lowest = min(range(a, b), key=lambda i: (odo[i], i))
        if low <= peak - odo[lowest] <= high:
            out.append(rule.at(lowest))
    return out


def stall(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """The engine stops while a gear is engaged: each frame where it stops."""
    gear = facts.track.gear
    stops = [b for _, b in runs_of(facts.engine_running) if b < facts.n]
    return [rule.at(i) for i in stops if i > 0 and gear[i] not in NOT_IN_GEAR]


def coasting(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """In neutral at ``min_speed_mm_s`` or more for ``min_ms`` or more: once, where reached."""
    fast, limit = rule.param("min_speed_mm_s"), rule.param("min_ms")
    speed = facts.track.speed
    for a, b, g in facts.gear_runs:
        if g != GEAR_NEUTRAL:
            continue
        for s, e in runs_of([v >= fast or v <= -fast for v in speed[a:b]]):
            frame = facts.first_reaching(a + s, a + e, limit)
            if frame is not None:
                return _one(rule, frame)
    return []


def gear_mismatch_long(facts: TrackFacts, rule: Rule) -> list[Deduction]:
    """Driven in a gear that does not match the speed (outside the gear's band, clutch up)
    for more than ``max_ms``: once, where the limit is passed."""
    limit = rule.param("max_ms")
    for a, b in facts.gear_mismatch:
        frame = facts.first_over(a, b, limit)
        if frame is not None:
            return _one(rule, frame)
    return []


RULE_FUNCTIONS: dict[str, GeneralRuleFunction] = {
    "10101": seat_belt,
    "X10102": monitoring_off,
    "X10103": start_in_gear,
    "X10104": starter_held,
    "10105": rollback_over,
    "10202": rollback_within,
    "10210": stall,
    "X10106": coasting,
    "X10107": gear_mismatch_long,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {"10105": 2, "10202": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""
