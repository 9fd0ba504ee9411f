"""A finding: one reason something does not hold, from a check that reports rather than raises.

``check_*`` functions return every finding instead of stopping at the first (STYLE 6): the
offline audit (``exam_core.audit``), the replayers of each domain and ``allocation``'s own
checks all speak of what they found in this one type, so a finding reads the same whether
``examctl audit`` or ``examctl alloc verify`` prints it.  It lives beside ``exam_core.errors``,
apart from the audit, so that a domain can report findings without importing the audit.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ERROR", "WARNING", "Finding"]

ERROR = "error"
"""A finding that fails the check."""
WARNING = "warning"
"""A finding that is reported and passes (e.g. an insecure development beacon)."""


@dataclass(frozen=True)
class Finding:
    """Where (an entry's index, or None for what belongs to no entry: the bundle, a file, a
    publication), a stable ``code``, and a ``message`` that says why."""

    index: int | None
    code: str
    message: str
    severity: str = ERROR
    """``error`` fails the check; ``warning`` is reported (e.g. an insecure development beacon)."""
