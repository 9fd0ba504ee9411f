"""The rules coverage report: every rule of the research's tables, decided by the machine only
where this engine really decides it, and the same report in docs/scoring.md."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from exam_core.errors import ScoringError
from exam_core.scoring import RuleTable
from exam_core.scoring.coverage import (
    coverage,
    coverage_counts,
    coverage_markdown,
    load_catalogue,
    parse_catalogue,
)
from exam_core.scoring.rules import rule_table_markdown

CATALOGUE = resources.files("exam_core.scoring") / "data" / "catalogue" / "domain-2017-v1.json"
DOCS = Path(__file__).parents[3] / "docs" / "scoring.md"


def catalogue_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CATALOGUE.read_bytes())
    return doc


def test_every_code_the_catalogue_names_is_a_rule_of_the_table(table: RuleTable) -> None:
    named = {c for r in load_catalogue().rules for c in r.codes}
    assert named <= set(table.rules)
    # and every machine rule of the table implements some rule of the research, but those the
    # research does not list (X31001: no overtaking in the overtaking section, a command the
    # route gives, as 变更车道's is)
    machine = {r.code for r in table.rules.values() if r.judge == "machine"}
    assert machine - named == {"X31001"}


def test_the_report_counts_every_rule_once(table: RuleTable) -> None:
    rows = coverage(table, load_catalogue())
    counts = coverage_counts(rows)
    assert counts["total"] == len(load_catalogue().rules) >= 150
    assert counts["machine"] + counts["examiner"] + counts["none"] == counts["total"]
    for row in rows:
        doc = row.to_json()
        assert {"code", "description", "points", "decided_by", "reason"} <= set(doc)
        assert doc["decided_by"] in {"machine", "examiner", "none"}
        assert doc["reason"]
        assert (doc["code"] is None) == (doc["decided_by"] == "none")


def test_a_rule_is_machine_decided_only_where_the_engine_decides_it(table: RuleTable) -> None:
    belt = next(r for r in load_catalogue().rules if r.codes == ("10101",) and 3 in r.subjects)
    rows = {c.rule.id: c for c in coverage(table, load_catalogue())}
    assert rows[belt.id].decided_by == "machine"
    as_examiner = replace(table.rules["10101"], judge="examiner")
    other = replace(table, rules={**table.rules, "10101": as_examiner})
    assert {c.rule.id: c for c in coverage(other, load_catalogue())}[belt.id].decided_by == (
        "examiner"
    )
    without = replace(table, rules={k: v for k, v in table.rules.items() if k != "10101"})
    row = {c.rule.id: c for c in coverage(without, load_catalogue())}[belt.id]
    assert (row.decided_by, row.code) == ("none", None)
    # a code the engine does not decide is never reported as machine-decided
    unknown = replace(table.rules["10101"], code="X99999")
    fake = replace(table, rules={**without.rules, "X99999": unknown})
    cat = load_catalogue()
    cat = replace(cat, rules=tuple(replace(r, codes=("X99999",)) for r in cat.rules))
    assert {c.decided_by for c in coverage(fake, cat)} == {"none"}


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="other"),
        lambda d: d.update(extra=1),
        lambda d: d["rules"][0].update(points=7),
        lambda d: d["rules"][0].update(subjects=[1]),
        lambda d: d["rules"][0].update(codes="10101"),
        lambda d: d["rules"][0].update(description=""),
        lambda d: d["rules"][1].update(id=d["rules"][0]["id"]),
        lambda d: d["rules"][0].update(codes=[], reason=""),
        lambda d: d["rules"][0].pop("reason"),
    ],
)
def test_malformed_catalogues_are_refused(change: Any) -> None:
    doc = catalogue_doc()
    change(doc)
    with pytest.raises(ScoringError):
        parse_catalogue(json.dumps(doc).encode())
    with pytest.raises(ScoringError):
        parse_catalogue(b"\xff")


def documented(name: str) -> str:
    text = DOCS.read_text()
    begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->"
    return text[text.index(begin) + len(begin) : text.index(end)]


def test_the_documented_report_is_the_current_one(table: RuleTable) -> None:
    assert documented("coverage") == coverage_markdown(coverage(table, load_catalogue())), (
        "regenerate with: examctl score rules --coverage --markdown"
    )


def test_the_documented_rule_table_is_the_shipped_one(table: RuleTable) -> None:
    assert documented("rules") == rule_table_markdown(table), (
        "regenerate with: examctl score rules --markdown"
    )
