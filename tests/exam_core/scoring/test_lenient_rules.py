"""The rules that used to let a candidate off: a body stopped askew is as far from the edge as
its farther corner, the lane-change signal counts from the start of the sideways movement, and
a roll-back is judged when starting off, with no lower bound the table does not have.

Each case also runs under ``ga1026-2017/1``, whose methods stay as they were so that every
score signed under it recomputes; that shows what the new methods changed.
"""

from __future__ import annotations

import math

import pytest

from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    FieldCourse,
    Frame,
    RouteCourse,
    RuleTable,
    ScoreResult,
    rule_table_by_version,
    score_chunks,
)
from exam_core.scoring.geometry import VehicleDims, body_corners, body_gap_to_edge
from exam_core.scoring.sim.route_driver import RouteDriver, RoutePath
from exam_core.scoring.sim.route_script import RouteScript
from exam_core.scoring.sim.sim_car import Driver, Noise
from exam_core.scoring.telemetry import GEAR_NEUTRAL, PARKING_BRAKE

from .conftest import chunk_blobs

V1 = rule_table_by_version("ga1026-2017/1")
SKEWS = [(6, 590), (9, 780), (12, 970)]
"""Degrees askew (nose away from the edge) and the front-right corner's distance in mm."""


def scored(
    frames: list[Frame], course: FieldCourse | RouteCourse, table: RuleTable, signer: Ed25519Signer
) -> ScoreResult:
    return score_chunks(chunk_blobs(signer, frames), course, table, "C1")


def codes(result: ScoreResult) -> dict[str, list[tuple[int, int]]]:
    out: dict[str, list[tuple[int, int]]] = {}
    for d in result.deductions:
        out.setdefault(d.code, []).append((d.frame, d.points))
    return out


def still_driver() -> Driver:
    drv = Driver(3, Noise(position_mm=0, heading_centideg=0, speed_fraction=0, rpm=0))
    drv.engine, drv.gear = True, 1
    drv.set(PARKING_BRAKE, False)
    return drv


def pose_for_corner(dims: VehicleDims, skew_deg: float, corner_mm: float) -> float:
    """Lateral offset of the pose point (rear-axle middle) that puts the front-right corner of a
    body turned ``skew_deg`` away from the edge ``corner_mm`` from it."""
    a = math.radians(skew_deg)
    return corner_mm - dims.front * math.sin(a) + dims.width / 2 * math.cos(a)


def skewed_pull_over(
    route: RouteCourse, skew_deg: float, corner_mm: float
) -> tuple[list[Frame], int]:
    """Drive the route to the pull-over section and stop there askew."""
    drv = still_driver()
    zone = next(z for z in route.zones if z.item == "pull_over")
    stop_s = zone.start + 90_000
    path = RoutePath(route)
    car = RouteDriver(drv, path, 10_000, 1_750)
    car.to(stop_s - 20_000, 11_111, v_end=3000)
    car.stop_at(stop_s, 3000, d=pose_for_corner(route.vehicle, skew_deg, corner_mm))
    drv.heading = path.heading(stop_s) + math.radians(skew_deg)
    stop = drv.frame
    drv.hold(3000)
    return drv.frames, stop


def skewed_hill_stop(
    field: FieldCourse, skew_deg: float, corner_mm: float
) -> tuple[list[Frame], int]:
    """Stop askew at the hill start's pole, the front-right corner ``corner_mm`` from the edge
    line (y = -1100, the road on its left)."""
    drv = still_driver()
    drv.x, drv.y = 40_000.0, 0.0
    y = pose_for_corner(field.vehicle, skew_deg, corner_mm) - 1_100
    drv.follow([(40_000.0, 0.0), (50_000.0, y), (56_400.0, y)], 2000)
    drv.heading = math.radians(skew_deg)
    stop = drv.frame
    drv.hold(3000)
    return drv.frames, stop


def test_the_edge_distance_is_the_farther_right_hand_corner() -> None:
    dims = VehicleDims(length=4500, width=1800, rear_overhang=900, wheelbase=2700, track=1500)
    edge = ((0, -1100), (100_000, -1100))
    assert body_gap_to_edge(body_corners(10_000, 0, 0, dims), *edge) == 200
    sin, cos = math.sin(math.radians(12)), math.cos(math.radians(12))
    # nose 12° away from the edge: the front-right corner swings out, the rear-right one in
    away = body_gap_to_edge(body_corners(10_000, 0, 1200, dims), *edge)
    assert abs(away - (1100 + 3600 * sin - 900 * cos)) <= 1
    # nose 12° towards it: the rear-right corner is the far one
    towards = body_gap_to_edge(body_corners(10_000, 0, 34_800, dims), *edge)
    assert abs(towards - (1100 + 900 * sin - 900 * cos)) <= 1


@pytest.mark.parametrize(("skew", "corner"), SKEWS)
def test_a_pull_over_stopped_askew_is_judged_by_its_far_corner(
    skew: int, corner: int, route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames, stop = skewed_pull_over(route, skew, corner)
    found = codes(scored(frames, route, table, vehicle))
    assert found["X31202"] == [(stop, 100)]
    assert "X31203" not in found
    # the nearest point of the same body is 12, 7.6 and 3.4 cm from the edge: method 1 of
    # ga1026-2017/1 measured that and let the stop pass
    old = codes(scored(frames, route, V1, vehicle))
    assert "X31202" not in old
    assert "X31203" not in old


@pytest.mark.parametrize(("corner", "expected"), [(400, [("X31203", 10)]), (280, [])])
def test_a_pull_over_askew_in_the_ten_point_band_and_just_inside_it(
    corner: int,
    expected: list[tuple[str, int]],
    route: RouteCourse,
    table: RuleTable,
    vehicle: Ed25519Signer,
) -> None:
    frames, stop = skewed_pull_over(route, 6, corner)
    found = codes(scored(frames, route, table, vehicle))
    got = [(c, p) for c in ("X31202", "X31203") for f, p in found.get(c, [])]
    assert got == expected
    assert all(f == stop for c in ("X31202", "X31203") for f, _ in found.get(c, []))


@pytest.mark.parametrize(("skew", "corner"), SKEWS)
def test_a_hill_stop_askew_is_judged_by_the_same_definition(
    skew: int, corner: int, field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames, stop = skewed_hill_stop(field, skew, corner)
    found = codes(scored(frames, field, table, vehicle))
    assert found["X20305"] == [(stop, 100)]
    assert "20304" not in found


def test_a_hill_stop_askew_in_the_ten_point_band(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames, stop = skewed_hill_stop(field, 9, 420)
    found = codes(scored(frames, field, table, vehicle))
    assert found["20304"] == [(stop, 10)]
    assert "X20305" not in found
    frames, _ = skewed_hill_stop(field, 9, 280)
    assert not {"20304", "X20305"} & set(codes(scored(frames, field, table, vehicle)))


def lane_change_run(route: RouteCourse, signal_ms: int) -> RouteScript:
    script = RouteScript(route, 7, (), lane_change_signal_ms=signal_ms)
    script.run()
    return script


@pytest.mark.parametrize("signal_ms", [2900, 1200])
def test_a_late_lane_change_signal_is_deducted_at_the_start_of_the_movement(
    signal_ms: int, route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    script = lane_change_run(route, signal_ms)
    frames, starts = script.drv.frames, script.lane_change_starts
    found = codes(scored(frames, route, table, vehicle))
    late = found["X30106"]
    # out and back in 变更车道 and 超车, and to and from the leftmost lane for the left turn
    assert len(late) == len(starts) == 8
    for (frame, points), start in zip(late, starts, strict=True):
        assert points == 100
        assert start - 1 <= frame <= start + 2  # within a frame of where the move begins
    assert "X30105" not in found
    if signal_ms == 1200:
        # timed at the frame the car is counted in the new lane (method 1), the same signal
        # had been on for more than 3 s: ga1026-2017/1 let it pass
        assert "X30106" not in codes(scored(frames, route, V1, vehicle))


def test_a_lane_change_signalled_3_1_s_ahead_is_clean(
    route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames = lane_change_run(route, 3100).drv.frames
    assert scored(frames, route, table, vehicle).deductions == ()


def stand_and_roll_back(roll_mm: float, *, engine: bool) -> list[Frame]:
    """On the field before the first item: stand, roll back (engine running or switched off),
    stand."""
    drv = still_driver()
    drv.hold(2000)
    if not engine:
        drv.engine, drv.gear = False, GEAR_NEUTRAL
    drv.roll_back(roll_mm)
    drv.hold(1000)
    return drv.frames


def test_any_roll_back_when_starting_off_costs_ten_points(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames = stand_and_roll_back(40, engine=True)
    assert [p for _, p in codes(scored(frames, field, table, vehicle))["10202"]] == [10]
    # ga1026-2017/1 had a 10 cm lower bound the national table does not have
    assert "10202" not in codes(scored(frames, field, V1, vehicle))


def test_a_roll_back_once_parked_with_the_engine_off_is_not_starting_off(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    frames = stand_and_roll_back(200, engine=False)
    assert "10202" not in codes(scored(frames, field, table, vehicle))
    assert "10202" in codes(scored(frames, field, V1, vehicle))
