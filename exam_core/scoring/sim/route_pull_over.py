"""The end of the scripted 科目三 candidate's exam: 靠边停车, switching off and getting out.

Each step is called by ``RouteScript.run``; the faults change exactly the part they name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.sim import route_cab
from exam_core.scoring.sim.route_driver import SLOW
from exam_core.scoring.telemetry import (
    BELT,
    BRAKE_PEDAL,
    DIPPED_BEAM,
    DOOR_OPEN,
    GEAR_NEUTRAL,
    HIGH_BEAM,
    INDICATOR_RIGHT,
    PARKING_BRAKE,
    SIDE_LIGHTS,
)

if TYPE_CHECKING:
    from exam_core.scoring.sim.route_steps import RouteSteps


def pull_over(
    script: RouteSteps,
) -> None:
    """靠边停车: signal right, close in on the edge and stop; creep, brakes, if asked."""
    drv, car, trig, near, both = script.drv, script.car, script.trig, script.near, script.both
    zp = script.zones["pull_over"]
    car.to(zp.start - 60_000, script.cruise)
    car.to(zp.start, SLOW, v_end=SLOW)
    drv.cab.command(cab.PULL_OVER)
    car.to(zp.start + 10_000, SLOW, v_end=SLOW)
    drv.set(INDICATOR_RIGHT, True)
    gap = script.amt("X31202", 550, 450) + script.amt("X31203", 400, 250) or 200.0
    stop_s = zp.start + 90_000
    if "X31201" in both:
        stop_s = zp.end + 20_000 if "X31201" in trig else zp.end - 5_000
    # the right mirror and a look to the right before moving over (X31209: no look; its
    # near miss looks some 4.5 s before)
    ahead = 16_000 if "X31209" in near else 10_000
    car.to(stop_s - 45_000 - ahead, SLOW, v_end=3600)
    drv.glance(cab.MIRROR_RIGHT, 500)
    if "X31209" not in trig:
        drv.glance(cab.HEAD_RIGHT, 500, after_ms=600)
    car.to(stop_s - 45_000, 3600, v_end=3000)
    drv.mark("X31209", drv.frame - 2, drv.frame + 2)
    # over towards the edge within 8 m, the last 20 cm over 12 m, then on to the stop
    car.to(stop_s - 37_000, 4000, d=900 + gap + 200, v_end=3000)
    car.to(stop_s - 25_000, 3000, d=900 + gap, v_end=3000)
    car.to(stop_s - 5_000, 3000, v_end=2000)
    drv.set(BRAKE_PEDAL, True)
    car.stop_at(stop_s, 2000)
    stop = drv.frame
    drv.mark("X31202", stop - 1, stop)
    drv.mark("X31203", stop - 1, stop)
    drv.hold(500)
    creep = script.amt("X31205", 150, 50)
    if creep:
        a = drv.frame
        car.stop_at(car.s + creep, 300)
        drv.mark("X31205", a, drv.frame)
        drv.hold(500)
    if "X31208" in trig:
        drv.set(BRAKE_PEDAL, False)
        drv.mark("X31208", drv.frame)
        drv.hold(500)
    brake = "X31204" not in trig
    drv.set(PARKING_BRAKE, brake and "X31204" not in near)
    if "X31208" in near:
        drv.set(BRAKE_PEDAL, False)  # in the same frame as the parking brake: not before it
    drv.hold(300)
    drv.set(BRAKE_PEDAL, False)
    drv.gear = GEAR_NEUTRAL
    drv.set(INDICATOR_RIGHT, False)
    drv.hold(1000)


def look_back(
    script: RouteSteps,
) -> None:
    """A look back over the left shoulder before opening the door (X31210: none; its near
    miss looks 4.5 s before), once."""
    drv = script.drv
    fault = script.once("X31210")
    if fault == "near":
        drv.glance(cab.HEAD_BACK, 300)
        drv.hold(4500)
    elif fault != "trig":
        drv.glance(cab.HEAD_BACK, 500)
        drv.hold(800)
    drv.mark("X31210", drv.frame - 1, drv.frame + 1)


def leave_car(
    script: RouteSteps,
) -> None:
    """Switch off and get out: belt, door with the engine running, parking brake, door."""
    drv, trig, near = script.drv, script.trig, script.near
    route_cab.night_parking_lights(script)
    if "10101" in near:
        drv.set(BELT, False)
    if "X31206" in trig:
        look_back(script)
        drv.set(DOOR_OPEN, True)
        drv.mark("X31206", drv.frame)
        drv.hold(500)
    if "X31204" in near:
        drv.set(PARKING_BRAKE, True)
    if script.late_parking_lights:
        drv.set(DIPPED_BEAM | HIGH_BEAM, False)
        drv.set(SIDE_LIGHTS, True)
    drv.mark("X31204", drv.frame)
    drv.mark("X31212", drv.frame - 1, drv.frame + 1)
    drv.engine = False
    drv.hold(100)
    drv.hold(1000)
    if "10202" in near:  # parked, engine off: rolling now is not starting off
        drv.roll_back(110)
    look_back(script)
    drv.set(DOOR_OPEN, True)
    drv.hold(2000)
    drv.set(DOOR_OPEN, "X31207" in trig)
    drv.hold(100)
    drv.mark("X31207", drv.frame - 1)
    drv.mark("X31201", drv.frame - 1)
