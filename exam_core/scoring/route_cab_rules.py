"""科目三 rules decided from telemetry v2 along the route: the checks the candidate must make
(mirrors, head turns) before each manoeuvre and at each zone, the clutch and the gearbox, the
light simulation, the gear-change item, night driving and the spoken commands.

A "look" is an observation of the in-cab camera (``cab_inputs``) seen on at least one frame in
the ``window_ms`` before the moment it must precede.  These rules read the columns only a
version 2 track has (``TELEMETRY``).
"""

from __future__ import annotations

import itertools

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.facts import change_points, runs_of
from exam_core.scoring.result import Deduction
from exam_core.scoring.route_scene import RouteRuleFunction, RouteScene
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import (
    DIPPED_BEAM,
    DOOR_OPEN,
    GEAR_NEUTRAL,
    GEAR_PARK,
    HAZARD,
    HIGH_BEAM,
    SIDE_LIGHTS,
)

HEADLIGHTS = DIPPED_BEAM | HIGH_BEAM
LIGHTS = HEADLIGHTS | SIDE_LIGHTS | HAZARD


def seen(scene: RouteScene, bits: int, frame: int, window_ms: int) -> bool:
    """The camera saw any of ``bits`` in the ``window_ms`` up to ``frame``."""
    vision = scene.facts.track.vision
    first = max(0, frame - scene.facts.frames_in(window_ms))
    return any(vision[i] & bits for i in range(first, frame + 1))


def _looks(scene: RouteScene, rule: Rule, frame: int, *needs: int) -> list[Deduction]:
    """Deduct at ``frame`` unless each of ``needs`` (any of its bits) was seen before it."""
    window = rule.param("window_ms")
    return [] if all(seen(scene, bits, frame, window) for bits in needs) else [rule.at(frame)]


def start_off_look(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """起步: a mirror and a head turn to the left before the car first moves."""
    first = scene.facts.first_motion
    if first is None:
        return []
    return _looks(scene, rule, first, cab.MIRRORS, cab.HEAD_LEFT)


def lane_change_mirror(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """变更车道: the exterior mirror on the side of the new lane before each lane change's
    sideways movement starts."""
    out = []
    for onset, _, a, b in scene.lane_change_onsets:
        mirror = cab.MIRROR_LEFT if b > a else cab.MIRROR_RIGHT
        out += _looks(scene, rule, onset, mirror)
    return out


def pull_over_look(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """靠边停车: the right or interior mirror and a head turn to the right before moving over
    to the edge."""
    out = []
    for onset, _ in scene.pull_over_onsets:
        out += _looks(scene, rule, onset, cab.MIRROR_RIGHT | cab.MIRROR_INTERIOR, cab.HEAD_RIGHT)
    return out


def door_glance(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """靠边停车: a look back (over the left shoulder) before a door is first opened after the
    stop."""
    sig = scene.facts.track.signals
    out = []
    for _, stop in scene.pull_over_onsets:
        door = next((i for i in range(stop, scene.facts.n) if sig[i] & DOOR_OPEN), None)
        if door is not None:
            out += _looks(scene, rule, door, cab.HEAD_LEFT | cab.HEAD_BACK)
    return out


def _overtaking_changes(scene: RouteScene, w: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    return [c for c in scene.lane_change_onsets if w[0] <= c[1] < w[1]]


def overtake_mirrors(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """超车: the interior and the left mirror before pulling out to the left."""
    out = []
    for w in scene.windows(rule.item):
        out_left = next((c for c in _overtaking_changes(scene, w) if c[3] > c[2]), None)
        if out_left is not None:
            out += _looks(scene, rule, out_left[0], cab.MIRROR_INTERIOR, cab.MIRROR_LEFT)
    return out


def overtake_head_turn(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """超车: a head turn to the right, to watch the overtaken vehicle, between pulling out and
    moving back (deducted at the move back)."""
    vision = scene.facts.track.vision
    out = []
    for w in scene.windows(rule.item):
        changes = _overtaking_changes(scene, w)
        for out_c, back in itertools.pairwise(changes):
            if out_c[3] > out_c[2] and back[3] < back[2]:
                if not any(vision[i] & cab.HEAD_RIGHT for i in range(out_c[1], back[0] + 1)):
                    out.append(rule.at(back[0]))
                break
    return out


def left_right_check(*items: str) -> RouteRuleFunction:
    """A rule function: a head turn to the left and one to the right from ``window_ms`` before
    entering each zone of ``items`` until leaving it (deducted at the entry)."""

    def decide(scene: RouteScene, rule: Rule) -> list[Deduction]:
        vision = scene.facts.track.vision
        k = scene.facts.frames_in(rule.param("window_ms"))
        out = []
        for item in items:
            for a, b in scene.windows(item):
                span = vision[max(0, a - k) : b]
                if not (
                    any(v & cab.HEAD_LEFT for v in span) and any(v & cab.HEAD_RIGHT for v in span)
                ):
                    out.append(rule.at(a))
        return out

    return decide


def straight_mirror_gap(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """直线行驶: no look in a mirror for more than ``max_ms`` in the straight section: once per
    section, where the limit is passed."""
    vision = scene.facts.track.vision
    out = []
    for a, b in scene.windows(rule.item):
        flags = [not vision[i] & cab.MIRRORS for i in range(a, b)]
        for s, e in runs_of(flags):
            frame = scene.facts.first_over(a + s, a + e, rule.param("max_ms"))
            if frame is not None:
                out.append(rule.at(frame))
                break
    return out


def gear_clash(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The gearbox engages a gear while the clutch is less than ``min_clutch_permille`` down
    (打齿): each time, at that frame."""
    tr, low = scene.facts.track, rule.param("min_clutch_permille")
    engaged, clutch = tr.engaged, tr.clutch
    return [
        rule.at(i)
        for i in change_points(engaged)[1:]
        if engaged[i] not in (GEAR_NEUTRAL, GEAR_PARK) and clutch[i] < low
    ]


def riding_the_clutch(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The clutch held between ``low_permille`` and ``high_permille`` (slipping) while faster
    than ``min_speed_mm_s`` for more than ``max_ms`` (poor half-clutch control): each time."""
    tr = scene.facts.track
    low, high, fast = (rule.param(n) for n in ("low_permille", "high_permille", "min_speed_mm_s"))
    clutch, speed = tr.clutch, tr.speed
    # the clutch is up on most frames: only the frames where it is down at all are looked at
    flags = [False] * scene.facts.n
    for i in itertools.compress(range(len(clutch)), clutch):
        flags[i] = low <= clutch[i] <= high and speed[i] > fast
    out = []
    for a, b in runs_of(flags):
        frame = scene.facts.first_over(a, b, rule.param("max_ms"))
        if frame is not None:
            out.append(rule.at(frame))
    return out


def _commands(scene: RouteScene, wanted: frozenset[int]) -> list[tuple[int, int]]:
    return [(i, c) for i, c in scene.facts.commands if c in wanted]


def flashes(states: list[int]) -> int:
    """How many times the high beam is switched on over these signal words."""
    return sum(1 for a, b in itertools.pairwise(states) if b & HIGH_BEAM and not a & HIGH_BEAM)


def _light_answer(code: int, states: list[int]) -> bool:
    """Whether the lights over a prompt's response window answer it: the state at its end,
    or for the alternating beams the high beam flashed at least twice within it."""
    last = states[-1]
    if code == cab.NIGHT_ALTERNATE:
        return flashes(states) >= 2
    if code in (cab.LIGHTS_BEGIN, cab.NIGHT_DIPPED):
        return bool(last & DIPPED_BEAM) and not last & HIGH_BEAM
    if code == cab.NIGHT_UNLIT_ROAD:
        return bool(last & HIGH_BEAM)
    if code == cab.NIGHT_ROADSIDE_STOP:
        return last & (SIDE_LIGHTS | HAZARD) == SIDE_LIGHTS | HAZARD
    return not last & LIGHTS


def light_simulation(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """灯光模拟: each prompt answered with the right lights within ``response_ms`` (or before
    the next prompt): each wrong answer, at the end of its window."""
    sig, n = scene.facts.track.signals, scene.facts.n
    k = scene.facts.frames_in(rule.param("response_ms"))
    prompts = _commands(scene, cab.LIGHT_PROMPTS)
    out = []
    for j, (p, code) in enumerate(prompts):
        following = prompts[j + 1][0] - 1 if j + 1 < len(prompts) else n - 1
        end = min(p + k, n - 1, following)
        if not _light_answer(code, list(sig[p : end + 1])):
            out.append(rule.at(end))
    return out


def gear_change_on_command(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """加减挡: after the command, the gearbox changes up and later down within ``max_ms``:
    each command not carried out, where the time runs out."""
    engaged, n = scene.facts.track.engaged, scene.facts.n
    k = scene.facts.frames_in(rule.param("max_ms"))
    out = []
    for p, _ in _commands(scene, frozenset({cab.GEAR_CHANGE})):
        end = min(p + k, n - 1)
        span = engaged[p : end + 1]
        up = next((i for i in range(1, len(span)) if span[i] > span[i - 1] > 0), None)
        down = up is not None and any(0 < span[i] < span[i - 1] for i in range(up + 1, len(span)))
        if not down:
            out.append(rule.at(end))
    return out


def gear_change_mismatch(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """加减挡: the gear does not match the speed for more than ``max_ms`` within ``window_ms``
    of the command (a mismatch run as for X10107)."""
    facts = scene.facts
    k = facts.frames_in(rule.param("window_ms"))
    out = []
    for p, _ in _commands(scene, frozenset({cab.GEAR_CHANGE})):
        for run_start, run_end in facts.gear_mismatch:
            a, b = max(run_start, p), min(run_end, p + k)
            frame = facts.first_over(a, b, rule.param("max_ms")) if a < b else None
            if frame is not None:
                out.append(rule.at(frame))
                break
    return out


def night(scene: RouteScene) -> list[tuple[int, int]]:
    """The stretches driven at night: from each "night begins" command to the next "night
    ends" (or the end)."""
    out = []
    start: int | None = None
    for i, code in _commands(scene, frozenset({cab.NIGHT_BEGINS, cab.NIGHT_ENDS})):
        if code == cab.NIGHT_BEGINS and start is None:
            start = i
        elif code == cab.NIGHT_ENDS and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, scene.facts.n))
    return out


ALTERNATE_BEAMS_AT = {
    1: ("junction_straight", "junction_left", "junction_right", "crosswalk"),
    2: (
        "junction_straight",
        "junction_left",
        "junction_right",
        "crosswalk",
        "bend",
        "slope",
        "arch_bridge",
    ),
}
"""The zones each method of X30117 asks for alternating beams before: method 1 the crossings
only, method 2 also the sharp bends, slopes and arch bridges the research lists (route maps
from ``k3-route-a/3`` can mark them)."""


def night_beams_at_crossings(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """At night, the high beam flashed at least twice (alternating beams) in the ``window_ms``
    before entering a junction or a crosswalk (and, by method 2, a bend, slope or arch bridge):
    each one passed without, at its entry."""
    sig = scene.facts.track.signals
    k = scene.facts.frames_in(rule.param("window_ms"))
    nights = night(scene)
    out = []
    for item in ALTERNATE_BEAMS_AT[rule.method]:
        for a, _ in scene.windows(item):
            if not any(s <= a < e for s, e in nights):
                continue
            if flashes(list(sig[max(0, a - k) : a + 1])) < 2:
                out.append(rule.at(a))
    return out


def night_pull_over_lights(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """At night, pulled over: headlights off and side lights on by the time the engine stops
    or a door opens (deducted there)."""
    tr, nights = scene.facts.track, night(scene)
    running = scene.facts.engine_running
    out = []
    for _, stop in scene.pull_over_onsets:
        if not any(s <= stop < e for s, e in nights):
            continue
        leave = next(
            (i for i in range(stop, scene.facts.n) if not running[i] or tr.signals[i] & DOOR_OPEN),
            scene.facts.n - 1,
        )
        lights = tr.signals[leave]
        if lights & HEADLIGHTS or not lights & SIDE_LIGHTS:
            out.append(rule.at(leave))
    return out


def commands_followed(scene: RouteScene, rule: Rule) -> list[Deduction]:
    """The spoken command followed: a lane change within ``lane_change_ms`` of 变更车道, a stop
    within ``pull_over_mm`` driven after 靠边停车: each one not followed, where its time or
    distance runs out."""
    facts = scene.facts
    odo, n = facts.track.odo, facts.n
    out = []
    for p, code in _commands(scene, frozenset({cab.LANE_CHANGE, cab.PULL_OVER})):
        if code == cab.LANE_CHANGE:
            end = min(p + facts.frames_in(rule.param("lane_change_ms")), n - 1)
            if not any(p <= f <= end for f, _, _ in scene.lane_changes):
                out.append(rule.at(end))
            continue
        limit = odo[p] + rule.param("pull_over_mm")
        stop = next((s for s, _ in facts.stationary if s >= p), None)
        if stop is None or odo[stop] > limit:
            past = next((i for i in range(p, n) if odo[i] > limit), n - 1)
            out.append(rule.at(past))
    return out


RULE_FUNCTIONS: dict[str, RouteRuleFunction] = {
    "X30111": gear_clash,
    "X30112": riding_the_clutch,
    "X30114": light_simulation,
    "X30115": gear_change_on_command,
    "X30116": gear_change_mismatch,
    "X30117": night_beams_at_crossings,
    "X30118": commands_followed,
    "X30206": start_off_look,
    "X30303": straight_mirror_gap,
    "X30402": lane_change_mirror,
    "X30505": left_right_check("junction_straight", "junction_left", "junction_right"),
    "X30603": left_right_check("crosswalk"),
    "X30702": left_right_check("school_zone"),
    "X30802": left_right_check("bus_stop"),
    "X31003": overtake_mirrors,
    "X31004": overtake_head_turn,
    "X31209": pull_over_look,
    "X31210": door_glance,
    "X31212": night_pull_over_lights,
}
"""Rule code → the rule function that decides it."""

METHODS: dict[str, int] = {"X30117": 2}
"""The newest method of each rule decided in more than one way (the others have method 1)."""

TELEMETRY: dict[str, int] = dict.fromkeys(RULE_FUNCTIONS, 2)
"""The telemetry format version each rule needs (the others need version 1)."""
