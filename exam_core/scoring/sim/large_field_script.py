"""The scripted large-vehicle candidate on the shipped field ``k2-field-l``: 模拟隧道, 模拟湿滑路.

A bus drives straight along the right lane of the field's road: through the tunnel (slowed
down, headlights on before it, horn before entering and before leaving, keeping right of the
centre line, headlights off after it) and across the wet stretch (slowed down, in a low gear,
without harsh speed changes).  Faults change exactly the part they name.
"""

from __future__ import annotations

from collections.abc import Iterable

from exam_core.scoring.course import FieldCourse, FieldItem
from exam_core.scoring.sim.sim_car import Driver, Noise, SimRun, amount, line, parse_faults
from exam_core.scoring.telemetry import DIPPED_BEAM, GEAR_NEUTRAL, HORN, PARKING_BRAKE

LANE_Y = -1875.0
"""The middle of the right lane."""
CRUISE = 4000.0
IN_TUNNEL = 2200.0
ON_WET_ROAD = 2500.0


def _span(item: FieldItem) -> tuple[float, float]:
    xs = [p[0] for p in item.inside]
    return min(xs), max(xs)


class LargeFieldScript:
    """One scripted large-vehicle exam: the bus, the faults, and the two items' steps."""

    def __init__(
        self, course: FieldCourse, seed: int, faults: Iterable[str], noise: Noise | None
    ) -> None:
        self.trig, self.near = parse_faults(faults)
        self.both = self.trig | self.near
        self.course = course
        self.drv = Driver(seed, noise or Noise())
        self.drv.x, self.drv.y = 0.0, LANE_Y
        self.headlights_on_approach = True
        """Whether the headlights go on before the tunnel (off is the other half of 21401)."""

    def amt(self, code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        """The amount of fault ``code``: ``hit`` when committed, ``miss`` for its near miss."""
        return amount(code, (self.trig, self.near), hit, miss, clean)

    def item(self, name: str) -> FieldItem:
        return next(i for i in self.course.items if i.item == name)

    def run(self) -> SimRun:
        drv = self.drv
        drv.hold(1000)
        drv.start_engine()
        drv.gear = 1
        drv.hold(1000)
        drv.set(PARKING_BRAKE, False)
        drv.hold(500)
        drv.auto_gear = True
        self.tunnel()
        self.wet_road()
        drv.follow(line((drv.x, LANE_Y), (210_000, LANE_Y)), CRUISE)
        drv.set(PARKING_BRAKE, True)
        drv.gear = GEAR_NEUTRAL
        drv.hold(1000)
        drv.engine = False
        drv.hold(1000)
        return SimRun(drv.frames, drv.marks)

    def _first_frame_past(self, x: float) -> int:
        return next(i for i, p in enumerate(self.drv.truth) if p[0] > x)

    def tunnel(self) -> None:
        """模拟隧道: the approach (21401, 21403), the lane (21402), the lights after (21404)."""
        drv, dims = self.drv, self.course.vehicle
        start, end = _span(self.item("tunnel"))
        entry_x, exit_x = start - dims.front, end + dims.rear_overhang
        v_in = self.amt("21401", 3000, 2600, IN_TUNNEL)
        drv.follow(line((0, LANE_Y), (entry_x - 20_000, LANE_Y)), CRUISE, v_end=CRUISE)
        drv.set(DIPPED_BEAM, self.headlights_on_approach)
        drv.follow(line((drv.x, LANE_Y), (entry_x - 12_000, LANE_Y)), CRUISE, v_end=v_in)
        # the horn: 0.5 s, ending about 2.5 s before the entry (4.5 s for the near miss; not
        # at all for 21403)
        before = self.amt("21403", 0, 4.5, 2.5) * v_in
        if "21403" not in self.trig:
            drv.follow(
                line((drv.x, LANE_Y), (entry_x - before - v_in / 2, LANE_Y)), v_in, v_end=v_in
            )
            drv.set(HORN, True)
            drv.follow(line((drv.x, LANE_Y), (entry_x - before, LANE_Y)), v_in, v_end=v_in)
            drv.set(HORN, False)
        drv.follow(line((drv.x, LANE_Y), (entry_x + 4_000, LANE_Y)), v_in, v_end=IN_TUNNEL)
        entered = self._first_frame_past(entry_x)
        drv.mark("21401", entered - 1, entered + 1)
        drv.mark("21403", entered - 1, entered + 1)
        # towards the centre line and back: the body 10 cm over it (16.5 cm short of it)
        shift = self.amt("21402", 700, 300)
        a = drv.frame
        ramp = [(entry_x + 24_000, LANE_Y + shift), (entry_x + 34_000, LANE_Y + shift)]
        drv.follow([(drv.x, drv.y), *ramp, (exit_x - 9_000, LANE_Y)], IN_TUNNEL, v_end=IN_TUNNEL)
        drv.mark("21402", a, self._first_frame_past(entry_x + 24_000))
        drv.follow(line((drv.x, LANE_Y), (exit_x - 3_000, LANE_Y)), IN_TUNNEL, v_end=IN_TUNNEL)
        drv.set(HORN, True)
        drv.follow(line((drv.x, LANE_Y), (exit_x - 2_000, LANE_Y)), IN_TUNNEL, v_end=IN_TUNNEL)
        drv.set(HORN, False)
        # the headlights off 2 m after the exit, or 5.2 s (4.8 s) after it (21404)
        keep = round(self.amt("21404", 5200, 4800)) // 100
        drv.follow(line((drv.x, LANE_Y), (exit_x, LANE_Y)), IN_TUNNEL, v_end=IN_TUNNEL)
        left = drv.frame
        if keep:
            on = (exit_x + IN_TUNNEL * keep / 10, LANE_Y)
            drv.follow(line((drv.x, LANE_Y), on), IN_TUNNEL, v_end=IN_TUNNEL)
            drv.mark("21404", left + 48, left + 52)
        else:
            drv.follow(line((drv.x, LANE_Y), (exit_x + 2_000, LANE_Y)), IN_TUNNEL, v_end=IN_TUNNEL)
        drv.set(DIPPED_BEAM, False)

    def wet_road(self) -> None:
        """模拟湿滑路: slowed down (21602), in a low gear (21601), no harsh change (21603)."""
        drv, dims = self.drv, self.course.vehicle
        start, end = _span(self.item("wet_road"))
        entry_x, exit_x = start - dims.front, end + dims.rear_overhang
        v_in = self.amt("21602", 3000, 2700, ON_WET_ROAD)
        drv.follow(line((drv.x, LANE_Y), (entry_x - 25_000, LANE_Y)), CRUISE, v_end=CRUISE)
        drv.follow(line((drv.x, LANE_Y), (entry_x - 5_000, LANE_Y)), CRUISE, v_end=v_in)
        gear = self.amt("21601", 3, 2)
        if gear:
            drv.auto_gear, drv.gear = False, int(gear)
        drv.follow(line((drv.x, LANE_Y), (entry_x + 5_000, LANE_Y)), v_in, v_end=ON_WET_ROAD)
        entered = self._first_frame_past(entry_x)
        drv.mark("21601", entered - 1, entered + 1)
        drv.mark("21602", entered - 1, entered + 1)
        decel = self.amt("21603", 2000, 1300)
        if decel:
            a = drv.frame
            drv.follow(line((drv.x, LANE_Y), (drv.x + 8_000, LANE_Y)), 700, v_end=700, decel=decel)
            drv.mark("21603", a + 5, a + 10)
            drv.follow(
                line((drv.x, LANE_Y), (drv.x + 6_000, LANE_Y)),
                ON_WET_ROAD,
                v_end=ON_WET_ROAD,
                accel=800,
            )
        drv.follow(line((drv.x, LANE_Y), (exit_x + 2_000, LANE_Y)), ON_WET_ROAD, v_end=ON_WET_ROAD)
        drv.auto_gear = True


def simulate_large_field(
    course: FieldCourse,
    seed: int,
    faults: Iterable[str] = (),
    noise: Noise | None = None,
    *,
    headlights_on_approach: bool = True,
) -> SimRun:
    """Drive the large-vehicle field (``k2-field-l``) cleanly or with the given faults."""
    script = LargeFieldScript(course, seed, faults, noise)
    script.headlights_on_approach = headlights_on_approach
    return script.run()
