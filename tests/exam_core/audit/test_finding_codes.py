"""docs/audit.md names every finding code the audit can emit, and only those.

An auditor reads a code and looks up what it means and what to do about it; a code the table
does not list leaves them guessing.  The codes are read from the source of the audit's steps,
the ingest rules it applies and the default replayers: a string given as the code of a
``Finding``, of ``FindingLog.add``, of an ``EntryError`` or of a reading problem, or returned
by one of the audit's helpers that picks a code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SOURCES = [
    *sorted((REPO / "exam_core" / "audit").glob("*.py")),
    REPO / "exam_core" / "log" / "entry.py",
    REPO / "exam_core" / "log" / "registry.py",
    *sorted((REPO / "exam_core" / "log" / "schemas").glob("*.py")),
    REPO / "allocation" / "replayer.py",
    REPO / "allocation" / "verify.py",
    REPO / "allocation" / "commit_timing.py",
    REPO / "devices" / "gate_replayer.py",
    REPO / "devices" / "uptime_replayer.py",
    REPO / "exam_core" / "scoring" / "replayer.py",
    REPO / "exam_core" / "exam_day" / "replayer.py",
]
INGEST_ONLY = {"clock_skew"}
"""Codes of the ingest rules the audit never applies (it has no clock to hold ``ts`` to)."""
CODE = re.compile(r"[a-z]+(_[a-z]+)*")


def _code(node: ast.expr) -> str | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CODE.fullmatch(node.value)
    ):
        return node.value
    return None


def emitted_codes() -> set[str]:
    """Every finding code a call or table in ``SOURCES`` names."""
    found: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                position = {"Finding": 1, "add": 1, "EntryError": 0, "_problem": 0, "problem": 0}
                at = position.get(str(name))
                if at is not None and len(node.args) > at:
                    found.add(_code(node.args[at]) or "")
            elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "FINDING_OF_CAUSE" for t in node.targets
            ):
                assert isinstance(node.value, ast.Dict)
                found.update(_code(v) or "" for v in node.value.values)
            elif isinstance(node, ast.Return) and path.parent.name == "audit":
                # The audit's helpers that pick a code return it (or it and a message).
                value = node.value
                if isinstance(value, ast.Tuple) and value.elts:
                    value = value.elts[0]
                if value is not None:
                    found.add(_code(value) or "")
    return found - {""} - INGEST_ONLY


def documented_codes() -> set[str]:
    """The codes in the first column of the tables under "Finding codes" in docs/audit.md."""
    text = (REPO / "docs" / "audit.md").read_text()
    section = text.split("### Finding codes", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            codes.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return codes


def test_docs_audit_md_lists_every_finding_code_the_audit_can_emit() -> None:
    emitted = emitted_codes()
    assert len(emitted) > 90  # the scan finds the codes, not nothing
    assert {"bundle_rolled_back", "gate_unsupported", "entry_mismatch", "bad_seq"} <= emitted
    documented = documented_codes()
    assert sorted(emitted - documented) == [], "codes the table does not explain"
    assert sorted(documented - emitted) == [], "codes the table lists but nothing emits"
