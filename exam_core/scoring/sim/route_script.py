"""The scripted 科目三 candidate on a route, clean or with faults.

The candidate follows the route at a lateral offset (lanes are 3.5 m bands left of the right
road edge), slows for junctions, crosswalks, school zones, bus stops and the meeting point,
signals every manoeuvre for 3.5 s, changes lane and overtakes in their sections, turns, makes
the U-turn and pulls over at the end.  Faults change exactly the part of the script they name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from exam_core.scoring.course import RouteCourse, RouteZone
from exam_core.scoring.sim import route_faults
from exam_core.scoring.sim.route_driver import RouteDriver, RoutePath
from exam_core.scoring.sim.sim_car import Driver, Noise, SimRun, amount, parse_faults
from exam_core.scoring.telemetry import (
    BELT,
    BRAKE_PEDAL,
    DOOR_OPEN,
    GEAR_NEUTRAL,
    INDICATOR_LEFT,
    INDICATOR_RIGHT,
    PARKING_BRAKE,
)

CRUISE = 11_111.0
"""40 km/h."""
SLOW = 6_944.0
"""25 km/h, below the 30 km/h of the slow zones."""
LANE = 3_500.0
SIGNAL_MS = 3_500


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
        self.zones = {zone.item: zone for zone in course.zones}
        self.car = RouteDriver(self.drv, self.path, self.zones["start"].start + 10_000, 1_100)
        self.signal_ms = SIGNAL_MS
        """How long before moving off the candidate signals left (shortened by X30105/X30106)."""
        self.lane_change_signal_ms = lane_change_signal_ms
        """How long the candidate signals before steering into another lane."""
        self.lane_change_starts: list[int] = []
        """The frame each lane change's sideways movement starts at."""

    def amt(self, code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        """The amount of fault ``code``: ``hit`` when committed, ``miss`` for its near miss."""
        return amount(code, (self.trig, self.near), hit, miss, clean)

    def run(self) -> SimRun:
        """Every step in route order; the frames and where each committed fault must show."""
        z = self.zones
        self.start_engine()
        self.start_off()
        self.straight_section()
        route_faults.straddling(self)
        self.lane_change_section()
        self.slow_through(z["junction_straight"], "X30501")
        self.crosswalk()
        self.slow_through(z["school_zone"], "X30701")
        route_faults.speeding_burst(self)
        route_faults.wrong_gear(self)
        route_faults.jerky_braking(self)
        self.turn(z["junction_right"], "X30503", INDICATOR_RIGHT)
        self.slow_through(z["bus_stop"], "X30801")
        self.meeting()
        route_faults.centre_line_excursion(self)
        self.left_turn()
        self.overtaking()
        route_faults.turning_round(self)
        self.turn(z["u_turn"], None, INDICATOR_LEFT, speed=3000)
        self.pull_over()
        self.leave_car()
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
        drv.gear = 1
        signal_ms = round(self.amt("X30106", 2900, 3100, SIGNAL_MS))
        if "X30105" in trig:
            signal_ms = 0
        elif "X30105" in near:
            signal_ms = 100
        self.signal_ms = signal_ms
        drv.hold(1000)

    def start_off(self) -> None:
        """起步: signal, release the parking brake, close the door, roll back, move off."""
        drv, car, path, trig, near = self.drv, self.car, self.path, self.trig, self.near
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
        first = drv.frame
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
        drv.set(PARKING_BRAKE, False)
        drv.set(DOOR_OPEN, False)
        drv.auto_gear = True
        car.s += 10_000
        car.to(car.s + 20_000, 5000, d=1750)
        drv.set(INDICATOR_LEFT, False)

    def straight_section(self) -> None:
        """直线行驶, and the faults placed on the straight: belt, coasting, wander, edge line."""
        drv, car, cruise, trig, both = self.drv, self.car, self.cruise, self.trig, self.both
        zs = self.zones["straight"]
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

    def change_lane(self, to_lane: int, length: float = 40_000) -> None:
        """Signal for 3.5 s (``lane_change_signal_ms``), then move across to the middle of
        ``to_lane`` over ``length``."""
        drv, car = self.drv, self.car
        lane_now = int(car.d // LANE)
        bit = INDICATOR_LEFT if to_lane > lane_now else INDICATOR_RIGHT
        drv.set(bit, True)
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

    def lane_change_section(self) -> None:
        """变更车道: out to lane 1 and back (two lanes at once, late, or not at all if asked)."""
        drv, car, cruise = self.drv, self.car, self.cruise
        zl = self.zones["lane_change"]
        if self.skip_section(zl, "X30401"):
            return
        if "X30104" in self.both:
            drv.set(INDICATOR_LEFT, True)
            car.to(car.s + 45_000, cruise)
            a = drv.frame
            if "X30104" in self.trig:
                car.to(car.s + 60_000, cruise, d=8750)
            else:
                car.to(car.s + 40_000, cruise, d=5250)
                car.to(car.s + cruise * 3.8, cruise)
                car.to(car.s + 40_000, cruise, d=8750)
            drv.set(INDICATOR_LEFT, False)
            drv.mark("X30104", a, drv.frame)
            car.to(car.s + 20_000, cruise)
            self.change_lane(1)
            car.to(car.s + 50_000, cruise)
            self.change_lane(0)
            return
        if "X30401" in self.near:  # late: the lane line is crossed some 20 m before the end
            car.to(zl.end - 85_000, cruise)
        self.change_lane(1)
        car.to(zl.end + 100_000, cruise)
        self.change_lane(0)

    def slow_through(
        self, zone: RouteZone, code: str, hit: float = 8600, miss: float = 8100
    ) -> None:
        """Slow down before the zone and drive through it (too fast if ``code`` is committed)."""
        drv, car = self.drv, self.car
        speed = self.amt(code, hit, miss, SLOW)
        car.to(zone.start - 60_000, self.cruise)
        car.to(zone.start - 1_000, speed, v_end=speed)
        a = drv.frame
        car.to(zone.end + 1_000, speed, v_end=speed, accel=1e6)
        drv.mark(code, a, a + 3)

    def crosswalk(self) -> None:
        """人行横道: slow through, or stop short of it or on it (X30602)."""
        drv, car, trig, both = self.drv, self.car, self.trig, self.both
        zc = self.zones["crosswalk"]
        if "X30602" not in both:
            self.slow_through(zc, "X30601")
            return
        car.to(zc.start - 60_000, self.cruise)
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
        car.to(zone.start - 1_000, SLOW, v_end=v)
        a = drv.frame
        car.to(zone.end + 1_000, v, v_end=v, accel=1e6)
        if code is not None:
            drv.mark(code, a, a + 3)
        drv.set(bit, False)

    def meeting(self) -> None:
        """会车: keep to the right lane and slow down (or still be in lane 1, X30902)."""
        drv, car, cruise = self.drv, self.car, self.cruise
        zm = self.zones["meeting"]
        if "X30902" in self.both:
            car.to(zm.start - 200_000, cruise)
            self.change_lane(1)
            if "X30902" in self.trig:
                car.to(zm.start + 500, cruise)
                drv.mark("X30902", drv.frame - 3, drv.frame)
                car.to(zm.start + 20_000, cruise)
            else:
                car.to(zm.start - 90_000, cruise)
            self.change_lane(0)
        self.slow_through(zm, "X30901")

    def left_turn(self) -> None:
        """Into the leftmost lane and left at the junction, passing left of its centre point,
        then back to the right lane (X30504: turning from the right lane goes round the point;
        the near miss turns a little right of the leftmost lane's middle)."""
        drv, car, cruise = self.drv, self.car, self.cruise
        zone = self.zones["junction_left"]
        car.to(zone.start - 300_000, cruise)
        if "X30504" not in self.trig:
            self.change_lane(1)
            car.to(car.s + 30_000, cruise)
            self.change_lane(2)
            if "X30504" in self.near:
                car.to(car.s + 20_000, cruise, d=8_000)
        a = drv.frame
        self.turn(zone, "X30502", INDICATOR_LEFT)
        if zone.centre is not None:
            cx, cy = zone.centre
            near = min(range(a, drv.frame), key=lambda i: math.dist(drv.truth[i], (cx, cy)))
            drv.mark("X30504", near - 3, near + 3)
        if "X30504" not in self.trig:
            car.to(car.s + 30_000, cruise)
            self.change_lane(1)
            car.to(car.s + 30_000, cruise)
            self.change_lane(0)

    def overtaking(self) -> None:
        """超车: out to lane 1 and back within the section (or not at all, X31001; or from
        lane 1 out to the right and back, X31002, whose near miss overtakes on the left)."""
        drv, car, cruise = self.drv, self.car, self.cruise
        zo = self.zones["overtaking"]
        if "X31002" in self.both:
            car.to(zo.start - 150_000, cruise)
            self.change_lane(1)
            car.to(zo.start + 20_000, cruise)
            self.change_lane(0 if "X31002" in self.trig else 2)
            car.to(car.s + 60_000, cruise)
            back = drv.frame
            self.change_lane(1)
            drv.mark("X31002", back, drv.frame)
            car.to(zo.end + 20_000, cruise)
            self.change_lane(0)
            return
        if self.skip_section(zo, "X31001"):
            return
        self.change_lane(1)
        # back in the right lane some 20 m before the end of the section for a near miss
        car.to(zo.end - 85_000 if "X31001" in self.near else car.s + 100_000, cruise)
        self.change_lane(0)

    def pull_over(self) -> None:
        """靠边停车: signal right, close in on the edge and stop; creep, brakes, if asked."""
        drv, car, trig, near, both = self.drv, self.car, self.trig, self.near, self.both
        zp = self.zones["pull_over"]
        car.to(zp.start - 60_000, self.cruise)
        car.to(zp.start + 10_000, SLOW, v_end=SLOW)
        drv.set(INDICATOR_RIGHT, True)
        gap = self.amt("X31202", 550, 450) + self.amt("X31203", 400, 250) or 200.0
        stop_s = zp.start + 90_000
        if "X31201" in both:
            stop_s = zp.end + 20_000 if "X31201" in trig else zp.end - 5_000
        car.to(stop_s - 45_000, SLOW, v_end=3000)
        car.to(stop_s - 5_000, 3000, d=900 + gap, v_end=2000)
        drv.set(BRAKE_PEDAL, True)
        car.stop_at(stop_s, 2000)
        stop = drv.frame
        drv.mark("X31202", stop - 1, stop)
        drv.mark("X31203", stop - 1, stop)
        drv.hold(500)
        creep = self.amt("X31205", 150, 50)
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

    def leave_car(self) -> None:
        """Switch off and get out: belt, door with the engine running, parking brake, door."""
        drv, trig, near = self.drv, self.trig, self.near
        if "10101" in near:
            drv.set(BELT, False)
        if "X31206" in trig:
            drv.set(DOOR_OPEN, True)
            drv.mark("X31206", drv.frame)
            drv.hold(500)
        if "X31204" in near:
            drv.set(PARKING_BRAKE, True)
        drv.mark("X31204", drv.frame)
        drv.engine = False
        drv.hold(100)
        drv.hold(1000)
        if "10202" in near:  # parked, engine off: rolling now is not starting off
            drv.roll_back(110)
        drv.set(DOOR_OPEN, True)
        drv.hold(2000)
        drv.set(DOOR_OPEN, "X31207" in trig)
        drv.hold(100)
        drv.mark("X31207", drv.frame - 1)
        drv.mark("X31201", drv.frame - 1)


def simulate_route(
    course: RouteCourse,
    seed: int,
    faults: Iterable[str] = (),
    noise: Noise | None = None,
    cruise: float = CRUISE,
) -> SimRun:
    """Drive the route from the start zone to the pull-over, cleanly or with the faults."""
    return RouteScript(course, seed, faults, noise, cruise=cruise).run()
