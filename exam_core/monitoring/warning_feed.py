"""Where the mirror hands over what it verified, and the warnings' signals get recorded.

One ``CentreFeed`` per watched centre.  The mirror calls, as it goes:

- ``entry(index, event)`` for each verified entry, in log order: the exam day's signals
  (``exam_watch``) and the placements for the statistics (``placements``);
- ``findings(findings)`` with what verifying the log found (``signals_from_findings``,
  attributed to the exam's examiner and car through the entries already seen);
- ``silence(last_answer_ms)`` on each attempt to reach the centre (``centre_silent``);
- ``statistics()`` now and then (daily is plenty): the three families over the last
  ``statistics.window_days`` days, recorded under the calendar month (UTC) of the run, so a
  cell flagged on several days of one month is one signal, and next month's is another.

Each call records its signals at once (``WarningStore.record_signals``, idempotent by id), so a
mirror killed and restarted loses no warning and adds none twice.  ``observe``,
``mirror_finding_signals`` and ``statistics_signals`` give the same signals without recording
them, for ``exam_core.monitoring.mirror_feed``, which records them together with how far it
has read the mirror (exactly once) and, after a restart, rebuilds the feed's memory of who
examined which exam by observing the mirror's stored entries again up to that point.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from exam_core.findings import Finding
from exam_core.monitoring.exam_watch import ExamWatch
from exam_core.monitoring.mirror_store import RecordedFinding
from exam_core.monitoring.placements import PlacementTally
from exam_core.monitoring.points_table import PointsTable
from exam_core.monitoring.signals import (
    MAX_EVIDENCE,
    Signal,
    centre_silent_signal,
    signals_from_findings,
)
from exam_core.monitoring.statistics import statistics_signals
from exam_core.monitoring.warning_store import WarningStore

__all__ = ["CentreFeed"]


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class CentreFeed:
    """The warnings' intake for one centre (see the module docstring)."""

    def __init__(
        self,
        centre: str,
        store: WarningStore,
        table: PointsTable,
        manifest: Callable[[str], bytes | None],
        *,
        silent_after_ms: int = 15 * 60_000,
        clock_ms: Callable[[], int] = _wall_clock_ms,
    ) -> None:
        self.centre = centre
        self.store = store
        self.table = table
        self.silent_after_ms = silent_after_ms
        self.clock_ms = clock_ms
        self.watch = ExamWatch(centre)
        self.tally = PlacementTally(manifest)

    def entry(self, index: int, event: Mapping[str, Any]) -> int:
        """Take a verified entry; record its signals. Returns how many were new.

        Raises:
            StoreError: the database cannot be written.
        """
        signals = self.observe(index, event)
        return self.store.record_signals(signals, self.clock_ms()) if signals else 0

    def observe(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        """Take a verified entry and return its signals, recording nothing."""
        signals = self.watch.observe(index, event)
        self.tally.observe(index, event)
        return signals

    def findings(self, findings: Iterable[Finding]) -> int:
        """Record the signals of ``findings`` about this centre's log; how many were new.

        Raises:
            StoreError: the database cannot be written.
        """
        now = self.clock_ms()
        signals = signals_from_findings(
            self.centre,
            findings,
            now,
            attribute=self.watch.attribute,
            entry_time=self.watch.entry_time,
        )
        return self.store.record_signals(signals, now)

    def mirror_finding_signals(self, recorded: RecordedFinding) -> list[Signal]:
        """The signals of one of the mirror's findings, its evidence's entries (``entries`` in
        ``RecordedFinding.evidence``) added to the entry it names; nothing is recorded.

        The mirror's ``centre_silent`` finding gives none: ``silence`` makes that signal.
        """
        if recorded.finding.code == "centre_silent":
            return []
        cited = recorded.evidence.get("entries")
        extra = (
            [i for i in cited if isinstance(i, int) and i >= 0] if isinstance(cited, list) else []
        )
        signals = signals_from_findings(
            self.centre,
            [recorded.finding],
            recorded.recorded_ms,
            attribute=self.watch.attribute,
            entry_time=self.watch.entry_time,
        )
        out = []
        for signal in signals:
            entries = tuple(sorted({*signal.entries, *extra}))[:MAX_EVIDENCE]
            out.append(
                replace(
                    signal,
                    entries=entries,
                    message=f"{signal.message} (mirror finding {recorded.id})",
                )
            )
        return out

    def silence(self, last_answer_ms: int) -> int:
        """Record a ``centre_silent`` signal if the centre last answered too long ago.

        Raises:
            StoreError: the database cannot be written.
        """
        now = self.clock_ms()
        signal = centre_silent_signal(self.centre, last_answer_ms, now, self.silent_after_ms)
        return self.store.record_signals([signal], now) if signal is not None else 0

    def statistics(self) -> int:
        """Run the statistics over the window and record what they flag; how many were new.

        Raises:
            StoreError: the database cannot be written.
        """
        now = self.clock_ms()
        return self.store.record_signals(self.statistics_signals(now), now)

    def statistics_signals(self, now: int) -> list[Signal]:
        """What the statistics flag over the window ending at ``now``; nothing is recorded."""
        settings = self.table.statistics
        since = now - settings.window_days * 86_400_000
        period = datetime.datetime.fromtimestamp(now / 1000, tz=datetime.UTC).strftime("%Y-%m")
        return statistics_signals(
            self.centre,
            self.tally.placements(since),
            settings.false_discovery_rate,
            period=period,
            at_ms=now,
        )
