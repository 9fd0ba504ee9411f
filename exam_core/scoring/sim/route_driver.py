"""Driving a simulated car along a route: points by distance along it and lateral offset.

The 科目三 scripts say where the car goes in the route's own terms (``s`` along the right road
edge, ``d`` to its left), and these turn that into the polylines ``Driver.follow`` drives.
"""

from __future__ import annotations

import bisect
import math

from exam_core.scoring.course import RouteCourse
from exam_core.scoring.sim.sim_car import Driver, Pt

CRUISE = 11_111.0
"""40 km/h."""
SLOW = 6_944.0
"""25 km/h, below the 30 km/h of the slow zones."""
LANE = 3_500.0
SIGNAL_MS = 3_500


class RoutePath:
    """Points at (distance along, lateral offset) of the route's reference polyline."""

    def __init__(self, course: RouteCourse) -> None:
        self.ref = [(float(x), float(y)) for x, y in course.reference]
        self.starts = [0.0]
        for a, b in zip(self.ref, self.ref[1:], strict=False):
            self.starts.append(self.starts[-1] + math.dist(a, b))

    def point(self, s: float, d: float) -> Pt:
        k = min(max(bisect.bisect_right(self.starts, s) - 1, 0), len(self.ref) - 2)
        (ax, ay), (bx, by) = self.ref[k], self.ref[k + 1]
        length = self.starts[k + 1] - self.starts[k]
        ux, uy = (bx - ax) / length, (by - ay) / length
        f = s - self.starts[k]
        return (ax + ux * f - uy * d, ay + uy * f + ux * d)

    def heading(self, s: float) -> float:
        k = min(max(bisect.bisect_right(self.starts, s) - 1, 0), len(self.ref) - 2)
        (ax, ay), (bx, by) = self.ref[k], self.ref[k + 1]
        return math.atan2(by - ay, bx - ax)


class RouteDriver:
    """A driver that knows where it is along the route."""

    def __init__(self, drv: Driver, path: RoutePath, s: float, d: float) -> None:
        self.drv, self.path = drv, path
        self.s, self.d = s, d
        drv.x, drv.y = path.point(s, d)
        drv.heading = path.heading(s)

    def to(
        self,
        s: float,
        v: float,
        d: float | None = None,
        *,
        v_end: float | None = None,
        accel: float = 1500.0,
        decel: float | None = None,
    ) -> None:
        """Drive to ``s`` at up to ``v``, moving linearly to lateral offset ``d`` on the way
        (``Driver.follow`` for ``accel`` and ``decel``)."""
        d_to = self.d if d is None else d
        if s <= self.s:
            return
        n = max(2, int((s - self.s) / 1000) + 1)
        pts = [
            self.path.point(self.s + (s - self.s) * i / n, self.d + (d_to - self.d) * i / n)
            for i in range(n + 1)
        ]
        self.drv.follow(pts, v, v_end=v if v_end is None else v_end, accel=accel, decel=decel)
        self.s, self.d = s, d_to

    def stop_at(self, s: float, v: float, d: float | None = None) -> None:
        self.to(s, v, d, v_end=0.0)
