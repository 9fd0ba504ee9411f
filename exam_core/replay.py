"""The seam between the offline audit and the domains that recompute their own entries.

The audit (DESIGN §3.5) checks the log itself; the allocation and scoring domains each supply a
``Replayer`` that recomputes the entries of their types (§3.5 steps 4 and 5) from what the
bundle holds.  ``api`` wires the replayers into ``examctl audit`` so that ``exam_core`` never
imports ``allocation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from exam_core.entry import Entry


@dataclass(frozen=True)
class Finding:
    """One audit finding: where (entry index, or None for the bundle), a stable code, and why."""

    index: int | None
    code: str
    message: str
    severity: str = "error"
    """``error`` fails the audit; ``warning`` is reported (e.g. an insecure development beacon)."""


class AuditHistory(Protocol):
    """What a replayer may consult: the verified entries before this one and the blobs."""

    @property
    def entries(self) -> Sequence[Entry]:
        """Every entry of the bundle up to and including the one being replayed, by index,
        refused ones included (see ``refused``)."""
        ...

    def blob(self, sha256_hex: str) -> bytes | None:
        """The blob with this SHA-256 (already checked against its hash), or None if absent."""
        ...

    def refused(self, index: int) -> bool:
        """Whether the ingest rules refused entry ``index`` (the audit reports it).

        A replayer ignores such an entry: a refused key registration registers no key, a
        refused telemetry chunk is no evidence.
        """
        ...


class Replayer(Protocol):
    """Recomputes the entries of some event types and reports every difference."""

    @property
    def event_types(self) -> frozenset[str]: ...

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]: ...
