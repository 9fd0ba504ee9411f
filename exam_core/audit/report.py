"""What an audit hands back: every finding, collected as the steps run, and the report.

Every step of the audit (``exam_core.audit.check``) adds its findings to one ``FindingLog`` and
goes on: the audit never stops at the first difference (STYLE 6, ``check_*`` returns a report).
One shifted entry can make every later leaf differ, so the log lists at most
``MAX_FINDINGS_PER_CODE`` findings of a code and counts the rest; ``AuditReport`` is what is
left once the steps have run, for people (``examctl audit``) and machines (``to_json``).

Findings quote the bundle (file names, origins, key names), and the bundle is hostile: a file
name with a newline and terminal control sequences could print a fake "audit OK" line, and one
that is not UTF-8 reaches Python as lone surrogates that no UTF-8 output can carry.
``escape_text`` writes every such character as a visible escape; whatever prints a report uses
it, and ``to_json`` does.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exam_core.findings import ERROR, WARNING, Finding

__all__ = ["MAX_FINDINGS_PER_CODE", "AuditReport", "FindingLog", "escape_text"]

MAX_FINDINGS_PER_CODE = 1000
"""Beyond this many findings of one code the rest are counted, not listed (one shifted entry
can make every later leaf differ)."""


_UNPRINTABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidirectional overrides), surrogate, private-use and unassigned characters,
and line or paragraph separators: nothing a terminal should be handed from a bundle."""


def escape_text(text: str) -> str:
    """``text`` with every character a terminal or a UTF-8 encoder could be fooled by written
    as a visible escape (``\\x1b``, ``\\u202e``, ``\\udcff``); the rest unchanged."""
    if text.isprintable() and text.isascii():
        return text
    out = []
    for ch in text:
        if unicodedata.category(ch) not in _UNPRINTABLE:
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


class FindingLog:
    """Collects findings, listing at most ``MAX_FINDINGS_PER_CODE`` of each code."""

    def __init__(self, findings: Sequence[Finding] = ()) -> None:
        self.listed: list[Finding] = []
        self._count: dict[str, int] = defaultdict(int)
        self._unlisted_errors: dict[str, int] = defaultdict(int)
        self.extend(findings)

    def add(self, index: int | None, code: str, message: str, severity: str = ERROR) -> None:
        self._count[code] += 1
        if self._count[code] <= MAX_FINDINGS_PER_CODE:
            self.listed.append(Finding(index, code, message, severity))
        elif severity != WARNING:
            self._unlisted_errors[code] += 1

    def add_unlisted(self, code: str, count: int, severity: str = ERROR) -> None:
        """Count ``count`` more findings of ``code`` without making them: for a step that
        listed ``MAX_FINDINGS_PER_CODE`` of them and can tell how many more there are, where
        making each would cost what the bundle claims rather than what it holds."""
        self._count[code] += count
        if severity != WARNING:
            self._unlisted_errors[code] += count

    def extend(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            self.add(f.index, f.code, f.message, f.severity)

    def done(self) -> tuple[Finding, ...]:
        """The listed findings, then one per code that had more than could be listed: an error
        when some of those it counts are errors, else a warning (warnings alone never fail)."""
        tail = [
            Finding(
                None,
                code,
                f"{n - MAX_FINDINGS_PER_CODE} more {code} findings not listed",
                ERROR if self._unlisted_errors[code] else WARNING,
            )
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
        """A JSON-ready report (hashes in hex) for machines; text from the bundle escaped, so
        that every string is valid Unicode (``escape_text``)."""
        return {
            "ok": self.ok,
            "origin": escape_text(self.origin) if self.origin is not None else None,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex() if self.root_hash is not None else None,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "blobs": self.blobs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [
                {
                    "index": f.index,
                    "code": f.code,
                    "message": escape_text(f.message),
                    "severity": f.severity,
                }
                for f in self.findings
            ],
        }
