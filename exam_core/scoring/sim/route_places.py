"""The places of the 科目三 route the scripted candidate must treat specially after the U-turn:
a sharp bend at night (alternating beams before it) and the yellow grid and no-stopping area
it must not stop on.

A clean run drives through all three; the faults stop on the yellow grid (X30121) or in the
no-stopping area (X30122), their near misses stop with the front bumper 30 cm short of it.  A
route map without these zones (before ``k3-route-a/3``) is driven as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exam_core.scoring.sim import route_cab
from exam_core.scoring.sim.route_driver import SLOW

if TYPE_CHECKING:
    from exam_core.scoring.sim.route_steps import RouteSteps

STOPS = (("X30121", "yellow_grid"), ("X30122", "no_stopping"))


def night_bend(script: RouteSteps) -> None:
    """At night, flash the high beam twice (on 0.4 s, off 0.4 s) starting ``bend_flash_lead_s``
    (3 s) before the bend, unless ``flash_at_bends`` is off (X30117 at a bend, marked
    ``X30117@bend``)."""
    zone = script.zones.get("bend")
    if zone is None:
        return
    drv, car, cruise = script.drv, script.car, script.cruise
    lead = script.bend_flash_lead_s
    car.to(zone.start - cruise * lead, cruise, v_end=cruise)
    if script.night and script.flash_at_bends:
        route_cab.flash_high_beam(script, 2)
    a = drv.frame
    car.to(zone.end + 1_000, cruise, v_end=cruise)
    drv.mark("X30117@bend", a + round(lead * 10) - 2, a + round(lead * 10) + 2)


def stops(script: RouteSteps) -> None:
    """Stop on the yellow grid or in the no-stopping area if asked (or just short of it), for
    2 s, then drive on."""
    drv, car = script.drv, script.car
    for code, item in STOPS:
        zone = script.zones.get(item)
        if zone is None or code not in script.both:
            continue
        car.to(zone.start - 60_000, script.cruise)
        # the pose point is the rear axle: the front bumper is 3.6 m ahead of it
        front = script.vehicle.front
        stop_s = zone.start - front + (1_000 if code in script.trig else -300)
        car.stop_at(stop_s, SLOW)
        drv.mark(code, drv.frame - 3, drv.frame + 20)
        drv.hold(2000)
        car.to(zone.end + 5_000, SLOW, v_end=SLOW)
