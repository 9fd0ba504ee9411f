"""Integer plane geometry for scoring: poses, the car's body and wheels, lines and zones.

A deduction must come out the same on every machine, so nothing that decides one uses floating
point: coordinates are integer millimetres, headings integer hundredths of a degree, and sine
and cosine come from a table in Q16 fixed point computed once from an integer Taylor series.
Rounding is always floor (Python's ``>>`` and ``//``), which is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from math import isqrt

Point = tuple[int, int]
Segment = tuple[Point, Point]

Q = 16
ONE = 1 << Q
FULL_TURN = 36_000
"""Headings are in 0.01° steps: 0 = +x axis, counter-clockwise positive."""

_PI_E40 = 31415926535897932384626433832795028841971
_E40 = 10**40


def _quarter_wave() -> list[int]:
    """sin(k · 0.01°) for 0 ≤ k ≤ 9000 in Q16, in integers only.

    cos(0.01°) comes from its Taylor series at 10^-40; then sin((k+1)x) = 2 cos(x) sin(kx) −
    sin((k−1)x) walks the quarter wave.  The accumulated error stays below 10^-30, far under
    the Q16 rounding, and the arithmetic is the same on every machine.
    """
    a = _PI_E40 // 18_000
    cos1 = term = _E40
    n = 1
    while term:
        term = -term * a // _E40 * a // _E40 // ((2 * n - 1) * (2 * n))
        cos1 += term
        n += 1
    sin1 = term = a
    n = 1
    while term:
        term = -term * a // _E40 * a // _E40 // ((2 * n) * (2 * n + 1))
        sin1 += term
        n += 1
    wave = [0, sin1]
    for _ in range(2, 9001):
        wave.append(2 * cos1 * wave[-1] // _E40 - wave[-2])
    half = _E40 // 2
    return [(v * ONE + half) // _E40 for v in wave]


@cache
def trig_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    quarter = _quarter_wave()
    sin = []
    for k in range(FULL_TURN):
        q, r = divmod(k, 9000)
        value = (quarter[r], quarter[9000 - r], -quarter[r], -quarter[9000 - r])[q]
        sin.append(value)
    cos = [sin[(k + 9000) % FULL_TURN] for k in range(FULL_TURN)]
    return tuple(sin), tuple(cos)


def sin_q(heading: int) -> int:
    """sin of a heading in 0.01° as Q16 (65536 = 1)."""
    return trig_tables()[0][heading % FULL_TURN]


def cos_q(heading: int) -> int:
    """cos of a heading in 0.01° as Q16 (65536 = 1)."""
    return trig_tables()[1][heading % FULL_TURN]


@dataclass(frozen=True)
class VehicleDims:
    """The exam car's outline, measured from the pose point: the middle of the rear axle."""

    length: int
    width: int
    rear_overhang: int
    wheelbase: int
    track: int

    @property
    def front(self) -> int:
        """Distance from the rear axle forward to the front bumper."""
        return self.length - self.rear_overhang


def to_world(x: int, y: int, rot: tuple[int, int], forward: int, left: int) -> Point:
    """A point given in the car's frame (forward, left) in mm, in field coordinates;
    ``rot`` is (cos, sin) of the heading in Q16."""
    c, s = rot
    return (x + ((forward * c - left * s) >> Q), y + ((forward * s + left * c) >> Q))


def _car_rectangle(
    x: int, y: int, heading: int, *, ahead: int, behind: int, half: int
) -> tuple[Point, ...]:
    """The rectangle from ``behind`` to ``ahead`` (mm forward of the rear axle) and ``half``
    to each side, in field coordinates: front-left, front-right, rear-right, rear-left."""
    sin, cos = trig_tables()
    rot = (cos[heading], sin[heading])
    return (
        to_world(x, y, rot, ahead, half),
        to_world(x, y, rot, ahead, -half),
        to_world(x, y, rot, behind, -half),
        to_world(x, y, rot, behind, half),
    )


def body_corners(x: int, y: int, heading: int, dims: VehicleDims) -> tuple[Point, ...]:
    """Front-left, front-right, rear-right, rear-left corners of the body (a convex polygon)."""
    return _car_rectangle(
        x, y, heading, ahead=dims.front, behind=-dims.rear_overhang, half=dims.width // 2
    )


def wheel_points(x: int, y: int, heading: int, dims: VehicleDims) -> tuple[Point, ...]:
    """Tyre contact points: front-left, front-right, rear-right, rear-left."""
    return _car_rectangle(x, y, heading, ahead=dims.wheelbase, behind=0, half=dims.track // 2)


def front_bumper_mid(x: int, y: int, heading: int, dims: VehicleDims) -> Point:
    sin, cos = trig_tables()
    return to_world(x, y, (cos[heading], sin[heading]), dims.front, 0)


def cross(o: Point, a: Point, b: Point) -> int:
    """Twice the signed area of (o, a, b): > 0 when b is left of o→a."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, a: Point, b: Point) -> bool:
    return min(a[0], b[0]) <= p[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def segments_intersect(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when the closed segments p1p2 and q1q2 share a point (touching counts)."""
    d1, d2 = cross(q1, q2, p1), cross(q1, q2, p2)
    d3, d4 = cross(p1, p2, q1), cross(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(p1, q1, q2))
        or (d2 == 0 and _on_segment(p2, q1, q2))
        or (d3 == 0 and _on_segment(q1, p1, p2))
        or (d4 == 0 and _on_segment(q2, p1, p2))
    )


def point_in_polygon(p: Point, polygon: Sequence[Point]) -> bool:
    """Strictly inside a simple polygon (crossing number); points on an edge are outside."""
    x, y = p
    inside = False
    n = len(polygon)
    for i in range(n):
        a, b = polygon[i], polygon[(i + 1) % n]
        if cross(a, b, p) == 0 and _on_segment(p, a, b):
            return False
        if (a[1] > y) != (b[1] > y):
            # x of the edge at height y, compared without division
            lhs = (x - a[0]) * (b[1] - a[1])
            rhs = (b[0] - a[0]) * (y - a[1])
            if (lhs < rhs) == (b[1] > a[1]):
                inside = not inside
    return inside


def polygon_edges(polygon: Sequence[Point]) -> tuple[Segment, ...]:
    n = len(polygon)
    return tuple((polygon[i], polygon[(i + 1) % n]) for i in range(n))


def polygon_crosses(polygon: Sequence[Point], segments: Iterable[Segment]) -> bool:
    """True when any edge of the polygon touches or crosses any of the segments."""
    edges = polygon_edges(polygon)
    return any(segments_intersect(a, b, c, d) for c, d in segments for a, b in edges)


def distance_to_segment(p: Point, a: Point, b: Point) -> int:
    """Distance from p to the closed segment ab in whole millimetres (rounded down)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    px, py = p[0] - a[0], p[1] - a[1]
    length2 = dx * dx + dy * dy
    dot = px * dx + py * dy
    if length2 == 0 or dot <= 0:
        return isqrt(px * px + py * py)
    if dot >= length2:
        qx, qy = p[0] - b[0], p[1] - b[1]
        return isqrt(qx * qx + qy * qy)
    c = px * dy - py * dx
    return isqrt(c * c // length2)


def signed_distance_to_line(p: Point, a: Point, b: Point) -> int:
    """Signed distance from p to the infinite line ab, positive on its left, in mm (floor)."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    return cross(a, b, p) // isqrt(dx * dx + dy * dy)


def body_gap_to_edge(corners: Sequence[Point], a: Point, b: Point) -> int:
    """The distance of the body from an edge line, in mm: how far the farther of its two
    right-hand corners (front-right and rear-right, ``body_corners`` order) is from the line ab,
    positive on the line's left, the road side.

    This is the one definition every item uses (坡道定点停车, 靠边停车): the tables deduct when
    the body is more than 30 or 50 cm from the edge, and a body stopped askew is that far as
    soon as either end of its right side is, so the nearer corner would let a slanted stop pass.
    """
    return max(signed_distance_to_line(corners[1], a, b), signed_distance_to_line(corners[2], a, b))


def bounding_box(points: Iterable[Point]) -> tuple[int, int, int, int]:
    pts = list(points)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


class SegmentIndex:
    """A grid over line segments so that a point or body is tested only against nearby lines."""

    def __init__(self, segments: Sequence[Segment], cell: int = 2000) -> None:
        self.segments = tuple(segments)
        self.cell = cell
        self._grid: dict[tuple[int, int], list[int]] = {}
        for n, (a, b) in enumerate(self.segments):
            x0, y0, x1, y1 = bounding_box((a, b))
            for gx in range(x0 // cell, x1 // cell + 1):
                for gy in range(y0 // cell, y1 // cell + 1):
                    self._grid.setdefault((gx, gy), []).append(n)

    def near(self, points: Iterable[Point], margin: int = 0) -> list[Segment]:
        """Segments in the grid cells covering the points' bounding box grown by ``margin``."""
        x0, y0, x1, y1 = bounding_box(points)
        c = self.cell
        found: set[int] = set()
        for gx in range((x0 - margin) // c, (x1 + margin) // c + 1):
            for gy in range((y0 - margin) // c, (y1 + margin) // c + 1):
                found.update(self._grid.get((gx, gy), ()))
        return [self.segments[n] for n in sorted(found)]
