"""A signal: one thing seen in a centre's log that counts towards a warning, with its evidence.

Signals come from three places, each source from exactly one of them so nothing counts twice:

- the **findings** of verifying a centre's log (the offline audit's codes, docs/audit.md, and
  the mirror's): ``signals_from_findings`` maps each code to a source by ``FINDING_SOURCES``;
  an error code it does not name is ``entry_invalid`` (an entry or file that fails
  verification), a warning code it does not name adds nothing;
- the **entries** themselves, decoded, for what is allowed but worth counting (an emergency
  stop, a supervisor's override, an opening of personal data, a device alarm, a jammer band
  not radiating, a device's uptime not advancing): ``exam_core.monitoring.exam_watch``;
- the **statistics** over a month of allocations and results: ``exam_core.monitoring.statistics``;
  and the mirror's own clock for a centre that stays silent (``centre_silent_signal``).

A signal names its centre (the log's origin), the indexes of the entries that caused it (the
warning's evidence), and the examiner and vehicle it is held against when it has them.  Its
``key`` identifies it: recording the same key twice records one signal.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from exam_core.findings import ERROR, Finding
from exam_core.monitoring.points_table import SOURCES

__all__ = [
    "FINDING_SOURCES",
    "IGNORED_FINDINGS",
    "MAX_EVIDENCE",
    "Signal",
    "centre_silent_signal",
    "evidence_of",
    "signals_from_findings",
]

MAX_EVIDENCE = 256
"""The most entry indexes a signal keeps (the first ones; the message says how many more)."""

FINDING_SOURCES: Mapping[str, str] = MappingProxyType(
    {
        # A fork: two trees of one size, or a history that does not extend the one seen.
        "checkpoint_fork": "log_forked",
        "checkpoint_inconsistent": "log_forked",
        "checkpoint_outside_inconsistent": "log_forked",
        "entry_bundle_mismatch": "log_forked",
        # A rollback: fewer entries than the log already signed.
        "bundle_rolled_back": "log_rolled_back",
        "checkpoint_order": "log_rolled_back",
        # An allocation chosen rather than drawn.
        "recommitted_changed": "allocation_rerolled",
        "roster_recommitted": "allocation_rerolled",
        "duplicate_draw": "allocation_rerolled",
        "missing_commitment": "allocation_rerolled",
        "committed_after_round": "allocation_rerolled",
        # An exam that started in a room not shown protected.
        "exam_ungated": "exam_ungated",
        "gate_unsupported": "exam_ungated",
        "gate_device_down": "exam_ungated",
        "gate_uptime_suspect": "exam_ungated",
        "gate_evidence_missing": "exam_ungated",
        "gate_evidence_stale": "exam_ungated",
        # Allowed, counted: an abort and re-commit of the same manifest.
        "recommitted": "allocation_recommitted",
    }
)
"""Finding code → source.  Error codes not named here are ``entry_invalid``."""

IGNORED_FINDINGS = frozenset({"examiner_judged", "exam_device_alarm"})
"""Warning codes whose events ``exam_watch`` reads from the entries themselves (with the
examiner and the alarm's own entry), so the finding would count them twice."""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Signal:
    """One thing that counts towards a warning (see the module docstring)."""

    source: str
    centre: str
    at_ms: int
    """When it happened: the entry's ``ts``, or when the monitoring centre saw it."""
    entries: tuple[int, ...]
    message: str
    examiner: str | None = None
    vehicle: str | None = None
    key: str = ""
    """What identifies it; empty: the source, the centre and the entries."""
    recorded_ms: int | None = None
    """When the monitoring centre first recorded it (None until it is recorded): an action on
    a warning covers the signals recorded up to the action."""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise RuntimeError(f"no source {self.source!r}")

    @property
    def id(self) -> str:
        """A stable id: 32 hex digits of SHA-256 over the centre and the key."""
        key = self.key or f"{self.source}:{','.join(map(str, self.entries))}"
        return _digest(f"{self.centre}\n{key}")


def signals_from_findings(
    centre: str,
    findings: Iterable[Finding],
    at_ms: int,
    *,
    attribute: Callable[[int], tuple[str | None, str | None]] = lambda _: (None, None),
    entry_time: Callable[[int], int | None] = lambda _: None,
) -> list[Signal]:
    """The signals of ``findings`` about the log of ``centre``, seen at ``at_ms``.

    ``attribute(index)`` names the examiner and vehicle of the exam an entry belongs to, and
    ``entry_time(index)`` its ``ts`` (``exam_watch.ExamWatch`` gives both); a finding of no
    entry is held against the centre alone and dated ``at_ms``.
    """
    signals = []
    for finding in findings:
        if finding.code in IGNORED_FINDINGS:
            continue
        source = FINDING_SOURCES.get(finding.code)
        if source is None:
            if finding.severity != ERROR:
                continue
            source = "entry_invalid"
        examiner = vehicle = None
        when = at_ms
        entries: tuple[int, ...] = ()
        if finding.index is not None:
            entries = (finding.index,)
            examiner, vehicle = attribute(finding.index)
            when = entry_time(finding.index) or at_ms
        where = "the log" if finding.index is None else f"entry {finding.index}"
        signals.append(
            Signal(
                source=source,
                centre=centre,
                at_ms=when,
                entries=entries,
                message=f"{where}: {finding.code}: {finding.message}",
                examiner=examiner,
                vehicle=vehicle,
                key=f"finding:{finding.code}:{finding.index}:{_digest(finding.message)}",
            )
        )
    return signals


def centre_silent_signal(
    centre: str, last_seen_ms: int, now_ms: int, allowed_ms: int
) -> Signal | None:
    """A ``centre_silent`` signal when ``centre`` last answered (or, never having answered, was
    added) more than ``allowed_ms`` before ``now_ms``; else None.

    One signal per silent stretch: its key is the time the centre last answered.
    """
    if now_ms - last_seen_ms <= allowed_ms:
        return None
    return Signal(
        source="centre_silent",
        centre=centre,
        at_ms=now_ms,
        entries=(),
        message=f"no answer from the centre since {last_seen_ms} ms "
        f"({(now_ms - last_seen_ms) // 1000} s, more than the {allowed_ms // 1000} s allowed)",
        key=f"silent:{last_seen_ms}",
    )


def evidence_of(indexes: Iterable[int]) -> tuple[tuple[int, ...], int]:
    """At most ``MAX_EVIDENCE`` of ``indexes``, sorted, and how many more there were."""
    ordered = sorted(set(indexes))
    return tuple(ordered[:MAX_EVIDENCE]), max(0, len(ordered) - MAX_EVIDENCE)
