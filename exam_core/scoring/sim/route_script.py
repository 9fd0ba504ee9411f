"""The scripted 科目三 candidate on a route, clean or with faults.

The candidate follows the route at a lateral offset (lanes are 3.5 m bands left of the right
road edge), slows for junctions, crosswalks, school zones, bus stops and the meeting point,
signals every manoeuvre for 3.5 s, changes lane and overtakes in their sections, turns, makes
the U-turn and pulls over at the end.  Faults change exactly the part of the script they name.
"""

from __future__ import annotations

from collections.abc import Iterable

from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.course import RouteCourse, RouteZone
from exam_core.scoring.sim import (
    route_cab,
    route_faults,
    route_lanes,
    route_places,
    route_pull_over,
)
from exam_core.scoring.sim.route_driver import (
    CRUISE,
    LANE,
    SIGNAL_MS,
    SLOW,
    RouteDriver,
    RoutePath,
)
from exam_core.scoring.sim.sim_car import Driver, Noise, SimRun, amount, parse_faults
from exam_core.scoring.telemetry import (
    BELT,
    DOOR_OPEN,
    GEAR_NEUTRAL,
    INDICATOR_LEFT,
    INDICATOR_RIGHT,
    PARKING_BRAKE,
)

AIR_FULL_KPA = 800
"""The brake air pressure of a charged air-braked car."""

LOOK_CODES = {
    "junction_straight": "X30505",
    "junction_left": "X30505",
    "junction_right": "X30505",
    "crosswalk": "X30603",
    "school_zone": "X30702",
    "bus_stop": "X30802",
}
"""The rule that a look to both sides before each kind of zone answers to."""


class RouteScript:
    """One scripted exam on a route: the candidate's car, the faults to commit, and the steps.

    Each step drives one part of the exam (``start_off``, ``lane_change_section``, ``pull_over``,
    …) from where the previous one left the car; ``simulate_route`` calls them in route order.
    A fault changes only the step that commits it.
    """

    def __init__(
        self,
        course: RouteCourse,
        seed: int,
        faults: Iterable[str],
        noise: Noise | None = None,
        *,
        cruise: float = CRUISE,
        lane_change_signal_ms: int = SIGNAL_MS,
    ) -> None:
        self.trig, self.near = parse_faults(faults)
        self.both = self.trig | self.near
        self.cruise = cruise
        self.drv = Driver(seed, noise or Noise())
        self.path = RoutePath(course)
        self.vehicle = course.vehicle
        self.zones = {zone.item: zone for zone in course.zones}
        self.car = RouteDriver(self.drv, self.path, self.zones["start"].start + 10_000, 1_100)
        self.signal_ms = SIGNAL_MS
        """How long before moving off the candidate signals left (shortened by X30105/X30106)."""
        self.lane_change_signal_ms = lane_change_signal_ms
        """How long the candidate signals before steering into another lane."""
        self.lane_change_starts: list[int] = []
        """The frame each lane change's sideways movement starts at."""
        self.night = False
        """The in-car computer has said that the exam is now at night."""
        self.late_parking_lights = False
        """Switch to the parking lights only just before the engine (X31212's near miss)."""
        self.committed: set[str] = set()
        """Faults committed once already, where a step that repeats could commit them again."""
        self.flash_at_bends = True
        """At night, alternate the beams before a bend (off: X30117 committed at the bend)."""
        self.bend_flash_lead_s = 3.0
        """How long before the bend the alternating beams begin."""
        self.air_brakes = False
        """The car has air brakes (then its gauge reads ``AIR_FULL_KPA`` once charged)."""

    def amt(self, code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        """The amount of fault ``code``: ``hit`` when committed, ``miss`` for its near miss."""
        return amount(code, (self.trig, self.near), hit, miss, clean)

    def once(self, code: str) -> str:
        """``trig`` or ``near`` the first time a repeated step asks for ``code``, then ``""``."""
        if code in self.committed or code not in self.both:
            return ""
        self.committed.add(code)
        return "trig" if code in self.trig else "near"

    def run(self) -> SimRun:
        """Every step in route order; the frames and where each committed fault must show."""
        z = self.zones
        self.start_engine()
        route_cab.light_simulation(self)
        route_cab.wipers_on_command(self)
        self.start_off()
        self.straight_section()
        route_faults.straddling(self)
        route_lanes.lane_change_section(self)
        self.slow_through(z["junction_straight"], "X30501")
        self.crosswalk()
        self.slow_through(z["school_zone"], "X30701")
        route_faults.speeding_burst(self)
        route_faults.wrong_gear(self)
        route_faults.jerky_braking(self)
        route_cab.gear_change_item(self)
        route_cab.cab_faults(self)
        self.turn(z["junction_right"], "X30503", INDICATOR_RIGHT)
        self.slow_through(z["bus_stop"], "X30801")
        route_lanes.meeting(self)
        route_faults.centre_line_excursion(self)
        route_lanes.left_turn(self)
        route_lanes.overtaking(self)
        route_faults.turning_round(self)
        self.turn(z["u_turn"], None, INDICATOR_LEFT, speed=3000)
        route_places.night_bend(self)
        route_places.stops(self)
        route_pull_over.pull_over(self)
        route_pull_over.leave_car(self)
        return SimRun(self.drv.frames, self.drv.marks)

    def start_engine(self) -> None:
        """Before the start: the monitoring outage, turning the key, the stall."""
        drv, trig, near, both = self.drv, self.trig, self.near, self.both
        if "X10102" in both:
            drv.camera_outage("X10102", 5100 if "X10102" in trig else 4900)
        drv.hold(1000)
        a = drv.frame
        drv.start_engine(
            held_ms=round(self.amt("X10104", 2100, 1900, 800)), gear=1 if "X10103" in trig else 0
        )
        drv.mark("X10103", a)
        drv.mark("X10104", a + 3 + 20)
        drv.gear = 1 if "X10103" in near else GEAR_NEUTRAL
        drv.hold(1000)
        if "10210" in both:
            drv.gear = 1 if "10210" in trig else GEAR_NEUTRAL
            drv.stall("10210")
        route_cab.failed_engagements(self)
        drv.gear = 1
        signal_ms = round(self.amt("X30106", 2900, 3100, SIGNAL_MS))
        if "X30105" in trig:
            signal_ms = 0
        elif "X30105" in near:
            signal_ms = 100
        self.signal_ms = signal_ms
        drv.hold(1000)

    def start_off(self) -> None:
        """起步: signal, look, release the parking brake, close the door, roll back, move off."""
        drv, car, path, trig, near = self.drv, self.car, self.path, self.trig, self.near
        drv.cab.command(cab.START)
        # the mirrors and a look over the left shoulder (X30206: no look; its near miss looks
        # 9 s before moving off)
        drv.glance(cab.MIRROR_INTERIOR, 500)
        drv.glance(cab.MIRROR_LEFT, 500, after_ms=600)
        if "X30206" in near:
            drv.glance(cab.HEAD_LEFT, 300)
            drv.hold(5500)
        elif "X30206" not in trig:
            drv.glance(cab.HEAD_LEFT, 500, after_ms=1200)
        signal_ms = self.signal_ms
        door = "X30201" in trig
        drv.set(DOOR_OPEN, door or "X30201" in near)
        brake_ms = round(self.amt("X30202", 3100, 2900) + self.amt("X30203", 1000, 0))
        if not brake_ms:
            drv.set(PARKING_BRAKE, False)
        drv.hold(max(0, SIGNAL_MS - signal_ms))
        drv.set(INDICATOR_LEFT, signal_ms > 0)
        drv.hold(signal_ms - 100 if signal_ms else 0)
        if "X30201" in near:
            drv.set(DOOR_OPEN, False)
        if "X30203" in near:
            drv.set(PARKING_BRAKE, False)
        drv.hold(100 if signal_ms else 0)
        roll = self.amt("10105", 310, 290) + self.amt("10202", 110, 0)
        # an air-braked car moving off with its tanks at 590 kPa (X30207; near miss 600)
        air_brakes = self.air_brakes or "X30207" in self.both
        if air_brakes:
            drv.cab.air_kpa = round(self.amt("X30207", 590, 600, AIR_FULL_KPA))
        first = drv.frame
        drv.mark("X30207", first, first + 1)
        drv.mark("X30206", first - 1, first + 1)
        drv.mark("X30105", first)
        drv.mark("X30106", first)
        drv.mark("X30201", first)
        drv.mark("X30203", first)
        drv.mark("X30202", first + 30)
        if roll:
            drv.roll_back(roll)
            drv.mark("10105", first + 10)  # 30 mm a frame: beyond 300 mm on the eleventh
            drv.mark("10202", drv.frame - 1)
            drv.hold(300)
        # The brake and the door are dealt with while already rolling.
        start_pts = [path.point(car.s + i * 250, car.d) for i in range(41)]
        released = {"brake": False, "door": False}

        def on_start(d: Driver) -> None:
            elapsed = d.frame - first
            if brake_ms and not released["brake"] and elapsed * 100 >= brake_ms:
                d.set(PARKING_BRAKE, False)
                released["brake"] = True
            if door and not released["door"] and elapsed >= 10:
                d.set(DOOR_OPEN, False)
                released["door"] = True

        # a jerky start (X30204) lurches off at 3.5 m/s²; the engine may race (X30205)
        v_start = self.amt("X30204", 3500, 2400, 1500)
        drv.rpm_boost = round(self.amt("X30205", 2300, 2000))
        drv.mark("X30204", first + 5, first + 9)
        drv.mark("X30205", first - 1, first + 1)

        def start_step(d: Driver) -> None:
            on_start(d)
            if d.frame - first >= 10:
                d.rpm_boost = 0

        drv.follow(
            start_pts,
            v_start,
            v_end=1500,
            accel=self.amt("X30204", 3500, 2200, 600),
            on_step=start_step,
        )
        drv.rpm_boost = 0
        if air_brakes:
            drv.cab.air_kpa = AIR_FULL_KPA
        drv.set(PARKING_BRAKE, False)
        drv.set(DOOR_OPEN, False)
        drv.auto_gear = True
        drv.cab.mirror_every = 100
        car.s += 10_000
        car.to(car.s + 20_000, 5000, d=1750)
        drv.set(INDICATOR_LEFT, False)

    def straight_section(self) -> None:
        """直线行驶, and the faults placed on the straight: belt, coasting, wander, edge line."""
        drv, car, cruise, trig, both = self.drv, self.car, self.cruise, self.trig, self.both
        zs = self.zones["straight"]
        gap_ms = round(self.amt("X30303", 21_000, 19_000))
        if gap_ms:  # X30303: no look in a mirror for 21 s (19 s)
            car.to(zs.start + 5_000, cruise)
            drv.cab.mirror_every = None
            drv.glance(cab.MIRROR_INTERIOR, 300)
            car.to(car.s + cruise * 0.3, cruise)
            a = drv.frame
            car.to(car.s + cruise * gap_ms / 1000, cruise)
            drv.glance(cab.MIRROR_INTERIOR, 300)
            drv.cab.mirror_every = 100
            drv.mark("X30303", a + 199, a + 202)
        car.to(zs.start + 20_000, cruise)
        if "10101" in trig:
            drv.set(BELT, False)
            drv.mark("10101", drv.frame)
            car.to(car.s + 5_000, cruise)
            drv.set(BELT, True)
        if "X10106" in both:
            drv.gear = GEAR_NEUTRAL
            a = drv.frame
            ms = 3100 if "X10106" in trig else 2900
            car.to(car.s + cruise * ms / 1000, cruise, accel=1e6)
            drv.mark("X10106", a + 29)
            drv.gear = 4
        wander = self.amt("X30301", 1100, 900)
        if wander:
            a = drv.frame
            car.to(zs.start + 100_000, cruise, d=1750 + wander)
            car.to(zs.start + 180_000, cruise, d=1750)
            drv.mark("X30301", a, drv.frame)
        if "X30103" in both:
            car.to(zs.end + 20_000, cruise)
            a = drv.frame
            car.to(car.s + 40_000, cruise, d=self.amt("X30103", 800, 1000))
            car.to(car.s + 50_000, cruise)
            drv.mark("X30103", a, drv.frame)
            car.to(car.s + 40_000, cruise, d=1750)

    def change_lane(
        self, to_lane: int, length: float = 40_000, looks: tuple[int, ...] | None = None
    ) -> None:
        """Signal for 3.5 s (``lane_change_signal_ms``) and look (by default in the mirror on
        that side), then move across to the middle of ``to_lane`` over ``length``."""
        drv, car = self.drv, self.car
        lane_now = int(car.d // LANE)
        bit = INDICATOR_LEFT if to_lane > lane_now else INDICATOR_RIGHT
        drv.set(bit, True)
        if looks is None:
            looks = (cab.MIRROR_LEFT if to_lane > lane_now else cab.MIRROR_RIGHT,)
        for n, seen in enumerate(looks):
            drv.glance(seen, 500, after_ms=600 * n)
        # just under the lead at the current speed, so that it spans that many frames
        ahead = drv.speed * (self.lane_change_signal_ms - 50) / 1000
        car.to(car.s + ahead, max(drv.speed, 3000))
        self.lane_change_starts.append(drv.frame)
        car.to(car.s + length, max(drv.speed, 3000), d=LANE * to_lane + LANE / 2)
        drv.set(bit, False)

    def skip_section(self, zone: RouteZone, code: str) -> bool:
        """Drive 20 m into a manoeuvre's section; when ``code`` (not doing the manoeuvre) is
        committed, drive on past its end and say so."""
        drv, car = self.drv, self.car
        car.to(zone.start + 20_000, self.cruise)
        if code not in self.trig:
            return False
        car.to(zone.end + 500, self.cruise)
        drv.mark(code, drv.frame - 10, drv.frame)
        return True

    def slow_through(
        self, zone: RouteZone, code: str, hit: float = 8600, miss: float = 8100
    ) -> None:
        """Slow down before the zone and drive through it (too fast if ``code`` is committed)."""
        drv, car = self.drv, self.car
        speed = self.amt(code, hit, miss, SLOW)
        car.to(zone.start - 60_000, self.cruise)
        self.look_both_ways(zone, speed, speed)
        a = drv.frame
        car.to(zone.end + 1_000, speed, v_end=speed, accel=1e6)
        drv.mark(code, a, a + 3)
        looked = LOOK_CODES.get(zone.item)
        if looked is not None:
            drv.mark(looked, a, a + 4)

    def look_both_ways(self, zone: RouteZone, speed: float, v_end: float) -> None:
        """Approach the zone at ``speed``, looking left and then right some 3 s before it, and
        at night flash the high beam before a junction or a crosswalk.

        The zone's look fault (``LOOK_CODES``) leaves out the look to the right, its near miss
        looks 4.6 s ahead; X30117 flashes once, its near miss starts 4.6 s ahead.
        """
        drv, car = self.drv, self.car
        code = LOOK_CODES.get(zone.item)
        look = self.once(code) if code is not None else ""
        flash = self.once("X30117") if self.night and code in ("X30505", "X30603") else ""
        lead = 4.6 if "near" in (look, flash) else 3.0
        car.to(zone.start - 1_000 - speed * lead, speed, v_end=speed)
        drv.glance(cab.HEAD_LEFT, 400)
        if look != "trig":
            drv.glance(cab.HEAD_RIGHT, 400, after_ms=600)
        if self.night and code in ("X30505", "X30603"):
            route_cab.flash_high_beam(self, 1 if flash == "trig" else 2)
            if flash:
                drv.mark(
                    "X30117", drv.frame + round(lead * 10) - 1, drv.frame + round(lead * 10) + 4
                )
        car.to(zone.start - 1_000, speed, v_end=v_end)

    def crosswalk(self) -> None:
        """人行横道: slow through, or stop short of it or on it (X30602)."""
        drv, car, trig, both = self.drv, self.car, self.trig, self.both
        zc = self.zones["crosswalk"]
        if "X30602" not in both:
            self.slow_through(zc, "X30601")
            return
        car.to(zc.start - 60_000, self.cruise)
        drv.glance(cab.HEAD_LEFT, 400)
        drv.glance(cab.HEAD_RIGHT, 400, after_ms=600)
        stop_s = zc.start - 3600 + (1000 if "X30602" in trig else -300)
        car.stop_at(stop_s, SLOW)
        drv.mark("X30602", drv.frame - 3, drv.frame + 20)
        drv.hold(2000)
        car.to(zc.end + 5_000, SLOW, v_end=SLOW)

    def turn(self, zone: RouteZone, code: str | None, bit: int, speed: float = SLOW) -> None:
        """Signal 40 m ahead, slow down and drive through the turn (too fast if ``code``)."""
        drv, car = self.drv, self.car
        car.to(zone.start - 80_000, self.cruise)
        car.to(zone.start - 40_000, SLOW, v_end=SLOW)
        drv.set(bit, True)
        v = speed if code is None else self.amt(code, 8600, 8100, speed)
        if zone.item in LOOK_CODES:
            self.look_both_ways(zone, SLOW, v)
        else:
            car.to(zone.start - 1_000, SLOW, v_end=v)
        a = drv.frame
        car.to(zone.end + 1_000, v, v_end=v, accel=1e6)
        if code is not None:
            drv.mark(code, a, a + 3)
        looked = LOOK_CODES.get(zone.item)
        if looked is not None:
            drv.mark(looked, a, a + 4)
        drv.set(bit, False)


def simulate_route(
    course: RouteCourse,
    seed: int,
    faults: Iterable[str] = (),
    noise: Noise | None = None,
    cruise: float = CRUISE,
) -> SimRun:
    """Drive the route from the start zone to the pull-over, cleanly or with the faults."""
    return RouteScript(course, seed, faults, noise, cruise=cruise).run()
