"""The integer engine against an independent floating-point oracle on the same telemetry.

For each rule decided by body or tyre geometry, the oracle recomputes, in plain floating
point from the recorded frames, the first frame at which the rule's condition holds; the
engine's deduction must be at that frame (one frame of slack where rounding a corner to whole
millimetres can move a touch by one sample).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import pytest

from exam_core.scoring import FieldCourse, Frame, RouteCourse
from exam_core.scoring.course import FieldItem
from exam_core.scoring.geometry import VehicleDims
from exam_core.scoring.sim.sim_car import SimRun

from .conftest import Scored, ScoreFn

P = tuple[float, float]
TYRE = 100.0


def corners(f: Frame, dims: VehicleDims) -> list[P]:
    x, y = f.x, f.y
    h = math.radians(f.heading / 100)
    c, s = math.cos(h), math.sin(h)
    front = dims.length - dims.rear_overhang
    half = dims.width / 2
    pts = [(front, half), (front, -half), (-dims.rear_overhang, -half), (-dims.rear_overhang, half)]
    return [(x + a * c - b * s, y + a * s + b * c) for a, b in pts]


def wheels(f: Frame, dims: VehicleDims) -> list[P]:
    x, y = f.x, f.y
    h = math.radians(f.heading / 100)
    c, s = math.cos(h), math.sin(h)
    wb, half = dims.wheelbase, dims.track / 2
    return [
        (x + a * c - b * s, y + a * s + b * c)
        for a, b in [(wb, half), (wb, -half), (0, -half), (0, half)]
    ]


def orient(a: P, b: P, c: P) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def crosses(p1: P, p2: P, q1: P, q2: P) -> bool:
    d1, d2, d3, d4 = orient(q1, q2, p1), orient(q1, q2, p2), orient(p1, p2, q1), orient(p1, p2, q2)
    return (
        d1 * d2 <= 0
        and d3 * d4 <= 0
        and not (d1 == d2 == 0 and max(p1[0], p2[0]) < min(q1[0], q2[0]))
    )


def seg_distance(p: P, a: P, b: P) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy)))
    return math.dist(p, (a[0] + t * dx, a[1] + t * dy))


def inside(p: P, poly: Sequence[tuple[int, int]]) -> bool:
    xs, ys = [q[0] for q in poly], [q[1] for q in poly]
    if len(poly) == 4:
        return min(xs) < p[0] < max(xs) and min(ys) < p[1] < max(ys)
    hit = False
    for i in range(len(poly)):
        a, b = poly[i], poly[(i + 1) % len(poly)]
        if (a[1] > p[1]) != (b[1] > p[1]) and p[0] < a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (
            b[1] - a[1]
        ):
            hit = not hit
    return hit


def window(run: SimRun, item: FieldItem) -> range:
    flags = [inside((f.x, f.y), item.zone) for f in run.frames]
    start = flags.index(True)
    end = flags.index(False, start) if False in flags[start:] else len(flags)
    return range(start, end)


def first(frames: range, test: Callable[[int], bool]) -> int:
    return next(i for i in frames if test(i))


def body_touch(
    run: SimRun, dims: VehicleDims, lines: Sequence[tuple[P, P]]
) -> Callable[[int], bool]:
    def test(i: int) -> bool:
        c = corners(run.frames[i], dims)
        edges = list(zip(c, c[1:] + c[:1], strict=True))
        return any(crosses(a, b, p, q) for a, b in edges for p, q in lines)

    return test


def wheel_touch(
    run: SimRun, dims: VehicleDims, lines: Sequence[tuple[P, P]]
) -> Callable[[int], bool]:
    def test(i: int) -> bool:
        now = wheels(run.frames[i], dims)
        before = wheels(run.frames[max(i - 1, 0)], dims)
        return any(
            seg_distance(q, a, b) <= TYRE or crosses(p, q, a, b)
            for p, q in zip(before, now, strict=True)
            for a, b in lines
        )

    return test


def moving(run: SimRun, i: int) -> bool:
    return abs(run.frames[i].speed) >= 50


def engine_frame(scored: Scored, code: str) -> int:
    return next(d.frame for d in scored.result.deductions if d.code == code)


FIELD_CASES = ["20101", "20102", "X20405", "X20306", "20403", "20601", "20701"]


@pytest.mark.parametrize("code", FIELD_CASES)
@pytest.mark.parametrize("seed", [3, 4])
def test_field_geometry_matches_the_float_oracle(
    code: str, seed: int, field: FieldCourse, score_run: ScoreFn
) -> None:
    scored = score_run(field, [code], seed=seed)
    run, dims = scored.run, field.vehicle
    items = {i.item: i for i in field.items}
    if code == "20101":
        item = items["reverse_parking"]
        bay = item.bay
        expected = first(
            window(run, item), lambda i: all(inside(c, bay) for c in corners(run.frames[i], dims))
        )
    elif code == "20102":
        item = items["reverse_parking"]
        expected = first(window(run, item), body_touch(run, dims, item.lines))
    elif code == "X20405":
        item = items["parallel_parking"]
        touch = body_touch(run, dims, item.lines)
        expected = first(window(run, item), lambda i: moving(run, i) and touch(i))
    elif code == "X20306":
        item = items["hill_start"]
        assert item.edge_line is not None
        a, b = item.edge_line

        def on_edge(i: int) -> bool:
            w = wheels(run.frames[i], dims)
            length = math.dist(a, b)
            return min(orient(a, b, w[1]), orient(a, b, w[2])) / length <= TYRE

        expected = first(window(run, item), on_edge)
    else:
        name = {"20403": "parallel_parking", "20601": "s_curve", "20701": "right_angle_turn"}[code]
        item = items[name]
        touch = wheel_touch(run, dims, item.edge_lines)
        if code == "20403":
            expected = first(window(run, item), lambda i: moving(run, i) and touch(i))
        else:
            expected = first(window(run, item), touch)
    assert abs(engine_frame(scored, code) - expected) <= 1


@pytest.mark.parametrize("code", ["X30102", "X30103"])
def test_route_body_extent_matches_the_float_oracle(
    code: str, route: RouteCourse, score_run: ScoreFn
) -> None:
    scored = score_run(route, [code], seed=5)
    ref = route.reference
    line = route.lanes * route.lane_width

    def lateral(p: P) -> float:
        best = min(range(len(ref) - 1), key=lambda k: seg_distance(p, ref[k], ref[k + 1]))
        a, b = ref[best], ref[best + 1]
        return orient(a, b, p) / math.dist(a, b)

    def over(i: int) -> bool:
        lat = [lateral(c) for c in corners(scored.run.frames[i], route.vehicle)]
        return max(lat) > line if code == "X30102" else min(lat) < 0

    lo, hi = scored.run.expected[code]
    expected = first(range(lo, hi + 1), over)
    assert abs(engine_frame(scored, code) - expected) <= 1
