"""The scripted 科目二 candidate on the shipped field ``k2-field-a``, clean or with faults.

Every fault of the rule table has a trigger and a near miss here; the geometry of the clean run
(arcs into the bays, the S-curve, the right-angle turn) is worked out for that field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.course import FieldCourse
from exam_core.scoring.geometry import VehicleDims, body_corners
from exam_core.scoring.sim.sim_car import Driver, Noise, Pt, SimRun, amount, arc, line, parse_faults
from exam_core.scoring.telemetry import (
    BELT,
    BRAKE_PEDAL,
    GEAR_NEUTRAL,
    GEAR_REVERSE,
    INDICATOR_LEFT,
    PARKING_BRAKE,
    WIPER,
)


def simulate_field(
    course: FieldCourse, seed: int, faults: Iterable[str] = (), noise: Noise | None = None
) -> SimRun:
    """Drive the shipped 科目二 field (``k2-field-a``) cleanly or with the given faults.

    The item time limits are hit by waiting in the bay: a first run measures how long the item
    takes, and the second waits just long enough to end above (or, for a near miss, below) it.
    """
    faults = tuple(faults)
    trig, near = parse_faults(faults)
    run, _ = _field_script(course, seed, faults, noise, rp_hold=2000, pp_hold=2000)
    holds = {"X20106": 2000, "X20404": 2000}
    for code, item in (("X20106", 0), ("X20404", 2)):
        if code in trig | near:
            rule_ms = 210_000 if code == "X20106" else 90_000
            target = rule_ms + (500 if code in trig else -500)
            _, durations = _field_script(course, seed, faults, noise, rp_hold=2000, pp_hold=2000)
            holds[code] = 2000 + target - durations[item][1]
    run, durations = _field_script(
        course, seed, faults, noise, rp_hold=holds["X20106"], pp_hold=holds["X20404"]
    )
    for code, item, rule_ms in (("X20106", 0, 210_000), ("X20404", 2, 90_000)):
        if code in trig:
            a = durations[item][0]
            run.expected[code] = (a + rule_ms // 100 - 2, a + rule_ms // 100 + 2)
    # rules decided when the car leaves an item: around the frame it really left the zone
    for code, item in (("20103", 0), ("X20307", 1), ("X20407", 2)):
        if code in trig:
            first, spent = durations[item]
            left = first + spent // 100
            run.expected[code] = (left - 2, left + 1)
    return run


def s_bend(start: Pt, shift: float, radius: float, *, backwards: bool) -> list[Pt]:
    """Two opposite arcs that move the car sideways by ``shift`` and end at the same heading.

    Backwards: reversing west and to the right (into a bay); forwards: driving east and to the
    left (out of it).
    """
    alpha = math.degrees(math.acos(1 - shift / (2 * radius)))
    x0, y0 = start
    if backwards:
        c1 = (x0, y0 - radius)
        first = arc(c1, radius, 90, 90 + alpha)
        ix, iy = first[-1]
        c2 = (2 * ix - c1[0], 2 * iy - c1[1])
        return first + arc(c2, radius, 270 + alpha, 270)[1:]
    c1 = (x0, y0 + radius)
    first = arc(c1, radius, -90, -90 + alpha)
    ix, iy = first[-1]
    c2 = (2 * ix - c1[0], 2 * iy - c1[1])
    return first + arc(c2, radius, 90 + alpha, 90)[1:]


def _hill(drv: Driver, faults: tuple[set[str], set[str]], stop_x: float, shift: float) -> None:
    """Stop at the pole, wait, and start off up the hill (with roll-back, stall, … if asked)."""
    trig, near = faults
    both = trig | near

    def amt(code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        return amount(code, faults, hit, miss, clean)

    stop = drv.frame
    drv.mark("20301", stop)
    drv.mark("20303", stop)
    drv.mark("20304", stop)
    drv.mark("X20305", stop)
    drv.mark("X20306", stop - 150, stop + 200)
    drv.set(PARKING_BRAKE, "X20308" not in both)
    wait = round(amt("20302", 30500, 29500, 3000))
    if "10210" in both:
        drv.hold(1000)
        if "10210" in near:
            drv.gear = GEAR_NEUTRAL
        drv.stall("10210")
        drv.gear = 1
    if "X20308" in near:  # the parking brake, late but before moving off
        drv.hold(wait - 500)
        drv.set(PARKING_BRAKE, True)
        drv.hold(500)
    else:
        drv.hold(wait)
    drv.mark("20302", stop + 300)
    drv.mark("X20308", drv.frame - 1, drv.frame + 1)
    drv.set(PARKING_BRAKE, False)
    roll = amt("10105", 310, 290) + amt("10202", 110, 0)
    if roll:
        a = drv.frame
        drv.roll_back(roll)
        drv.mark("10105", a + 10)  # 30 mm a frame: beyond 300 mm on the eleventh
        drv.mark("10202", drv.frame - 1)
        drv.hold(300)
    if "10101" in trig:
        drv.set(BELT, False)
        drv.mark("10101", drv.frame)
        drv.hold(200)
        drv.set(BELT, True)
    here = (drv.x, drv.y)
    # on to 侧方停车; a wheel on the road's edge line between the items if asked (X20003)
    off = amt("X20003", 1100, 850)
    if not off:
        drv.follow([here, (64000, shift), (70000, 0), (77000, 0)], 2000, v_end=2000)
        return
    # over to the left well before the end of the item (its lines are not the road's), along
    # the gap between the items, and back right once in the next one
    gap = (64000, off), (79500, off), (84000, 0)
    drv.follow([here, *gap], 2000, v_end=2000)
    truth = drv.truth
    between = [i for i in range(len(truth)) if 75000 <= truth[i][0] <= 80000]
    drv.mark("X20003", between[0], between[-1])


DIVIDER_X = 157500
"""The lane divider of the exit road north of 直角转弯 (``k2-field-a/3``)."""


def _straddle_divider(drv: Driver, trig: bool, dims: VehicleDims) -> None:
    """X20004: north along the exit road straddling its lane divider for about 11.5 s (near
    miss 8.5 s: the limit is 10 s), then back into the left lane."""
    straddle_mm = 1500 * (11.5 if trig else 8.5) - 6000
    y0 = drv.y + 4000
    a = drv.frame
    drv.follow(
        [
            (drv.x, drv.y),
            (drv.x, y0),
            (DIVIDER_X, y0 + 3000),
            (DIVIDER_X, y0 + 3000 + straddle_mm),
            (155000, y0 + 6000 + straddle_mm),
            (155000, y0 + 10000 + straddle_mm),
        ],
        1500,
        v_end=1500,
    )
    # the first frame the true body reaches across the divider; the limit falls 100 frames on
    first = next(
        i
        for i in range(a, drv.frame)
        if _spans(drv.truth[i], drv.frames[i].heading, dims, DIVIDER_X)
    )
    drv.mark("X20004", first + 98, first + 102)


def _spans(at: Pt, heading: int, dims: VehicleDims, x: int) -> bool:
    xs = [p[0] for p in body_corners(round(at[0]), round(at[1]), heading, dims)]
    return min(xs) < x < max(xs)


def _cab_faults(drv: Driver, faults: tuple[set[str], set[str]]) -> None:
    """Before the first leg, standing: the wipers on command (X10114), two failed gear
    engagements (X10113); then, 3 s into the first leg, eyes, hands, body, gear lever and both
    pedals (X10108–X10112), each just over (or under) its limit."""
    trig, near = faults
    both = trig | near
    if "X10114" in both:
        prompt = drv.frame
        drv.cab.command(cab.WIPERS_ON)
        drv.hold(6000 if "X10114" in trig else 4500)
        drv.set(WIPER, "X10114" in near)
        drv.hold(1000)
        drv.set(WIPER, False)
        drv.mark("X10114", prompt + 49, prompt + 51)
    if "X10113" in both:
        outcomes = (False, False) if "X10113" in trig else (False, True, False)
        second = 0
        for n, ok in enumerate(outcomes):
            drv.gear, drv.cab.engaged = GEAR_NEUTRAL, None
            drv.hold(500)
            drv.gear, drv.cab.engaged = 1, None if ok else GEAR_NEUTRAL
            second = drv.frame if n == 1 else second
            drv.hold(1500)
        drv.cab.engaged = None
        drv.mark("X10113", second + 9, second + 11)
    moving_in = drv.frame + 30
    for code, bits, hit, miss in (
        ("X10108", cab.EYES_OFF_ROAD, 2100, 1900),
        ("X10109", cab.HANDS_OFF_WHEEL, 1100, 900),
        ("X10110", cab.BODY_OUT_OF_WINDOW, 600, 400),
        ("X10111", cab.LOOKING_AT_GEAR_LEVER, 600, 400),
    ):
        if code in both:
            drv.glance(bits, hit if code in trig else miss, after_ms=3000)
            limit = (hit + miss) // 200
            drv.mark(code, moving_in + limit - 1, moving_in + limit + 1)
    if "X10112" in both:
        drv.cab.accel = 300
        drv.switch_at(BRAKE_PEDAL, True, 3000)
        drv.switch_at(BRAKE_PEDAL, False, 3600 if "X10112" in trig else 3400)
        drv.mark("X10112", moving_in + 4, moving_in + 6)


def _first_leg(drv: Driver, faults: tuple[set[str], set[str]], stop_x: float) -> None:
    """From the start to the stop before reversing into the bay; above the field's speed limit
    for 2.1 s (1.9 s) if asked (X20002), or in third gear for 15.5 s (14.5 s) (X10107)."""
    trig, near = faults
    if "X20002" in trig | near:
        drv.follow(line((0, 0), (5000, 0)), 2000, v_end=2000)
        a = drv.frame
        ms = 2100 if "X20002" in trig else 1900
        end = 5000 + 4500 * ms / 1000 - 100
        drv.follow(line((5000, 0), (end, 0)), 4500, v_end=4500, accel=1e6)
        drv.follow(line((end, 0), (stop_x, 0)), 2000, decel=1e6)
        drv.mark("X20002", a + 19, a + 21)
        return
    if "X10107" in trig | near:
        drv.gear = 3
        a = drv.frame
        third = 22000 if "X10107" in trig else 20500
        drv.follow(line((0, 0), (third, 0)), 1500, v_end=1500)
        drv.gear = 1
        drv.follow(line((third, 0), (stop_x, 0)), 1500)
        drv.mark("X10107", a + 148, a + 152)
        return
    drv.follow(line((0, 0), (stop_x, 0)), 2000)


def _zone_times(course: FieldCourse, truth: list[Pt]) -> list[tuple[int, int]]:
    """(first frame in, time spent in ms) of each item zone, from the true positions."""
    out = []
    for item in course.items:
        xs = [p[0] for p in item.zone]
        ys = [p[1] for p in item.zone]
        inside = [min(xs) < x < max(xs) and min(ys) < y < max(ys) for x, y in truth]
        first = inside.index(True) if True in inside else 0
        last = first
        while last < len(inside) and inside[last]:
            last += 1
        out.append((first, (last - first) * 100))
    return out


def _field_script(
    course: FieldCourse,
    seed: int,
    faults: Sequence[str],
    noise: Noise | None,
    *,
    rp_hold: int,
    pp_hold: int,
) -> tuple[SimRun, list[tuple[int, int]]]:
    trig, near = parse_faults(faults)
    drv = Driver(seed, noise or Noise())
    both = trig | near

    def amt(code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        return amount(code, (trig, near), hit, miss, clean)

    # Before the start: belt, monitoring, parking brake, neutral.
    if "10101" in near:
        drv.set(BELT, False)
    if "X10102" in both:
        drv.hold(500)
        drv.camera_outage("X10102", 5100 if "X10102" in trig else 4900)
    drv.hold(1000)
    gear_at_start = 1 if "X10103" in trig else GEAR_NEUTRAL
    held = round(amt("X10104", 2100, 1900, 800))
    a = drv.frame
    drv.start_engine(held_ms=held, gear=gear_at_start)
    drv.mark("X10103", a)
    drv.mark("X10104", a + 3 + 20)
    drv.gear = 1 if "X10103" in near else GEAR_NEUTRAL
    drv.hold(1000)
    drv.gear = 1
    drv.set(PARKING_BRAKE, False)
    if "10101" in near:
        drv.set(BELT, True)
    drv.hold(500)

    # 倒车入库
    if "20101" in both:
        drv.follow(line((0, 0), (14500, 0)), 2000)
        drv.hold(500)
        end_y = -6750 if "20101" in trig else -6000
        pts = [*arc((14500, -5500), 5500, 90, 0), (20000, -5500), (20000, end_y)]
        a = drv.frame
        drv.follow(pts, 1000)
        drv.mark("20101", a, drv.frame)
        drv.hold(1000)
        return SimRun(drv.frames, drv.marks), _zone_times(course, drv.truth)
    stop_x = amt("X20105", 24500, 24900, 25500) + amt("20102", -400, -200, 0)
    _cab_faults(drv, (trig, near))
    _first_leg(drv, (trig, near), stop_x)
    drv.cab.accel = None
    drv.hold(1000)
    drv.gear = GEAR_REVERSE
    cx = stop_x
    depth = -9450 + amt("20103", 400, 250, 0)
    a = drv.frame
    drv.follow(arc((cx, -5500), 5500, 90, 180), 800, reverse=True)
    drv.mark("X20105", a, a + 5)
    if "20104" in both:
        b = drv.frame
        drv.hold(2100 if "20104" in trig else 1900)
        drv.mark("20104", b + 20)
    drv.follow(line((cx - 5500, -5500), (cx - 5500, depth)), 800, reverse=True)
    drv.mark("20102", a, drv.frame)
    drv.hold(rp_hold)
    drv.gear = 1
    drv.hold(500)
    drv.follow(
        line((cx - 5500, depth), (cx - 5500, -5500)) + arc((cx, -5500), 5500, 180, 90)[1:], 1200
    )
    drv.mark("20103", a, drv.frame + 400)
    if "X20001" in trig:
        drv.mark("X20001", drv.frame - 1)
        return SimRun(drv.frames, drv.marks), _zone_times(course, drv.truth)

    # 坡道定点停车和起步
    shift = amt("20304", 200, 50) + amt("X20305", 350, 250) + amt("X20306", -300, -150)
    stop_x = 56400 - amt("20301", 550, 450) - amt("20303", 300, 50)
    if "X20307" in trig:
        a = drv.frame
        drv.follow([*line((cx, 0), (42000, 0)), (77000, 0)], 2000, v_end=2000)
        drv.mark("X20307", a, drv.frame)
    else:
        drv.follow([*line((cx, 0), (42000, 0)), (48000, shift), (stop_x, shift)], 2000)
        _hill(drv, (trig, near), stop_x, shift)

    # 侧方停车 (coasting in neutral on the way in, if asked)
    if "X10106" in both:
        drv.gear = GEAR_NEUTRAL
        a = drv.frame
        ms = 3100 if "X10106" in trig else 2900
        drv.follow(line((77000, 0), (77000 + ms * 2, 0)), 2000, v_end=2000, accel=1)
        drv.mark("X10106", a + 29)
        drv.gear = 1
    radius = 5000.0
    sink = amt("20401", 500, 300) + amt("X20405", 500, 300)
    entry = s_bend((0.0, 0.0), 3050 + sink, radius, backwards=True)
    xs = 93300 - entry[-1][0]
    entry = [(x + xs, y) for x, y in entry]
    drv.follow(line((drv.x, 0), (xs, 0)), 2000)
    drv.hold(1000)
    drv.gear = GEAR_REVERSE
    if "X20407" in trig:
        drv.follow(line((xs, 0), (96000, 0)), 800, reverse=True)
        drv.hold(1000)
        drv.gear = 1
        drv.follow(line((96000, 0), (116000, 0)), 2000, v_end=2000)
        drv.mark("X20407", drv.frame - 200, drv.frame)
    else:
        a = drv.frame
        half = len(entry) // 2
        drv.follow(entry[: half + 1], 700, reverse=True)
        if "20402" in both:
            b = drv.frame
            drv.hold(2100 if "20402" in trig else 1900)
            drv.mark("20402", b + 20)
        drv.follow(entry[half:], 700, reverse=True)
        park = drv.frame
        drv.mark("20401", park)
        drv.mark("X20405", a, park)
        drv.hold(pp_hold)
        drv.gear = 1
        signal_ms = round(amt("X20406", 2900, 3100, 3500))
        drv.set(INDICATOR_LEFT, True)
        drv.hold(signal_ms)
        drv.mark("X20406", drv.frame)
        wide = amt("20403", 450, 150)
        leave = s_bend(entry[-1], 3050 + sink + wide, radius, backwards=False)
        a = drv.frame
        drv.follow([*leave, (leave[-1][0] + 3000, wide)], 1200, v_end=1200)
        drv.set(INDICATOR_LEFT, False)
        drv.follow([(drv.x, drv.y), (drv.x + 8000, 0), (116000, 0)], 2000, v_end=2000)
        drv.mark("20403", a, drv.frame)

    # 曲线行驶
    dy = amt("20601", -1000, -300)
    a = drv.frame
    s_pts: list[Pt] = [(116000, dy), (120000, dy)]
    s_pts += arc((120000, 7500 + dy), 7500, -90, 90)[1:]
    if "20602" in both:
        drv.follow(s_pts, 1800)
        b = drv.frame
        drv.hold(2100 if "20602" in trig else 1900)
        drv.mark("20602", b + 20)
        s_pts = [s_pts[-1]]
    s_pts += [*arc((120000, 22500 + dy), 7500, 270, 90)[1:], (141000, 30000 + dy), (146000, 30000)]
    drv.follow(s_pts, 1800, v_end=1500)
    drv.mark("20601", a, drv.frame)

    # 直角转弯
    off = amt("20701", 150, 40)
    ind_x = amt("X20703", 150300, 149700, 147000)
    r = 3500
    pts = [(drv.x, drv.y), (ind_x, 30000 - off)]
    drv.follow(pts, 1500, v_end=1500)
    drv.set(INDICATOR_LEFT, True)
    drv.mark("X20703", drv.frame - 5, drv.frame + 5)
    a = drv.frame
    turn = [
        (155000 - r + off, 30000 - off),
        *arc((155000 - r + off, 30000 + r - off), r, -90, 0)[1:],
    ]
    if "20702" in both:
        drv.follow([(drv.x, drv.y), *turn], 1500)
        b = drv.frame
        drv.hold(2100 if "20702" in trig else 1900)
        drv.mark("20702", b + 20)
        turn = [turn[-1]]
    # the indicator goes off 4 m after the signal zone (y = 36 m), or 5.2 s (4.8 s) after it
    # if asked (X20704)
    keep = round(amt("X20704", 5200, 4800)) // 100
    left_zone: list[int] = []

    def cancel(d: Driver) -> None:
        if not left_zone and d.y > 36000:
            left_zone.append(d.frame)
        if keep and left_zone and d.frame - left_zone[0] >= keep:
            d.set(INDICATOR_LEFT, False)

    drv.follow([(drv.x, drv.y), *turn, (155000 + off, 40000)], 1500, v_end=1500, on_step=cancel)
    if not keep:
        drv.set(INDICATOR_LEFT, False)
    drv.mark("20701", a, drv.frame)
    drv.follow(line((drv.x, drv.y), (155000 + off, 52000)), 1500, on_step=cancel)
    drv.set(INDICATOR_LEFT, False)
    if keep:
        drv.mark("X20704", left_zone[0] + 48, left_zone[0] + 52)
    if "X20004" in both:
        _straddle_divider(drv, "X20004" in trig, course.vehicle)
    drv.set(PARKING_BRAKE, True)
    drv.gear = GEAR_NEUTRAL
    drv.hold(1000)
    drv.engine = False
    drv.hold(1000)
    if "10202" in near:  # parked, engine off: rolling now is not starting off
        drv.roll_back(110)
        drv.hold(1000)
    return SimRun(drv.frames, drv.marks), _zone_times(course, drv.truth)
