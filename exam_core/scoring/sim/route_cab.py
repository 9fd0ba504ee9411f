"""Steps of the scripted 科目三 candidate that only telemetry v2 sees: the light simulation and
the other spoken commands, the gear-change item, night driving, and the faults of eyes, hands,
feet and gearbox.

Each step is called by ``RouteScript.run``; the faults change exactly the part they name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.telemetry import (
    BRAKE_PEDAL,
    DIPPED_BEAM,
    GEAR_NEUTRAL,
    HAZARD,
    HIGH_BEAM,
    SIDE_LIGHTS,
    WIPER,
)

if TYPE_CHECKING:
    from exam_core.scoring.sim.route_steps import RouteSteps

PROMPT_MS = 7000
"""The in-car computer's prompts of the light simulation come every 7 s."""


def light_simulation(script: RouteSteps) -> None:
    """灯光模拟, standing before the start: six prompts, each answered after 1 s (X30114: the
    "no street lights" prompt answered with the dipped beam; its near miss answers it after
    4.5 s of the 5)."""
    drv = script.drv
    late = "X30114" in script.near
    for code in (
        cab.LIGHTS_BEGIN,
        cab.NIGHT_UNLIT_ROAD,
        cab.NIGHT_DIPPED,
        cab.NIGHT_ALTERNATE,
        cab.NIGHT_ROADSIDE_STOP,
        cab.LIGHTS_END,
    ):
        prompt = drv.frame
        drv.cab.command(code)
        answer_ms = 4500 if late and code == cab.NIGHT_UNLIT_ROAD else 1000
        drv.hold(answer_ms)
        if code == cab.LIGHTS_BEGIN:
            drv.set(DIPPED_BEAM, True)
        elif code == cab.NIGHT_UNLIT_ROAD:
            drv.set(HIGH_BEAM, "X30114" not in script.trig)
            drv.mark("X30114", prompt + 49, prompt + 51)
        elif code == cab.NIGHT_DIPPED:
            drv.set(HIGH_BEAM, False)
        elif code == cab.NIGHT_ALTERNATE:
            for n in range(4):
                drv.switch_at(HIGH_BEAM, n % 2 == 0, 400 * n)
        elif code == cab.NIGHT_ROADSIDE_STOP:
            drv.set(SIDE_LIGHTS | HAZARD, True)
        else:
            drv.set(DIPPED_BEAM | HIGH_BEAM | SIDE_LIGHTS | HAZARD, False)
        drv.hold(PROMPT_MS - answer_ms)


def wipers_on_command(script: RouteSteps) -> None:
    """The wipers on 1 s after the command, off again 3 s later (X10114: never; its near miss
    after 4.5 s)."""
    drv = script.drv
    prompt = drv.frame
    drv.cab.command(cab.WIPERS_ON)
    if "X10114" in script.trig:
        drv.hold(6000)
        drv.mark("X10114", prompt + 49, prompt + 51)
        return
    drv.hold(4500 if "X10114" in script.near else 1000)
    drv.set(WIPER, True)
    drv.hold(3000)
    drv.set(WIPER, False)
    drv.hold(1000)


def failed_engagements(script: RouteSteps) -> None:
    """X10113, standing before the start: the lever goes into first twice without the gearbox
    taking it (the near miss: a failure, a success, another failure)."""
    drv = script.drv
    if "X10113" not in script.both:
        return
    outcomes = (False, False) if "X10113" in script.trig else (False, True, False)
    second = 0
    for n, ok in enumerate(outcomes):
        drv.cab.engaged = None if ok else GEAR_NEUTRAL
        drv.gear = 1
        if n == 1:
            second = drv.frame
        drv.hold(1500)
        drv.gear = GEAR_NEUTRAL
        drv.cab.engaged = None
        drv.hold(500)
    drv.mark("X10113", second + 9, second + 11)


def gear_change_item(script: RouteSteps) -> None:
    """加减挡: on the command, up to 47 km/h (into fourth) and back to 29 km/h (into third)
    (X30115: never back down; its near miss takes 27 s; X30116: 47 km/h in first for 2.1 s,
    1.9 s for the near miss)."""
    drv, car, cruise = script.drv, script.car, script.cruise
    car.to(car.s + 50_000, cruise)
    prompt = drv.frame
    drv.cab.command(cab.GEAR_CHANGE)
    car.to(car.s + 40_000, 13_000, v_end=13_000)
    mismatch = script.amt("X30116", 2100, 1900)
    if mismatch:
        drv.auto_gear, drv.gear = False, 1
        a = drv.frame
        car.to(car.s + 13_000 * mismatch / 1000 - 100, 13_000, v_end=13_000)
        drv.mark("X30116", a + 19, a + 21)
        drv.auto_gear = True
    if "X30115" in script.trig:
        car.to(car.s + 13_000 * 32, 13_000, v_end=13_000)
        drv.mark("X30115", prompt + 299, prompt + 301)
    elif "X30115" in script.near:
        car.to(car.s + 13_000 * 20, 13_000, v_end=13_000)
    car.to(car.s + 40_000, 8_000, v_end=8_000)
    car.to(car.s + 40_000, cruise)


def cab_faults(script: RouteSteps) -> None:
    """Eyes, hands and body seen by the camera, the pedals, the clutch and a gear change,
    each just over (or under) its limit while cruising."""
    drv, car, cruise = script.drv, script.car, script.cruise
    glances = {
        "X10108": (cab.EYES_OFF_ROAD, 2100, 1900),
        "X10109": (cab.HANDS_OFF_WHEEL, 1100, 900),
        "X10110": (cab.BODY_OUT_OF_WINDOW, 600, 400),
        "X10111": (cab.LOOKING_AT_GEAR_LEVER, 600, 400),
    }
    for code, (bits, hit, miss) in glances.items():
        ms = round(script.amt(code, hit, miss))
        if ms:
            car.to(car.s + 20_000, cruise)
            a = drv.frame
            drv.glance(bits, ms)
            car.to(car.s + cruise * (ms + 1000) / 1000, cruise)
            limit = (hit + miss) // 2 // 100
            drv.mark(code, a + limit - 1, a + limit + 1)
    pedals = round(script.amt("X10112", 600, 400))
    if pedals:
        a = drv.frame
        drv.cab.accel = 300
        drv.set(BRAKE_PEDAL, True)
        car.to(car.s + cruise * pedals / 1000 - 100, cruise)
        drv.set(BRAKE_PEDAL, False)
        drv.cab.accel = None
        drv.mark("X10112", a + 4, a + 6)
    slipping = round(script.amt("X30112", 3500, 2500))
    if slipping:
        a = drv.frame
        drv.cab.clutch = 500
        car.to(car.s + cruise * slipping / 1000 - 100, cruise)
        drv.cab.clutch = None
        drv.mark("X30112", a + 29, a + 31)
    if "X30111" in script.both:
        # slowing down into second gear: without the clutch, or with it 820 ‰ down
        if "X30111" in script.trig:
            drv.cab.clutchless_shift = True
        else:
            drv.cab.clutch = 820
        a = drv.frame
        car.to(car.s + 40_000, 4_500, v_end=4_500)
        drv.cab.clutch = None
        frames = drv.frames
        shift = next(i for i in range(a, len(frames)) if frames[i].gear != frames[i - 1].gear)
        drv.mark("X30111", shift, shift)
        car.to(car.s + 40_000, cruise)


def night_begins(script: RouteSteps) -> None:
    """From here the exam is at night: the in-car computer says so, the dipped beam goes on."""
    script.drv.cab.command(cab.NIGHT_BEGINS)
    script.drv.set(DIPPED_BEAM, True)
    script.night = True


def flash_high_beam(script: RouteSteps, times: int) -> None:
    """Flash the high beam ``times`` times, 0.4 s on and 0.4 s off, starting now."""
    for n in range(2 * times):
        script.drv.switch_at(HIGH_BEAM, n % 2 == 0, 400 * n)


def night_parking_lights(script: RouteSteps) -> None:
    """At night, pulled over: headlights off, side lights on before switching off (X31212:
    the headlights stay on; its near miss switches them just before the engine)."""
    drv = script.drv
    if not script.night or "X31212" in script.trig:
        return
    if "X31212" in script.near:
        script.late_parking_lights = True
        return
    drv.set(DIPPED_BEAM | HIGH_BEAM, False)
    drv.set(SIDE_LIGHTS, True)
