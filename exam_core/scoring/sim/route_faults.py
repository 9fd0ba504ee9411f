"""Excursions of the scripted 科目三 candidate that exist only to commit a fault (or just miss it).

A clean run never takes them; each is a step of ``RouteScript.run`` that returns at once unless
its rule code (or ``CODE:near``) was asked for, and then drives a stretch of the route between
two items where nothing else is judged, leaving the car where the clean run would be.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from exam_core.scoring.sim.sim_car import Driver, Pt
from exam_core.scoring.telemetry import GEAR_REVERSE

if TYPE_CHECKING:
    from exam_core.scoring.sim.route_steps import RouteSteps


def speeding_burst(script: RouteSteps) -> None:
    """X30101: above the road's limit (50 km/h) for 2.1 s (or 1.9 s).

    At 52 km/h at once for 21 (19) frames, then a first firm step down to 47.9 km/h (below the
    limit whatever the sensor noise), then back to cruising at the usual rate.
    """
    drv, car = script.drv, script.car
    if "X30101" not in script.both:
        return
    car.to(car.s + 100_000, script.cruise)
    a = drv.frame
    ms = 2100 if "X30101" in script.trig else 1900
    car.to(car.s + 14_500 * ms / 1000 - 100, 14_500, v_end=14_500, accel=1e6)
    car.to(car.s + 1_330, 13_300, v_end=13_300, decel=1e6)
    car.to(car.s + 10_000, script.cruise)
    drv.mark("X30101", a + 19, a + 21)


def centre_line_excursion(script: RouteSteps) -> None:
    """X30102: out to the left lane and the body over (or just short of) the centre line."""
    drv, car, cruise = script.drv, script.car, script.cruise
    if "X30102" not in script.both:
        return
    car.to(car.s + 100_000, cruise)
    script.change_lane(1)
    car.to(car.s + 60_000, cruise)
    script.change_lane(2)
    a = drv.frame
    car.to(car.s + 40_000, cruise, d=script.amt("X30102", 9800, 9500))
    car.to(car.s + 40_000, cruise)
    drv.mark("X30102", a, drv.frame)
    car.to(car.s + 40_000, cruise, d=8750)
    script.change_lane(1)
    car.to(car.s + 60_000, cruise)
    script.change_lane(0)


def wrong_gear(script: RouteSteps) -> None:
    """X10107 / X30107: 40 km/h in first gear for 15.5 s (14.5) or 5.5 s (4.5), then the
    gearbox is let change up again."""
    drv, car = script.drv, script.car
    code = next((c for c in ("X10107", "X30107") if c in script.both), None)
    if code is None:
        return
    ms = script.amt(code, 15_500, 14_500) if code == "X10107" else script.amt(code, 5_500, 4_500)
    car.to(car.s + 50_000, script.cruise)
    drv.auto_gear, drv.gear = False, 1
    a = drv.frame
    car.to(car.s + script.cruise * ms / 1000 - 100, script.cruise)
    drv.auto_gear = True
    limit = 150 if code == "X10107" else 50
    drv.mark(code, a + limit - 1, a + limit + 1)


def jerky_braking(script: RouteSteps) -> None:
    """X30108: braking from 40 to 18 km/h at 5 m/s² (3.8 m/s² for the near miss)."""
    drv, car = script.drv, script.car
    if "X30108" not in script.both:
        return
    car.to(car.s + 50_000, script.cruise)
    a = drv.frame
    car.to(car.s + 40_000, 5000, decel=script.amt("X30108", 5000, 3800))
    drv.mark("X30108", a + 7, a + 11)
    car.to(car.s + 40_000, script.cruise)


def straddling(script: RouteSteps) -> None:
    """X30109: over the divider of lanes 0 and 1 for 10.5 s (9.5 s).

    Moving across over 20 m at 40 km/h the body reaches the divider some 1.25 s before the
    car is centred on it, and leaves it as long after moving back: the hold is the rest.
    """
    drv, car, cruise = script.drv, script.car, script.cruise
    ms = script.amt("X30109", 10_500, 9_500)
    if not ms:
        return
    car.to(script.zones["straight"].end + 5_000, cruise)
    a = drv.frame
    car.to(car.s + 20_000, cruise, d=3_500)
    car.to(car.s + cruise * (ms - 2_500) / 1000, cruise)
    car.to(car.s + 20_000, cruise, d=1_750)
    drv.mark("X30109", a + 103, a + 108)


def _turn_round(script: RouteSteps, s0: float, leftwards: float) -> list[Pt]:
    """A half circle of radius 6 m turning left, from (s0, d) in the route's own terms;
    ``leftwards`` is +1 facing along the route and -1 facing against it."""
    r, d0 = 6_000.0, script.car.d
    pts = []
    for k in range(37):
        phi = math.radians(5 * k)
        s = s0 + leftwards * r * math.sin(phi)
        d = d0 + leftwards * (r - r * math.cos(phi))
        pts.append(script.path.point(s, d))
    return pts


def turning_round(script: RouteSteps) -> None:
    """X30110: a U-turn between the overtaking section and the U-turn zone, 20 m back against
    the road, and a second one to go on; the near miss backs up 10 m in reverse instead."""
    drv, car = script.drv, script.car
    if "X30110" not in script.both:
        return
    car.to(script.zones["overtaking"].end + 100_000, script.cruise)
    car.to(car.s + 40_000, 3_000, v_end=3_000)
    s0 = car.s
    if "X30110" in script.near:
        car.stop_at(s0 + 10_000, 3_000)
        drv.hold(1000)
        drv.auto_gear, drv.gear = False, GEAR_REVERSE
        back = [script.path.point(s0 + 10_000 - 500 * k, car.d) for k in range(21)]
        drv.follow(back, 1_500, reverse=True)
        drv.hold(1000)
        drv.gear, drv.auto_gear = 1, True
        car.s = s0
        return
    road = script.path.heading(s0)
    turned: list[int] = []

    def watch(d: Driver) -> None:
        rel = abs((d.heading - road + math.pi) % (2 * math.pi) - math.pi)
        if not turned and rel >= math.radians(135):
            turned.append(d.frame)

    drv.follow(_turn_round(script, s0, 1), 3_000, v_end=3_000, on_step=watch)
    d_back = car.d + 12_000
    drv.follow([script.path.point(s0 - 1_000 * k, d_back) for k in range(21)], 3_000, v_end=3_000)
    car.d = d_back
    drv.follow(_turn_round(script, s0 - 20_000, -1), 3_000, v_end=3_000)
    car.s, car.d = s0 - 20_000, d_back - 12_000
    drv.mark("X30110", turned[0] - 1, turned[0] + 1)
