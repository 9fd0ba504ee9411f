"""The places the maps now mark: a bend at night (alternating beams before it, method 2 of
X30117), and the field's lane dividers (X20004) as map data that is parsed strictly and that
the rule refuses to do without."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    FieldCourse,
    RouteCourse,
    RuleTable,
    rule_table_by_version,
    score_chunks,
    simulate,
)
from exam_core.scoring.course import load_course, parse_course
from exam_core.scoring.sim.route_script import RouteScript
from exam_core.scoring.telemetry import make_chunks

from .conftest import EXAM_ID

MAPS = resources.files("exam_core.scoring") / "data" / "maps"


def test_no_alternating_beams_before_a_bend_at_night(
    route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    script = RouteScript(route, 7, [])
    script.flash_at_bends = False
    run = script.run()
    blobs = make_chunks(vehicle, EXAM_ID, run.frames)
    hits = [d for d in score_chunks(blobs, route, table, "C1").deductions if d.code == "X30117"]
    first, last = run.expected["X30117@bend"]
    assert [(d.points, d.item) for d in hits] == [(100, "lights")]
    assert first <= hits[0].frame <= last
    # method 1 (ga1026-2017/3) asks for the beams at crossings only
    older = score_chunks(blobs, route, rule_table_by_version("ga1026-2017/3"), "C1")
    assert "X30117" not in {d.code for d in older.deductions}


@pytest.mark.parametrize(("lead_s", "deducted"), [(4.6, False), (5.6, True)])
def test_alternating_beams_begun_early_count_only_within_the_window(
    route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer, lead_s: float, deducted: bool
) -> None:
    """The high beam goes on at the lead and 0.8 s later: 4.6 s ahead both flashes are within
    the 5 s window; 5.6 s ahead only the second is."""
    script = RouteScript(route, 7, [])
    script.bend_flash_lead_s = lead_s
    run = script.run()
    result = score_chunks(make_chunks(vehicle, EXAM_ID, run.frames), route, table, "C1")
    hits = [d.frame for d in result.deductions if d.code == "X30117"]
    assert bool(hits) == deducted
    if deducted:
        first, last = run.expected["X30117@bend"]
        assert first <= hits[0] <= last


def _field_doc(name: str = "k2-field-a-v3.json") -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((MAPS / name).read_text())
    return doc


@pytest.mark.parametrize(
    "dividers",
    [[[[0, 0]]], [[[0, 0], [0, 0]]], "x", [[[0, 0], [1.5, 2]]]],
    ids=["one-point", "repeated-point", "not-a-list", "not-integer"],
)
def test_malformed_lane_dividers_are_refused(dividers: object) -> None:
    doc = _field_doc()
    doc["roads"]["lane_dividers"] = dividers
    with pytest.raises(ScoringError):
        parse_course(json.dumps(doc).encode())


def test_field_lane_dividers_are_map_data() -> None:
    course = load_course("k2-field-a-v3.json")
    assert isinstance(course, FieldCourse)
    assert course.lane_dividers == (((157500, 54000), (157500, 100000)),)
    older = load_course("k2-field-a-v2.json")
    assert isinstance(older, FieldCourse)
    assert older.lane_dividers == ()
    doc = _field_doc()
    doc["roads"]["dividers"] = []
    with pytest.raises(ScoringError, match="unknown"):
        parse_course(json.dumps(doc).encode())


def test_a_field_without_dividers_has_none_to_straddle(
    table: RuleTable, vehicle: Ed25519Signer
) -> None:
    older = load_course("k2-field-a-v2.json")
    assert isinstance(older, FieldCourse)
    run = simulate(load_course("k2-field-a-v3.json"), 7, ["X20004"])
    result = score_chunks(make_chunks(vehicle, EXAM_ID, run.frames), older, table, "C1")
    assert "X20004" not in {d.code for d in result.deductions}


def test_route_zones_of_the_new_kinds_parse_and_others_are_refused() -> None:
    doc = json.loads((MAPS / "k3-route-a-v3.json").read_text())
    course = parse_course(json.dumps(doc).encode())
    assert isinstance(course, RouteCourse)
    kinds = {z.item for z in course.zones}
    assert {"yellow_grid", "no_stopping", "bend"} <= kinds
    doc["zones"].append({"item": "yellow_box", "from": 1, "to": 2})
    with pytest.raises(ScoringError, match="unknown item"):
        parse_course(json.dumps(doc).encode())
    doc["zones"][-1] = {"item": "yellow_grid", "from": 5, "to": 5}
    with pytest.raises(ScoringError, match="from must be below to"):
        parse_course(json.dumps(doc).encode())
