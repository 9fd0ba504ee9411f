"""Rule tables: the deduction rules of one edition of the standard, as versioned data.

Which conditions cost how many points, and every threshold they use (2 s stops, 30 cm
roll-back, 50/30 cm distances, 210/90/30 s limits, 3 s indicators), live in a JSON table under
``data/rules/``, never in code; the engine only knows how to decide each condition.  Codes are
the national ones where ``research/domain.md`` §2.2 gives them; codes we defined ourselves start
with ``X`` and are listed in ``docs/scoring.md``.  Loading is strict: an unknown field, a
missing threshold or a rule the engine cannot decide is an error, not a silent skip.

A row may name the ``method`` by which its condition is decided (1 when absent).  A method is
never changed once a table that uses it has been shipped: a corrected way of deciding a rule is
a new method, used by a new table version, so every score signed under an older table is still
recomputed byte for byte (DESIGN §6).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exam_core.errors import ScoringError
from exam_core.scoring.result import Deduction
from exam_core.scoring.shipped import load_shipped, shipped_by_version
from exam_core.scoring.telemetry import TelemetryLimits

RULE_TABLE_FORMAT = "exam-integrity/rule-table"
DISQUALIFYING = 100
"""Points of a 不合格 rule: it alone fails the exam."""

SUBJECT_2 = 2
SUBJECT_3 = 3
_SUBJECT_KEYS = {str(n): n for n in (SUBJECT_2, SUBJECT_3)}
"""The keys of ``pass_marks``: a subject in its one decimal spelling."""


@dataclass(frozen=True)
class Rule:
    """One row of the table: what is deducted, for which condition, decided how."""

    code: str
    subjects: frozenset[int]
    item: str
    condition: str
    points: int
    judge: str
    params: Mapping[str, int]
    source: str
    method: int = 1
    """Which way of deciding the condition the engine uses (see the module docstring)."""

    def at(self, frame: int) -> Deduction:
        """This rule broken at ``frame``: one deduction of its points."""
        return Deduction(frame, self.code, self.item, self.points)

    def param(self, name: str) -> int:
        try:
            return self.params[name]
        except KeyError:
            raise ScoringError(f"rule {self.code} has no threshold {name!r}") from None


@dataclass(frozen=True)
class RuleTable:
    """A whole table: version, pass marks, sensor limits, common thresholds and the rules."""

    version: str
    edition: str
    pass_marks: Mapping[int, Mapping[str, int]]
    common: Mapping[str, int]
    telemetry: TelemetryLimits
    rules: Mapping[str, Rule]

    def pass_mark(self, subject: int, licence_class: str) -> int:
        marks = self.pass_marks.get(subject)
        if marks is None:
            raise ScoringError(f"rule table {self.version} has no pass mark for subject {subject}")
        return marks.get(licence_class, marks["default"])

    def for_subject(self, subject: int) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules.values() if subject in r.subjects)


def _int_map(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ScoringError(f"{where} must map names to integers")
    return dict(value)


def _exact_keys(obj: Any, keys: set[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ScoringError(f"{where} must be an object")
    if set(obj) != keys:
        raise ScoringError(f"{where} has fields {sorted(obj)}, expected {sorted(keys)}")


def parse_rule_table(data: bytes) -> RuleTable:
    """Parse and check a rule table; raise ``ScoringError`` on any defect.

    Raises:
        ScoringError: the table is not JSON, not a rule table, or has a missing, extra or
            malformed key, or a rule with a repeated code or bad points, judge or subjects.
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ScoringError(f"rule table is not JSON: {e}") from e
    _exact_keys(
        doc, {"format", "version", "edition", "pass_marks", "common", "telemetry", "rules"}, "table"
    )
    if doc["format"] != RULE_TABLE_FORMAT:
        raise ScoringError(f"not a rule table: format {doc['format']!r}")
    pass_marks: dict[int, Mapping[str, int]] = {}
    if not isinstance(doc["pass_marks"], dict):
        raise ScoringError("pass_marks must be an object")
    for subject, marks in doc["pass_marks"].items():
        parsed = _int_map(marks, f"pass_marks.{subject}")
        # The key names a subject exactly as the rules' "subjects" do: "²" or "١" pass
        # str.isdigit() and "02" would silently stand for (or replace) subject 2.
        if "default" not in parsed or subject not in _SUBJECT_KEYS:
            raise ScoringError(f"pass_marks.{subject!r} needs a default and a subject 2 or 3")
        pass_marks[_SUBJECT_KEYS[subject]] = parsed
    tel = _int_map(doc["telemetry"], "telemetry")
    _exact_keys(tel, {"timing_tolerance_ms", "max_step_mm", "max_speed_mm_s"}, "telemetry")
    rules: dict[str, Rule] = {}
    if not isinstance(doc["rules"], list):
        raise ScoringError("rules must be a list")
    keys = {"code", "subjects", "item", "condition", "points", "judge", "params", "source"}
    for n, row in enumerate(doc["rules"]):
        optional = {"method"} & set(row) if isinstance(row, dict) else set()
        _exact_keys(row, keys | optional, f"rules[{n}]")
        code = row["code"]
        method = row.get("method", 1)
        if not isinstance(method, int) or isinstance(method, bool) or not 1 <= method <= 99:
            raise ScoringError(f"rules[{n}]: method must be an integer from 1 to 99")
        if not isinstance(code, str) or code in rules:
            raise ScoringError(f"rules[{n}]: code missing or repeated")
        if row["points"] not in (5, 10, 20, DISQUALIFYING):
            raise ScoringError(f"rule {code}: points must be 5, 10, 20 or 100")
        if row["judge"] not in ("machine", "examiner"):
            raise ScoringError(f"rule {code}: judge must be machine or examiner")
        subjects = row["subjects"]
        if not isinstance(subjects, list) or not set(subjects) <= {SUBJECT_2, SUBJECT_3}:
            raise ScoringError(f"rule {code}: subjects must be a list of 2 and 3")
        for text in ("item", "condition", "source"):
            if not isinstance(row[text], str) or not row[text]:
                raise ScoringError(f"rule {code}: {text} must be a non-empty string")
        rules[code] = Rule(
            code=code,
            subjects=frozenset(subjects),
            item=row["item"],
            condition=row["condition"],
            points=row["points"],
            judge=row["judge"],
            params=_int_map(row["params"], f"rule {code} params"),
            source=row["source"],
            method=method,
        )
    for name in ("version", "edition"):
        if not isinstance(doc[name], str) or not doc[name]:
            raise ScoringError(f"{name} must be a non-empty string")
    return RuleTable(
        version=doc["version"],
        edition=doc["edition"],
        pass_marks=pass_marks,
        common=_int_map(doc["common"], "common"),
        telemetry=TelemetryLimits(**tel),
        rules=rules,
    )


def rule_table_markdown(table: RuleTable) -> str:
    """The table's rows as the Markdown table of ``docs/scoring.md``."""
    lines = [
        "| code | subj. | item | condition | points | thresholds | method | source |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.rules.values():
        points = "不合格 (100)" if r.points == DISQUALIFYING else str(r.points)
        params = ", ".join(f"{k} = {v}" for k, v in r.params.items()) or "—"
        subjects = "/".join(str(n) for n in sorted(r.subjects))
        if r.judge != "machine":
            points += f", judged by the {r.judge}"
        cells = [r.code, subjects, r.item, r.condition, points, params, str(r.method), r.source]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"


DEFAULT_RULE_TABLE = "ga1026-2017-v4.json"


@functools.lru_cache(maxsize=64)
def load_rule_table(name: str = DEFAULT_RULE_TABLE) -> RuleTable:
    """A rule table shipped with the package, by file name."""
    return load_shipped("rules", name, parse_rule_table, "rule table")


@functools.lru_cache(maxsize=64)
def rule_table_by_version(version: str) -> RuleTable:
    """The shipped rule table with this version (as signed into ``exam.scored``)."""
    return shipped_by_version("rules", version, parse_rule_table, "rule table")
