"""The route drawn for each 科目三 candidate is the route their exam is driven and scored on.

A 科目三 session's opening may name its approved routes; a version-2 manifest draws one of them
for each candidate (docs/allocation.md §5a) and ``allocation.made`` publishes the draw.  The
session then holds each exam to its candidate's route: the score must name it as its map, a
repair keeps it, and a draw outside the approved routes, with a candidate twice or missing, or
from a manifest that draws no routes, is refused and changes nothing.  An opening that names no
approved routes is valid as before: every exam is then on the session's ``route``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from allocation import (
    LateChange,
    RouteId,
    committed_fields,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    vrf_public_key,
)
from exam_core.errors import ExamDayError
from exam_core.exam_day.plan import parse_plan, session_opened_fields
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.route_day import OPENED_FIELDS, ROUTE, ROUTES, RouteDraw, scored_on


@pytest.fixture
def script() -> RouteDraw:
    day = RouteDraw()
    day.open_session()
    day.allocate()
    return day


def _committed() -> RouteDraw:
    """A route day up to its commit: six candidates sealed, the manifest committed."""
    day = RouteDraw()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.commit()
    return day


def _examine(script: RouteDraw, candidate: str, base: int) -> str:
    """Board, start, one chunk, end: the crew is free again for its next candidate."""
    exam = script.board(candidate, ts=base)
    script.start(candidate, exam, ts=base + 2_000)
    script.chunk(candidate, exam, 0, ts=base + 3_000)
    script.end(candidate, exam, 1, ts=base + 4_000)
    return exam


def test_the_draw_gives_each_candidate_an_approved_route_and_the_exam_takes_it(
    script: RouteDraw,
) -> None:
    flow = script.day.sessions[ds.SESSION]
    drawn = script.drawn()
    assert sorted(drawn) == list(flow.roster)
    assert flow.routes == drawn
    # Six candidates over two routes, loaded evenly: three each.
    assert sorted(drawn.values()) == sorted(ROUTES * 3)
    for n, (candidate, route) in enumerate(sorted(drawn.items())):
        assert flow.route_of(candidate) == route
        exam = _examine(script, candidate, ds.START + 10_000 * n)
        assert flow.exams[exam].route == route
    assert flow.route_of("c-99") == ROUTE


def test_a_score_must_name_the_route_drawn_not_the_sessions(script: RouteDraw) -> None:
    candidate = script.moved()
    drawn = script.drawn()[candidate]
    assert drawn != ROUTE
    exam = script.board(candidate)
    script.start(candidate, exam)
    script.chunk(candidate, exam, 0)
    script.end(candidate, exam, 1)
    on_session = script.refused("exam.scored", ds.SCORER, ds.START, **scored_on(exam, ROUTE, 1))
    assert on_session.code == "score_route"
    assert f"the exam's route {drawn!r}" in on_session.message
    script.score(exam, 1)
    assert script.day.sessions[ds.SESSION].exams[exam].passed is True


def test_a_repair_keeps_every_candidates_route(script: RouteDraw) -> None:
    flow = script.day.sessions[ds.SESSION]
    drawn = script.drawn()
    absent = flow.roster[0]
    script.repair(LateChange("no_show", absent))
    before = dict(script.assignment)
    leaving = before[flow.roster[1]]
    script.repair(LateChange("examiner_withdrawn", leaving), ts=ds.START + 1_000)
    assert flow.routes == drawn
    reassigned = sorted(c for c, e in before.items() if e == leaving)
    for n, candidate in enumerate(reassigned):
        assert script.assignment[candidate] != leaving
        exam = _examine(script, candidate, ds.START + 10_000 * (n + 1))
        assert flow.exams[exam].route == drawn[candidate]


@pytest.mark.parametrize(
    "change",
    ["a route not approved", "a candidate twice", "a candidate without a route", "a stranger"],
)
def test_a_draw_that_is_not_one_approved_route_per_candidate_is_refused(change: str) -> None:
    day = _committed()
    assert day.manifest is not None
    allocation = make_allocation(
        day.manifest_bytes, day.manifest, ds.BEACON.reveal(day.manifest.beacon.round), ds.VRF_SECRET
    )
    fields: dict[str, Any] = made_fields(allocation, ds.SESSION)
    pairs = [list(p) for p in fields["routes"]]
    if change == "a route not approved":
        pairs[0][1] = "k3-route-a/1"
    elif change == "a candidate twice":
        pairs[1][0] = pairs[0][0]
    elif change == "a candidate without a route":
        pairs = pairs[1:]
    else:
        pairs.append(["c-99", ROUTES[0]])
    refused = day.refused(
        "allocation.made", ds.ALLOCATOR, ds.SEAL_UNTIL + 20_000, **(fields | {"routes": pairs})
    )
    assert refused.code == "routes"


def test_routes_from_a_manifest_that_draws_none_are_refused() -> None:
    day = ds.DayScript()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.commit()
    assert day.manifest is not None
    allocation = make_allocation(
        day.manifest_bytes, day.manifest, ds.BEACON.reveal(day.manifest.beacon.round), ds.VRF_SECRET
    )
    fields = made_fields(allocation, ds.SESSION) | {
        "routes": [[c, "k2-field-a/1"] for c in day.day.sessions[ds.SESSION].roster]
    }
    refused = day.refused("allocation.made", ds.ALLOCATOR, ds.SEAL_UNTIL + 20_000, **fields)
    assert refused.code == "routes"


def test_a_manifest_whose_routes_are_not_the_approved_ones_is_refused_at_commit() -> None:
    day = RouteDraw()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.prepare()
    assert day.manifest is not None
    roster = replace(day.manifest.roster, routes=(RouteId("k3-route-a/1"), RouteId(ROUTES[0])))
    manifest = prepare_manifest(
        roster,
        scale=1000,
        cap=1000,
        beacon=day.manifest.beacon,
        vrf_key=vrf_public_key(ds.VRF_SECRET),
    )
    data = encode_manifest(manifest)
    step = day.step(
        "allocation.committed", ds.ALLOCATOR, ds.SEAL_UNTIL, **committed_fields(data, manifest)
    )
    with pytest.raises(ExamDayError, match="not the session's approved routes"):
        day.day.check(step, data)


def test_a_manifest_that_draws_no_routes_for_a_session_that_approves_two_is_refused() -> None:
    day = RouteDraw()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.prepare()
    assert day.manifest is not None
    manifest = prepare_manifest(
        replace(day.manifest.roster, routes=()),
        scale=1000,
        cap=1000,
        beacon=day.manifest.beacon,
        vrf_key=vrf_public_key(ds.VRF_SECRET),
    )
    data = encode_manifest(manifest)
    step = day.step(
        "allocation.committed", ds.ALLOCATOR, ds.SEAL_UNTIL, **committed_fields(data, manifest)
    )
    with pytest.raises(ExamDayError, match="approved routes must be drawn"):
        day.day.check(step, data)


def test_a_session_without_approved_routes_examines_on_its_route() -> None:
    day = ds.DayScript()
    day.open_session()
    day.allocate()
    flow = day.day.sessions[ds.SESSION]
    assert flow.plan.routes == ()
    assert flow.plan.approved_routes == (ds.OPENED_FIELDS["route"],)
    assert flow.routes == {}
    candidate = flow.roster[0]
    exam = day.board(candidate)
    assert flow.exams[exam].route == ds.OPENED_FIELDS["route"]
    assert "routes" not in session_opened_fields(flow.plan)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"subject": 2}, "only a 科目三 session draws routes"),
        ({"routes": ["k3-route-a/2"]}, "is not an approved route"),
        ({"routes": [ROUTE, ROUTE]}, "a value appears twice"),
        ({"routes": []}, "routes"),
        ({"routes": ["not a route"]}, "routes"),
        ({"routes": [f"k3-route-{n}/1" for n in range(33)] + [ROUTE]}, "routes"),
    ],
)
def test_an_opening_with_bad_approved_routes_is_refused(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ExamDayError, match=message) as caught:
        parse_plan(OPENED_FIELDS | change, ds.ORIGIN)
    assert caught.value.code == "session_plan"


def test_an_opening_with_approved_routes_round_trips() -> None:
    plan = parse_plan(OPENED_FIELDS, ds.ORIGIN)
    assert plan.routes == tuple(ROUTES)
    assert plan.approved_routes == tuple(ROUTES)
    fields = session_opened_fields(plan)
    assert fields["routes"] == ROUTES
    assert parse_plan(fields, ds.ORIGIN) == plan
