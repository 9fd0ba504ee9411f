"""Integer geometry: the fixed-point trig table against floating point (a test oracle only),
and the predicates the rules use, in both directions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exam_core.scoring.geometry import (
    ONE,
    SegmentIndex,
    VehicleDims,
    body_corners,
    cos_q,
    distance_to_segment,
    point_in_polygon,
    polygon_crosses,
    segments_intersect,
    signed_distance_to_line,
    sin_q,
    trig_tables,
    wheel_points,
)

CAR = VehicleDims(length=4500, width=1800, rear_overhang=900, wheelbase=2700, track=1500)


def test_trig_table_matches_the_correctly_rounded_values() -> None:
    sin, cos = trig_tables()
    assert len(sin) == len(cos) == 36_000
    for k in range(0, 36_000, 7):
        assert sin[k] == round(math.sin(math.radians(k / 100)) * ONE)
        assert cos[k] == round(math.cos(math.radians(k / 100)) * ONE)
    assert (sin_q(9000), cos_q(9000), sin_q(-9000), cos_q(36_000)) == (ONE, 0, -ONE, ONE)


def test_body_at_heading_zero_and_ninety() -> None:
    assert body_corners(0, 0, 0, CAR) == ((3600, 900), (3600, -900), (-900, -900), (-900, 900))
    assert body_corners(1000, 0, 9000, CAR) == (
        (100, 3600),
        (1900, 3600),
        (1900, -900),
        (100, -900),
    )
    assert wheel_points(0, 0, 0, CAR) == ((2700, 750), (2700, -750), (0, -750), (0, 750))


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6), st.integers(0, 35_999))
def test_body_keeps_its_size_at_any_pose(x: int, y: int, heading: int) -> None:
    fl, fr, rr, rl = body_corners(x, y, heading, CAR)
    assert abs(math.dist(fl, fr) - CAR.width) <= 2
    assert abs(math.dist(fr, rr) - CAR.length) <= 2
    assert point_in_polygon((x, y), (fl, fr, rr, rl))


def test_segments_intersect_both_ways() -> None:
    assert segments_intersect((0, 0), (10, 10), (0, 10), (10, 0))
    assert segments_intersect((0, 0), (10, 0), (10, 0), (20, 5))  # touching end points
    assert segments_intersect((0, 0), (10, 0), (5, 0), (20, 0))  # overlapping, collinear
    assert not segments_intersect((0, 0), (10, 0), (11, 0), (20, 0))
    assert not segments_intersect((0, 0), (10, 0), (0, 1), (10, 1))
    assert not segments_intersect((0, 0), (10, 10), (6, 5), (20, 5))


def test_point_in_polygon_both_ways_and_edges_are_outside() -> None:
    square = ((0, 0), (10, 0), (10, 10), (0, 10))
    assert point_in_polygon((5, 5), square)
    assert not point_in_polygon((15, 5), square)
    assert not point_in_polygon((10, 5), square)
    assert not point_in_polygon((0, 0), square)
    l_shape = ((0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10))
    assert point_in_polygon((2, 8), l_shape)
    assert not point_in_polygon((8, 8), l_shape)


def test_distances_are_whole_millimetres_rounded_down() -> None:
    assert distance_to_segment((5, 3), (0, 0), (10, 0)) == 3
    assert distance_to_segment((13, 4), (0, 0), (10, 0)) == 5
    assert distance_to_segment((-3, -4), (0, 0), (10, 0)) == 5
    assert distance_to_segment((1, 1), (0, 0), (0, 0)) == 1
    assert signed_distance_to_line((5, 3), (0, 0), (10, 0)) == 3
    assert signed_distance_to_line((5, -3), (0, 0), (10, 0)) == -3


def test_polygon_crosses_and_the_index_finds_near_lines_only() -> None:
    lines = [((0, 0), (10_000, 0)), ((50_000, 50_000), (60_000, 50_000))]
    index = SegmentIndex(lines)
    body = body_corners(5000, 500, 0, CAR)
    assert index.near(body) == [lines[0]]
    assert polygon_crosses(body, index.near(body))
    away = body_corners(5000, 2000, 0, CAR)
    assert not polygon_crosses(away, index.near(away))
    assert index.near(body_corners(30_000, 30_000, 0, CAR)) == []


@pytest.mark.parametrize("heading", [0, 4500, 9000, 13_500, 27_000, 35_999])
def test_rotation_is_exact_enough_for_millimetres(heading: int) -> None:
    corners = body_corners(0, 0, heading, CAR)
    rad = math.radians(heading / 100)
    fx, fy = 3600 * math.cos(rad) - 900 * math.sin(rad), 3600 * math.sin(rad) + 900 * math.cos(rad)
    assert abs(corners[0][0] - fx) <= 1
    assert abs(corners[0][1] - fy) <= 1
