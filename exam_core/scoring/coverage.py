"""The rules coverage report: every rule of the research's deduction tables, and who decides it.

"Scoring stays automated" is a claim about coverage: a rule that nobody decides is a rule a
candidate can break for free.  The catalogue under ``data/catalogue/`` lists every rule of
``research/domain.md`` §2.2–§2.6 once (a row that names several faults is one row per fault) with
the codes of the rule table that implement it and, where no machine rule does, why not.  The
report joins it with a rule table and this engine: a rule is decided by ``machine`` when a
machine-judged row of the table that the engine decides implements it, by ``examiner`` when an
examiner-judged row does (the tablet records it as ``exam.examiner_judged``), and by ``none``
otherwise, with the catalogue's reason.  So the report cannot claim more than the engine does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from exam_core.errors import ScoringError
from exam_core.scoring.engine import decided_codes
from exam_core.scoring.rules import RuleTable
from exam_core.scoring.shipped import load_shipped

CATALOGUE_FORMAT = "exam-integrity/rule-catalogue"
DEFAULT_CATALOGUE = "domain-2017-v1.json"
DECIDERS = ("machine", "examiner", "none")


@dataclass(frozen=True)
class CatalogueRule:
    """One fault of the research's tables: where it is, what it costs, what implements it."""

    id: str
    section: str
    subjects: tuple[int, ...]
    item: str
    description: str
    points: int
    codes: tuple[str, ...]
    reason: str
    """Why no machine rule decides it (empty when the codes do)."""


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue of one version."""

    version: str
    source: str
    rules: tuple[CatalogueRule, ...]


@dataclass(frozen=True)
class Coverage:
    """How one catalogue rule is decided under a rule table."""

    rule: CatalogueRule
    code: str | None
    decided_by: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.rule.id,
            "section": self.rule.section,
            "subjects": list(self.rule.subjects),
            "item": self.rule.item,
            "code": self.code,
            "description": self.rule.description,
            "points": self.rule.points,
            "decided_by": self.decided_by,
            "reason": self.reason,
        }


def _fail(where: str, what: str) -> ScoringError:
    return ScoringError(f"catalogue {where}: {what}")


def parse_catalogue(data: bytes) -> Catalogue:
    """Parse and check a catalogue strictly.

    Raises:
        ScoringError: for anything but the documented shape (unknown or missing fields, a
            repeated id, points other than 5, 10, 20 or 100, a row with neither codes nor a
            reason).
    """  # noqa: DOC501 - ``_fail`` builds the ScoringError named above
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ScoringError(f"catalogue is not JSON: {e}") from e
    if not isinstance(doc, dict) or set(doc) != {"format", "version", "source", "rules"}:
        raise _fail("document", "needs exactly format, version, source and rules")
    if doc["format"] != CATALOGUE_FORMAT or not isinstance(doc["rules"], list):
        raise _fail("document", f"format must be {CATALOGUE_FORMAT} with a list of rules")
    keys = {"id", "section", "subjects", "item", "description", "points", "codes", "reason"}
    rules: list[CatalogueRule] = []
    seen: set[str] = set()
    for n, row in enumerate(doc["rules"]):
        where = f"rules[{n}]"
        if not isinstance(row, dict) or set(row) != keys:
            raise _fail(where, f"needs exactly {sorted(keys)}")
        texts = [row[k] for k in ("id", "section", "item", "description", "reason")]
        if not all(isinstance(t, str) for t in texts) or not all(texts[:4]):
            raise _fail(where, "id, section, item and description are non-empty strings")
        if row["id"] in seen:
            raise _fail(where, f"id {row['id']} is repeated")
        seen.add(row["id"])
        subjects, codes = row["subjects"], row["codes"]
        if not isinstance(subjects, list) or not subjects or not set(subjects) <= {2, 3}:
            raise _fail(where, "subjects must list 2 and/or 3")
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise _fail(where, "codes must be a list of rule codes")
        if row["points"] not in (5, 10, 20, 100) or isinstance(row["points"], bool):
            raise _fail(where, "points must be 5, 10, 20 or 100")
        if not codes and not row["reason"]:
            raise _fail(where, "a rule no code implements needs the reason")
        rules.append(
            CatalogueRule(
                id=row["id"],
                section=row["section"],
                subjects=tuple(subjects),
                item=row["item"],
                description=row["description"],
                points=row["points"],
                codes=tuple(codes),
                reason=row["reason"],
            )
        )
    for name in ("version", "source"):
        if not isinstance(doc[name], str) or not doc[name]:
            raise _fail("document", f"{name} must be a non-empty string")
    return Catalogue(doc["version"], doc["source"], tuple(rules))


def load_catalogue(name: str = DEFAULT_CATALOGUE) -> Catalogue:
    """A catalogue shipped with the package, by file name.

    Raises:
        ScoringError: if it is missing or malformed.
    """
    return load_shipped("catalogue", name, parse_catalogue, "rule catalogue")


def _decided(table: RuleTable, rule: CatalogueRule, code: str, judge: str) -> bool:
    row = table.rules.get(code)
    if row is None or row.judge != judge:
        return False
    subjects = set(rule.subjects) & row.subjects
    if judge == "examiner":
        return bool(subjects)
    return any(code in decided_codes(s) for s in subjects)


def coverage(table: RuleTable, catalogue: Catalogue) -> list[Coverage]:
    """Every catalogue rule with who decides it under ``table`` and this engine."""
    out = []
    for rule in catalogue.rules:
        machine = [c for c in rule.codes if _decided(table, rule, c, "machine")]
        examiner = [c for c in rule.codes if _decided(table, rule, c, "examiner")]
        if machine:
            names = ", ".join(machine)
            out.append(Coverage(rule, machine[0], "machine", f"from signed telemetry ({names})"))
        elif examiner:
            why = f"recorded by the examiner as exam.examiner_judged ({examiner[0]})"
            out.append(Coverage(rule, examiner[0], "examiner", f"{why}: {rule.reason}"))
        else:
            reason = rule.reason or f"the table {table.version} does not list its rules"
            out.append(Coverage(rule, None, "none", reason))
    return out


def coverage_counts(rows: list[Coverage]) -> dict[str, int]:
    """How many rules each decider decides, and the total."""
    counts = {d: sum(1 for r in rows if r.decided_by == d) for d in DECIDERS}
    counts["total"] = len(rows)
    return counts


def coverage_markdown(rows: list[Coverage]) -> str:
    """The report as the Markdown table of ``docs/scoring.md``."""
    counts = coverage_counts(rows)
    lines = [
        f"{counts['machine']} of {counts['total']} rules decided by machine, "
        f"{counts['examiner']} by the examiner, {counts['none']} by nobody.",
        "",
        "| id | code | description | points | decided by | reason |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        code = r.code or "—"
        desc = r.rule.description.replace("|", "/")
        lines.append(
            f"| {r.rule.id} | {code} | {desc} | {r.rule.points} | {r.decided_by} | {r.reason} |"
        )
    return "\n".join(lines) + "\n"
