"""docs/monitoring.md explains every code of the mirror's own findings, and only those."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exam_core.monitoring.mirror import MIRROR_CODES

REPO = Path(__file__).resolve().parents[3]


def test_every_mirror_finding_code_is_emitted_listed_and_documented() -> None:
    source = (REPO / "exam_core" / "monitoring" / "mirror.py").read_text()
    emitted = {
        node.args[1].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "Finding"
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    }
    assert emitted == set(MIRROR_CODES)
    section = (REPO / "docs" / "monitoring.md").read_text().split("### Findings", 1)[1]
    section = section.split("\n### ", 1)[0]
    documented = {
        m
        for line in section.splitlines()
        if line.startswith("| `")
        for m in re.findall(r"`([a-z_]+)`", line.split("|")[1])
    }
    assert documented == set(MIRROR_CODES)
