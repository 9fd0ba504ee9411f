"""Any telemetry that passes the parser is scored without an exception: random but physically
possible tracks (format version 2, with camera, pedals, gearbox and commands), including
one-frame tracks, cars that never stop and cars far off the course."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.scoring import FieldCourse, RouteCourse, RuleTable, score_track
from exam_core.scoring.cab_inputs import KNOWN_COMMANDS, KNOWN_VISION, PEDAL_FULL
from exam_core.scoring.telemetry import AIR_NONE, KNOWN_SIGNALS, VALID_GEARS, Track

from .conftest import EXAM_ID


@st.composite
def tracks(draw: st.DrawFn) -> Track:
    n = draw(st.integers(1, 60))
    x0 = draw(st.integers(-200_000, 10_000_000))
    y0 = draw(st.integers(-200_000, 200_000))
    steps = draw(
        st.lists(
            st.tuples(st.integers(-3000, 3000), st.integers(-3000, 3000)), min_size=n, max_size=n
        )
    )
    xs, ys = [], []
    x, y = x0, y0
    for dx, dy in steps:
        x, y = x + dx, y + dy
        xs.append(x)
        ys.append(y)

    speeds = draw(
        st.sampled_from(
            [
                [0, 10, -10, 60, -60, 2000, -800, 14_000, 25_000],
                [60, -60, 2000, -800, 14_000],  # never stops
                [0],  # never moves
            ]
        )
    )

    def col(strategy: st.SearchStrategy[int]) -> tuple[int, ...]:
        return tuple(draw(st.lists(strategy, min_size=n, max_size=n)))

    return Track(
        period_ms=100,
        exam_id=EXAM_ID,
        t=tuple(range(0, n * 100, 100)),
        x=tuple(xs),
        y=tuple(ys),
        odo=col(st.integers(-(10**6), 10**6)),
        heading=col(st.integers(0, 35_999)),
        speed=col(st.sampled_from(speeds)),
        gear=col(st.sampled_from(sorted(VALID_GEARS))),
        rpm=col(st.sampled_from([0, 200, 300, 800, 3000])),
        signals=col(st.integers(0, KNOWN_SIGNALS)),
        version=3,
        accel=col(st.integers(0, PEDAL_FULL)),
        clutch=col(st.integers(0, PEDAL_FULL)),
        steering=col(st.integers(-5400, 5400)),
        engaged=col(st.sampled_from(sorted(VALID_GEARS))),
        command=col(st.sampled_from([0, 0, 0, *sorted(KNOWN_COMMANDS)])),
        vision=col(st.integers(0, KNOWN_VISION)),
        air=col(st.sampled_from([AIR_NONE, 0, 599, 600, 900])),
    )


@settings(max_examples=150, deadline=None)
@given(track=tracks())
def test_any_valid_track_gets_a_result_on_the_field(
    track: Track, table: RuleTable, field: FieldCourse
) -> None:
    result = score_track(track, field, table, "C1")
    assert 0 <= result.score <= 100
    assert all(0 <= d.frame < len(track) for d in result.deductions)
    assert result.passed == (result.score >= 80 and all(d.points < 100 for d in result.deductions))


@settings(max_examples=150, deadline=None)
@given(track=tracks())
def test_any_valid_track_gets_a_result_on_the_route(
    track: Track, table: RuleTable, route: RouteCourse
) -> None:
    result = score_track(track, route, table, "C1")
    assert 0 <= result.score <= 100
    assert all(0 <= d.frame < len(track) for d in result.deductions)
    assert not result.passed or result.score >= 90


def test_one_moving_frame_is_scored(table: RuleTable, field: FieldCourse) -> None:
    one = Track(
        100,
        EXAM_ID,
        (0,),
        (0,),
        (0,),
        (0,),
        (0,),
        (2000,),
        (1,),
        (800,),
        (0,),
        2,
        *((0,),) * 6,
    )
    result = score_track(one, field, table, "C1")
    codes = {d.code for d in result.deductions}
    assert "10101" in codes  # moving without the belt
    assert "X20001" in codes  # and the course never driven
    assert not result.passed
