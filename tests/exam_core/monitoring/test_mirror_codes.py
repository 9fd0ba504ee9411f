"""docs/monitoring.md explains every code of the mirror's own findings (emitted by the pull and
its tree step), and only those."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exam_core.monitoring.mirror import MIRROR_CODES

REPO = Path(__file__).resolve().parents[3]


def test_every_mirror_finding_code_is_emitted_listed_and_documented() -> None:
    emitted = {
        node.args[1].value
        for module in ("mirror.py", "mirror_tree.py")
        for node in ast.walk(ast.parse((REPO / "exam_core" / "monitoring" / module).read_text()))
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
