"""Graded warnings: signals added up per examiner, per centre and per car, into levels.

Each signal (``exam_core.monitoring.signals``) counts for its centre, and for the examiner and
the car it names.  Per such subject, the points of its signals inside the points table's window
(``window_days``, counted back from now) add up, and the level is the highest whose threshold
they reach (``PointsTable.levels``), raised to the ``at_least`` of any signal's source: one fork
is red on its own, ten emergency stops by one examiner in a month are yellow.  As signals
arrive the points grow and the level rises; as they age out of the window it falls.

A warning is identified by its subject (``warning_id``), so it is the same warning while it
rises.  Acting on it is a signed entry in the monitoring centre's own log
(``exam_core.monitoring.desk_log``):

- **acknowledged**: somebody has seen it at this level and these signals.  It stays listed as
  acknowledged until a new signal arrives or its level rises, when it is open again.
- **closed**: dealt with.  The signals it had no longer count for it; new ones open it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from exam_core.monitoring.points_table import LEVELS, PointsTable
from exam_core.monitoring.signals import Signal

__all__ = [
    "ACKNOWLEDGED",
    "CLOSED",
    "GradedWarning",
    "Subject",
    "WarningAction",
    "grade",
    "signals_digest",
    "warning_id",
]

ACKNOWLEDGED = "acknowledged"
CLOSED = "closed"
SUBJECT_KINDS = ("centre", "examiner", "vehicle")


@dataclass(frozen=True, order=True)
class Subject:
    """Who a warning is about: a centre (``name`` is its origin), or an examiner or a car of
    a centre (by their pseudonymous id)."""

    kind: str
    centre: str
    name: str


def warning_id(subject: Subject) -> str:
    """The warning's id: 32 hex digits of SHA-256 over its subject."""
    text = f"{subject.kind}\n{subject.centre}\n{subject.name}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def signals_digest(signal_ids: Iterable[str]) -> str:
    """SHA-256 (hex) of the sorted signal ids, one a line: what an action's entry commits to."""
    return hashlib.sha256("".join(f"{s}\n" for s in sorted(signal_ids)).encode()).hexdigest()


@dataclass(frozen=True)
class WarningAction:
    """An acknowledgement or closing, as its entry in the monitoring centre's log states it.

    It covers the warning's signals recorded (``Signal.recorded_ms``) up to ``at_ms``; the
    entry states how many it saw and the digest of their ids."""

    warning: str
    action: str
    actor: str
    why: str
    level: str
    points: int
    at_ms: int
    signals: int
    signals_sha256: str
    log_index: int

    def covers(self, signal: Signal) -> bool:
        return signal.recorded_ms is not None and signal.recorded_ms <= self.at_ms


@dataclass(frozen=True)
class GradedWarning:
    """A subject's warning now: level, points, the signals that count, and what was done."""

    id: str
    subject: Subject
    level: str
    points: int
    signals: tuple[Signal, ...]
    status: str
    """``open`` or ``acknowledged``."""
    actions: tuple[WarningAction, ...]

    @property
    def entries(self) -> tuple[int, ...]:
        """Every entry index the warning's signals cite, ascending."""
        return tuple(sorted({i for s in self.signals for i in s.entries}))


def _subjects(signal: Signal) -> list[Subject]:
    subjects = [Subject("centre", signal.centre, signal.centre)]
    if signal.examiner is not None:
        subjects.append(Subject("examiner", signal.centre, signal.examiner))
    if signal.vehicle is not None:
        subjects.append(Subject("vehicle", signal.centre, signal.vehicle))
    return subjects


def _status(level: str, counted: list[Signal], actions: list[WarningAction]) -> str:
    acks = [a for a in actions if a.action == ACKNOWLEDGED]
    if not acks:
        return "open"
    last = acks[-1]
    if all(last.covers(s) for s in counted) and LEVELS.index(level) <= LEVELS.index(last.level):
        return ACKNOWLEDGED
    return "open"


def grade(
    signals: Iterable[Signal],
    table: PointsTable,
    now_ms: int,
    actions: Iterable[WarningAction] = (),
) -> list[GradedWarning]:
    """Every subject's warning at ``now_ms``, highest level and most points first.

    Signals dated after ``now_ms - window`` count (later ones too: a centre's clock may run
    ahead); a subject whose signals reach no level has no warning.
    """
    by_warning: dict[str, list[WarningAction]] = {}
    for action in sorted(actions, key=lambda a: a.log_index):
        by_warning.setdefault(action.warning, []).append(action)
    since = now_ms - table.window_ms
    grouped: dict[Subject, dict[str, Signal]] = {}
    for signal in signals:
        if signal.at_ms <= since:
            continue
        for subject in _subjects(signal):
            grouped.setdefault(subject, {})[signal.id] = signal
    warnings = []
    for subject, found in grouped.items():
        wid = warning_id(subject)
        acted = by_warning.get(wid, [])
        closes = [a for a in acted if a.action == CLOSED]
        counted = sorted(
            (s for s in found.values() if not any(c.covers(s) for c in closes)),
            key=lambda s: (s.at_ms, s.id),
        )
        points = sum(table.sources[s.source].points for s in counted)
        floors = [table.sources[s.source].at_least for s in counted]
        floor = max((f for f in floors if f is not None), key=LEVELS.index, default=None)
        level = table.level_of(points, floor)
        if level is None or not counted:
            continue
        since_close = [a for a in acted if not closes or a.log_index > closes[-1].log_index]
        warnings.append(
            GradedWarning(
                id=wid,
                subject=subject,
                level=level,
                points=points,
                signals=tuple(counted),
                status=_status(level, counted, since_close),
                actions=tuple(acted),
            )
        )
    warnings.sort(key=lambda w: (-LEVELS.index(w.level), -w.points, w.subject))
    return warnings
