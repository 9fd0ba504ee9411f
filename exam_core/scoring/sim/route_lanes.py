"""Steps of the scripted 科目三 candidate that move between lanes: 变更车道, 会车, the left turn
from the leftmost lane, 超车.

Each step is called by ``RouteScript.run``; the faults change exactly the part they name.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.sim import route_cab
from exam_core.scoring.telemetry import INDICATOR_LEFT

if TYPE_CHECKING:
    from exam_core.scoring.sim.route_steps import RouteSteps


def lane_change_section(
    script: RouteSteps,
) -> None:
    """变更车道: out to lane 1 and back (two lanes at once, late, or not at all if asked)."""
    drv, car, cruise = script.drv, script.car, script.cruise
    zl = script.zones["lane_change"]
    car.to(zl.start, cruise)
    command = drv.frame
    drv.cab.command(cab.LANE_CHANGE)
    drv.mark("X30118", command + 199, command + 201)
    if "X30118" in script.trig:  # the command not followed: on past the section
        car.to(zl.end + 500, cruise)
        return
    if script.skip_section(zl, "X30401"):
        return
    if "X30118" in script.near:  # the lane changed some 18 s after the command
        car.to(car.s + cruise * 11, cruise)
    if "X30104" in script.both:
        drv.set(INDICATOR_LEFT, True)
        car.to(car.s + 45_000, cruise)
        a = drv.frame
        if "X30104" in script.trig:
            car.to(car.s + 60_000, cruise, d=8750)
        else:
            car.to(car.s + 40_000, cruise, d=5250)
            car.to(car.s + cruise * 3.8, cruise)
            car.to(car.s + 40_000, cruise, d=8750)
        drv.set(INDICATOR_LEFT, False)
        drv.mark("X30104", a, drv.frame)
        car.to(car.s + 20_000, cruise)
        script.change_lane(1)
        car.to(car.s + 50_000, cruise)
        script.change_lane(0)
        return
    if "X30401" in script.near:  # late: the lane line is crossed some 20 m before the end
        car.to(zl.end - 85_000, cruise)
    # X30402: no look in the left mirror; its near miss looks 4.5 s before moving over
    if "X30402" in script.near:
        drv.glance(cab.MIRROR_LEFT, 300)
        car.to(car.s + cruise * 1.6, cruise)
    skip_mirror = "X30402" in script.both
    script.change_lane(1, looks=() if skip_mirror else None)
    if skip_mirror:
        onset = script.lane_change_starts[-1]
        drv.mark("X30402", onset - 2, onset + 1)
    car.to(zl.end + 100_000, cruise)
    script.change_lane(0)


def meeting(
    script: RouteSteps,
) -> None:
    """会车: keep to the right lane and slow down (or still be in lane 1, X30902)."""
    drv, car, cruise = script.drv, script.car, script.cruise
    zm = script.zones["meeting"]
    if "X30902" in script.both:
        car.to(zm.start - 200_000, cruise)
        script.change_lane(1)
        if "X30902" in script.trig:
            car.to(zm.start + 500, cruise)
            drv.mark("X30902", drv.frame - 3, drv.frame)
            car.to(zm.start + 20_000, cruise)
        else:
            car.to(zm.start - 90_000, cruise)
        script.change_lane(0)
    script.slow_through(zm, "X30901")


def left_turn(
    script: RouteSteps,
) -> None:
    """Into the leftmost lane and left at the junction, passing left of its centre point,
    then back to the right lane (X30504: turning from the right lane goes round the point;
    the near miss turns a little right of the leftmost lane's middle)."""
    drv, car, cruise = script.drv, script.car, script.cruise
    zone = script.zones["junction_left"]
    car.to(zone.start - 400_000, cruise)
    route_cab.night_begins(script)
    car.to(zone.start - 300_000, cruise)
    if "X30504" not in script.trig:
        script.change_lane(1)
        car.to(car.s + 30_000, cruise)
        script.change_lane(2)
        if "X30504" in script.near:
            car.to(car.s + 20_000, cruise, d=8_000)
    a = drv.frame
    script.turn(zone, "X30502", INDICATOR_LEFT)
    if zone.centre is not None:
        cx, cy = zone.centre
        near = min(range(a, drv.frame), key=lambda i: math.dist(drv.truth[i], (cx, cy)))
        drv.mark("X30504", near - 3, near + 3)
    if "X30504" not in script.trig:
        car.to(car.s + 30_000, cruise)
        script.change_lane(1)
        car.to(car.s + 30_000, cruise)
        script.change_lane(0)


def overtaking(
    script: RouteSteps,
) -> None:
    """超车: out to lane 1 and back within the section (or not at all, X31001; or from
    lane 1 out to the right and back, X31002, whose near miss overtakes on the left)."""
    drv, car, cruise = script.drv, script.car, script.cruise
    zo = script.zones["overtaking"]
    if "X31002" in script.both:
        car.to(zo.start - 150_000, cruise)
        script.change_lane(1)
        car.to(zo.start + 20_000, cruise)
        script.change_lane(0 if "X31002" in script.trig else 2)
        car.to(car.s + 60_000, cruise)
        back = drv.frame
        script.change_lane(1)
        drv.mark("X31002", back, drv.frame)
        car.to(zo.end + 20_000, cruise)
        script.change_lane(0)
        return
    if script.skip_section(zo, "X31001"):
        return
    # the interior and the left mirror before pulling out (X31003: the left one only; its
    # near miss looks in the interior mirror 4.6 s before moving over)
    looks: tuple[int, ...] = (cab.MIRROR_INTERIOR, cab.MIRROR_LEFT)
    if "X31003" in script.both:
        looks = (cab.MIRROR_LEFT,)
    if "X31003" in script.near:
        drv.glance(cab.MIRROR_INTERIOR, 300)
        car.to(car.s + script.cruise * 1.6, script.cruise)
    script.change_lane(1, looks=looks)
    out = script.lane_change_starts[-1]
    drv.mark("X31003", out - 2, out + 1)
    # a look to the right at the overtaken car (X31004: none; its near miss looks just
    # before moving back)
    if "X31004" not in script.both:
        drv.glance(cab.HEAD_RIGHT, 600, after_ms=2000)
    # back in the right lane some 20 m before the end of the section for a near miss
    car.to(zo.end - 85_000 if "X31001" in script.near else car.s + 100_000, cruise)
    if "X31004" in script.near:
        drv.glance(cab.HEAD_RIGHT, 300)
    script.change_lane(0)
    back = script.lane_change_starts[-1]
    drv.mark("X31004", back - 2, back + 1)
