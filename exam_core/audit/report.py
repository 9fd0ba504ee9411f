"""What an audit hands back: every finding, collected as the steps run, and the report.

Every step of the audit (``exam_core.audit.check``) adds its findings to one ``FindingLog`` and
goes on: the audit never stops at the first difference (STYLE 6, ``check_*`` returns a report).
One shifted entry can make every later leaf differ, so the log lists at most
``MAX_FINDINGS_PER_CODE`` findings of a code and counts the rest; ``AuditReport`` is what is
left once the steps have run, for people (``examctl audit``) and machines (``to_json``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exam_core.findings import ERROR, WARNING, Finding

__all__ = ["MAX_FINDINGS_PER_CODE", "AuditReport", "FindingLog"]

MAX_FINDINGS_PER_CODE = 1000
"""Beyond this many findings of one code the rest are counted, not listed (one shifted entry
can make every later leaf differ)."""


class FindingLog:
    """Collects findings, listing at most ``MAX_FINDINGS_PER_CODE`` of each code."""

    def __init__(self, findings: Sequence[Finding] = ()) -> None:
        self.listed: list[Finding] = []
        self._count: dict[str, int] = defaultdict(int)
        self.extend(findings)

    def add(self, index: int | None, code: str, message: str, severity: str = ERROR) -> None:
        self._count[code] += 1
        if self._count[code] <= MAX_FINDINGS_PER_CODE:
            self.listed.append(Finding(index, code, message, severity))

    def extend(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            self.add(f.index, f.code, f.message, f.severity)

    def done(self) -> tuple[Finding, ...]:
        """The listed findings, then one per code that had more than could be listed."""
        tail = [
            Finding(None, code, f"{n - MAX_FINDINGS_PER_CODE} more {code} findings not listed")
            for code, n in sorted(self._count.items())
            if n > MAX_FINDINGS_PER_CODE
        ]
        return (*self.listed, *tail)


@dataclass(frozen=True)
class AuditReport:
    """Everything the audit found, with what it audited; ``ok`` only without error findings."""

    findings: tuple[Finding, ...]
    origin: str | None
    tree_size: int | None
    """Size of the newest checkpoint (None when the bundle has no readable checkpoint)."""
    root_hash: bytes | None
    entries: int
    checkpoints: int
    blobs: int

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity != WARNING)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report (hashes in hex) for machines."""
        return {
            "ok": self.ok,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex() if self.root_hash is not None else None,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "blobs": self.blobs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [
                {"index": f.index, "code": f.code, "message": f.message, "severity": f.severity}
                for f in self.findings
            ],
        }
