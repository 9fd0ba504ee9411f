"""Rule tables and course maps are strict data: shipped ones load, every rule is decidable,
thresholds really come from the table, and malformed files are refused with a reason."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

import pytest

from exam_core.errors import ScoringError
from exam_core.scoring import (
    FieldCourse,
    RouteCourse,
    RuleTable,
    course_by_version,
    parse_course,
    parse_rule_table,
    rule_table_by_version,
    score_chunks,
)
from exam_core.scoring.engine import decided_codes, verify_table_decidable

from .conftest import ScoreFn

DATA = resources.files("exam_core.scoring") / "data"


def table_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "rules" / "ga1026-2017-v1.json").read_bytes())
    return doc


def test_shipped_table_is_complete(table: RuleTable) -> None:
    assert table.version == "ga1026-2017/4"
    assert table.pass_mark(2, "C1") == 80
    assert table.pass_mark(2, "A1") == 90
    assert table.pass_mark(2, "B2") == 90
    assert table.pass_mark(3, "C1") == 90
    for subject in (2, 3):
        verify_table_decidable(table, subject)
        codes = {r.code for r in table.for_subject(subject) if r.judge == "machine"}
        assert codes == decided_codes(subject)
    # national codes from the research where they exist, our own (X…) elsewhere
    for code in ("10101", "10105", "10202", "10210", "20102", "20301", "20303", "20304"):
        assert code in table.rules
    assert all(r.code.isdigit() or r.code.startswith("X") for r in table.rules.values())
    thresholds = {
        ("20104", "max_ms"): 2000,
        ("10105", "max_mm"): 300,
        ("20301", "max_mm"): 500,
        ("20304", "min_mm"): 300,
        ("X20106", "max_ms"): 210_000,
        ("X20404", "max_ms"): 90_000,
        ("20302", "max_ms"): 30_000,
        ("X30106", "min_ms"): 3000,
        ("X20004", "max_ms"): 10_000,
        ("X30207", "min_kpa"): 600,
    }
    for (code, name), value in thresholds.items():
        assert table.rules[code].param(name) == value


def test_shipped_maps_load_by_version(field: FieldCourse, route: RouteCourse) -> None:
    assert course_by_version("k2-field-a/3") == field
    assert course_by_version("k3-route-a/3") == route
    assert [i.item for i in field.items] == [
        "reverse_parking",
        "hill_start",
        "parallel_parking",
        "s_curve",
        "right_angle_turn",
    ]
    zones = {z.item for z in route.zones}
    assert {"start", "straight", "lane_change", "junction_straight", "junction_left"} <= zones
    assert {"junction_right", "crosswalk", "school_zone", "bus_stop", "meeting"} <= zones
    assert {"overtaking", "u_turn", "pull_over"} <= zones
    with pytest.raises(ScoringError):
        course_by_version("k2-field-a/99")
    with pytest.raises(ScoringError):
        rule_table_by_version("ga1026-2013/1")


def test_a_threshold_changed_in_the_table_changes_the_decision(
    table: RuleTable, field: FieldCourse, score_run: ScoreFn
) -> None:
    scored = score_run(field, ["10105"])
    assert "10105" in {d.code for d in scored.result.deductions}
    doc = table_doc()
    for row in doc["rules"]:
        if row["code"] in ("10105", "10202"):
            row["params"]["max_mm"] = 400
    lenient = parse_rule_table(json.dumps(doc).encode())
    again = score_chunks(scored.blobs, field, lenient, "C1")
    codes = {d.code for d in again.deductions}
    assert "10105" not in codes
    assert "10202" in codes


def _mutated(change: Any) -> bytes:
    doc = table_doc()
    change(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="other"),
        lambda d: d.update(extra=1),
        lambda d: d.pop("telemetry"),
        lambda d: d["rules"][0].update(points=7),
        lambda d: d["rules"][0].update(judge="robot"),
        lambda d: d["rules"][0].update(subjects=[1]),
        lambda d: d["rules"][0].update(item=""),
        lambda d: d["rules"][0].update(unknown=True),
        lambda d: d["rules"][1].update(code=d["rules"][0]["code"]),
        lambda d: d["rules"][1]["params"].update(max_ms=2.5),
        lambda d: d["pass_marks"]["2"].pop("default"),
        # A subject key that str.isdigit() takes but int() refuses, reads otherwise, or that
        # is another spelling of a subject the table has already.
        lambda d: d["pass_marks"].update({"²": {"default": 80}}),
        lambda d: d["pass_marks"].update({"1" * 5_000: {"default": 80}}),
        lambda d: d["pass_marks"].update({"\u0663": {"default": 80}}),
        lambda d: d["pass_marks"].update({"02": {"default": 0}}),
        lambda d: d["pass_marks"].update({"1": {"default": 80}}),
        lambda d: d["telemetry"].update(extra=1),
        lambda d: d["rules"][0].update(method=0),
        lambda d: d["rules"][0].update(method="2"),
        lambda d: d["rules"][0].update(method=True),
    ],
)
def test_malformed_tables_are_refused(change: Any) -> None:
    with pytest.raises(ScoringError):
        parse_rule_table(_mutated(change))


def test_not_json_and_missing_thresholds_are_refused(table: RuleTable) -> None:
    with pytest.raises(ScoringError):
        parse_rule_table(b"\xff{")
    with pytest.raises(ScoringError):
        table.rules["10101"].param("max_ms")


def test_a_rule_the_engine_cannot_decide_is_refused() -> None:
    doc = table_doc()
    row = dict(doc["rules"][0], code="X99999")
    doc["rules"].append(row)
    table = parse_rule_table(json.dumps(doc).encode())
    with pytest.raises(ScoringError, match="X99999"):
        verify_table_decidable(table, 2)
    row["judge"] = "examiner"
    verify_table_decidable(parse_rule_table(json.dumps(doc).encode()), 2)


def test_a_method_the_engine_does_not_know_is_refused() -> None:
    doc = table_doc()
    row = next(r for r in doc["rules"] if r["code"] == "10202")
    row["method"] = 2
    verify_table_decidable(parse_rule_table(json.dumps(doc).encode()), 2)
    row["method"] = 3
    with pytest.raises(ScoringError, match="10202 has no method 3"):
        verify_table_decidable(parse_rule_table(json.dumps(doc).encode()), 2)


def test_the_first_table_is_still_shipped_and_decidable() -> None:
    first = rule_table_by_version("ga1026-2017/1")
    for subject in (2, 3):
        verify_table_decidable(first, subject)
    assert all(r.method == 1 for r in first.rules.values())
    assert first.rules["10202"].params == {"min_mm": 100, "max_mm": 300}
    assert course_by_version("k2-field-a/1").version == "k2-field-a/1"


def map_doc(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "maps" / name).read_bytes())
    return doc


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("k2-field-a-v1.json", lambda d: d.update(subject=4)),
        ("k2-field-a-v1.json", lambda d: d["items"].reverse()),
        ("k2-field-a-v1.json", lambda d: d["items"][0].pop("bay")),
        ("k2-field-a-v1.json", lambda d: d["items"][0]["zone"][0].append(1)),
        ("k2-field-a-v1.json", lambda d: d["items"][1].update(pole_line=[[0, 0], [0, 0]])),
        ("k2-field-a-v1.json", lambda d: d["items"][0]["zone"][0].__setitem__(0, 1.5)),
        ("k2-field-a-v1.json", lambda d: d["items"][4].update(indicator="up")),
        ("k2-field-a-v1.json", lambda d: d["vehicle"].update(wheelbase=9000)),
        ("k2-field-a-v1.json", lambda d: d.update(version="")),
        ("k3-route-a-v1.json", lambda d: d["zones"].append({"item": "moon", "from": 1, "to": 2})),
        ("k3-route-a-v1.json", lambda d: d["zones"][0].update({"from": 5, "to": 5})),
        ("k3-route-a-v1.json", lambda d: d["road"].pop("lanes")),
        ("k3-route-a-v1.json", lambda d: d["reference"].append(d["reference"][-1])),
        ("k3-route-a-v2.json", lambda d: d["zones"][0].update(centre=[0, 0])),
        ("k3-route-a-v2.json", lambda d: d["zones"][9].update(centre=[0])),
        ("k2-field-a-v2.json", lambda d: d.update(speed_limit_mm_s=0)),
        ("k2-field-a-v2.json", lambda d: d.update(roads={"lines": []})),
        ("k2-field-a-v2.json", lambda d: d["roads"]["solid_lines"].append([[0, 0]])),
        ("k2-field-l-v1.json", lambda d: d["items"][0].pop("inside")),
        ("k2-field-l-v1.json", lambda d: d["items"][0].pop("centre_line")),
        ("k2-field-l-v1.json", lambda d: d["items"].reverse()),
    ],
)
def test_malformed_maps_are_refused(name: str, change: Any) -> None:
    doc = map_doc(name)
    change(doc)
    with pytest.raises(ScoringError):
        parse_course(json.dumps(doc).encode())


@pytest.mark.parametrize(("subject", "code"), [(2, "X20002"), (2, "X20003"), (3, "X30504")])
def test_a_map_older_than_a_rule_is_refused_rather_than_scored_without_it(
    subject: int, code: str, table: RuleTable, score_run: ScoreFn, request: pytest.FixtureRequest
) -> None:
    old = course_by_version("k2-field-a/1" if subject == 2 else "k3-route-a/1")
    scored = score_run(request.getfixturevalue("field" if subject == 2 else "route"))
    only = replace(table, rules={code: table.rules[code]})
    with pytest.raises(ScoringError, match=code if subject == 2 else "centre point"):
        score_chunks(scored.blobs, old, only, "C1")


def test_map_that_is_not_json_is_refused() -> None:
    with pytest.raises(ScoringError):
        parse_course(b"{not json")
