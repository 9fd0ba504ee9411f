"""What feeds the warnings: after each pull, the mirror's new entries and findings, exactly once.

The mirror (``exam_core.monitoring.mirror``) calls ``MirrorFeed.after_pull`` once it has pulled
a log, while it still holds that log's row lock (so one process feeds a log at a time).  For
that log's ``CentreFeed`` it then:

1. hands over every entry the mirror verified since the feed's position (``warning_feed``), in
   log order, 512 at a time; an entry with an error finding is not handed over (its finding is).
   Before an ``allocation.committed`` entry, the manifest it commits is fetched from the centre
   (``GET /blobs/<sha256>`` with the monitor's token, ``centre_tokens``), held to the entry's
   ``manifest_sha256`` and ``manifest_len``, and kept in ``DIR/manifests/<sha256>`` for the
   statistics and the dashboard.  A centre that serves another blob, or none, is refused with a
   ``mirror_manifest_refused`` finding; a centre that cannot answer now stops the hand-over
   there until the next pull, for at most the silence allowed (then it is refused too, so a
   centre cannot hold its warnings back by never answering for one blob).  Without a token
   no manifest is fetched;
2. hands over every mirror finding about the log since the position, with its evidence;
3. tells the feed when the centre last answered (``CentreFeed.silence``);
4. runs the statistics once a day (when the log has a token: without manifests they see
   nothing).

The signals of each step are recorded in the transaction that moves the position
(``WarningStore.record_fed``), so a process killed at any point has recorded a step's signals
and moved past it, or neither: nothing is lost or counted twice.  What the feed remembers
(which examiner had which exam, the placements) lives in memory; when a process starts, or
finds another process moved the position, it rebuilds it by observing the mirror's stored
entries again up to the position, recording nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from exam_core.errors import EntryError, StoreError
from exam_core.log.entry import parse_entry_parts
from exam_core.monitoring.centre_tokens import read_tokens
from exam_core.monitoring.mirror import PullOutcome, manifest_refused
from exam_core.monitoring.mirror_source import (
    BlobSource,
    LogSource,
    SourceRefusedError,
    SourceUnavailableError,
)
from exam_core.monitoring.mirror_store import MirrorStore
from exam_core.monitoring.overview import MAX_MANIFEST_BYTES, manifest_reader
from exam_core.monitoring.points_table import PointsTable, load_points_table
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.store import KnownLog
from exam_core.monitoring.warning_feed import CentreFeed
from exam_core.monitoring.warning_store import WarningStore

if TYPE_CHECKING:
    from exam_core.monitoring.home import Monitor

__all__ = ["FEED_CHUNK", "STATISTICS_EVERY_MS", "MirrorFeed", "feed_warnings"]

FEED_CHUNK = 512
"""Entries whose signals are recorded together with the position."""
STATISTICS_EVERY_MS = 86_400_000
"""How often each log's statistics run (daily)."""
MANIFESTS_DIR = "manifests"

log = logging.getLogger("exam_integrity.monitor.feed")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Fed:
    feed: CentreFeed
    observed: int = 0
    """Entries the feed has observed (in memory)."""


class MirrorFeed:
    """Feeds each mirrored log's ``CentreFeed`` from the mirror (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        mirror_store: MirrorStore,
        warnings: WarningStore,
        table: PointsTable,
        *,
        tokens: Mapping[str, str] | None = None,
        silent_after_ms: int = 15 * 60_000,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.root = root
        self.mirror_store = mirror_store
        self.warnings = warnings
        self.table = table
        self.tokens = dict(tokens or {})
        self.silent_after_ms = silent_after_ms
        self.clock_ms = clock_ms
        self._manifest = manifest_reader(root)
        self._fed: dict[str, _Fed] = {}
        self._unavailable: dict[tuple[str, str], int] = {}
        """When each manifest was first found unavailable (in memory: a restart waits anew)."""

    # --- what the mirror calls -------------------------------------------------------------

    def after_pull(
        self, known: KnownLog, source: LogSource, outcome: PullOutcome, last_contact_ms: int
    ) -> None:
        """Hand over what is new in ``known``'s log (see the module docstring).

        Raises:
            StoreError: the database failed (what was recorded stays; the rest is handed over
                after the next pull).
        """
        origin = known.origin
        try:
            fed = self._caught_up(origin)
            self._entries(fed, origin, source)
            self._findings(fed, origin)
            fed.feed.silence(last_contact_ms)
            if origin in self.tokens:
                self._statistics(fed, origin, force=False)
        except BaseException:
            self._fed.pop(origin, None)  # its memory may be ahead of what was recorded
            raise

    def recompute(self, origin: str) -> int | None:
        """Run ``origin``'s statistics now over what was handed over; how many signals were new,
        None if the log has no token (no manifests, so no statistics).

        Raises:
            StoreError: the database failed.
        """
        if origin not in self.tokens:
            return None
        try:
            return self._statistics(self._caught_up(origin), origin, force=True)
        except BaseException:
            self._fed.pop(origin, None)
            raise

    # --- the steps -------------------------------------------------------------------------

    def _caught_up(self, origin: str) -> _Fed:
        """The log's feed, its memory rebuilt from the stored entries up to the position."""
        position = self.warnings.feed_position(origin)
        fed = self._fed.get(origin)
        if fed is None or fed.observed > position.entries_fed:
            fed = self._fed[origin] = _Fed(
                CentreFeed(
                    origin,
                    self.warnings,
                    self.table,
                    self._manifest,
                    silent_after_ms=self.silent_after_ms,
                    clock_ms=self.clock_ms,
                )
            )
        while fed.observed < position.entries_fed:
            end = min(position.entries_fed, fed.observed + FEED_CHUNK)
            for index, event in self._events(origin, fed.observed, end):
                fed.feed.observe(index, event)
            fed.observed = end
        return fed

    def _events(self, origin: str, start: int, end: int) -> list[tuple[int, Mapping[str, Any]]]:
        failed = self.mirror_store.failed_entries(origin, start, end)
        events: list[tuple[int, Mapping[str, Any]]] = []
        for k, data in enumerate(self.mirror_store.entries(origin, start, end)):
            index = start + k
            if index in failed:
                continue
            try:
                events.append((index, parse_entry_parts(data).event))
            except EntryError:
                continue  # the mirror recorded its finding
        return events

    def _entries(self, fed: _Fed, origin: str, source: LogSource) -> None:
        head = self.mirror_store.head(origin)
        size = 0 if head is None else head.entries_size
        while fed.observed < size:
            start = fed.observed
            end = min(size, start + FEED_CHUNK)
            signals: list[Signal] = []
            stop = end
            for index, event in self._events(origin, start, end):
                if event.get("type") == "allocation.committed" and not self._fetch_manifest(
                    origin, index, event, source
                ):
                    stop = index  # the centre cannot answer now: again after the next pull
                    break
                signals += fed.feed.observe(index, event)
            was = self.warnings.feed_position(origin)
            if was.entries_fed != start:
                raise _moved(origin)
            if (
                self.warnings.record_fed(
                    origin, signals, self.clock_ms(), was=was, now=replace(was, entries_fed=stop)
                )
                is None
            ):
                raise _moved(origin)
            fed.observed = stop
            if stop < end:
                return

    def _findings(self, fed: _Fed, origin: str) -> None:
        while True:
            was = self.warnings.feed_position(origin)
            recorded = self.mirror_store.findings_of(origin, was.finding_after)
            if not recorded:
                return
            signals = [s for r in recorded for s in fed.feed.mirror_finding_signals(r)]
            now = replace(was, finding_after=recorded[-1].id)
            if self.warnings.record_fed(origin, signals, self.clock_ms(), was=was, now=now) is None:
                raise _moved(origin)

    def _statistics(self, fed: _Fed, origin: str, *, force: bool) -> int:
        was = self.warnings.feed_position(origin)
        now_ms = self.clock_ms()
        if not force and was.statistics_ms and now_ms - was.statistics_ms < STATISTICS_EVERY_MS:
            return 0
        signals = fed.feed.statistics_signals(now_ms)
        now = replace(was, statistics_ms=now_ms)
        new = self.warnings.record_fed(origin, signals, now_ms, was=was, now=now)
        if new is None:
            raise _moved(origin)
        return new

    # --- manifests -------------------------------------------------------------------------

    def _fetch_manifest(
        self, origin: str, index: int, event: Mapping[str, Any], source: LogSource
    ) -> bool:
        """Fetch and keep the manifest ``event`` commits; False if the centre cannot answer
        now (try again later), True otherwise (kept, refused with a finding, or no token)."""
        sha = str(event["manifest_sha256"])
        length = int(event["manifest_len"])
        if origin not in self.tokens or self._manifest(sha) is not None:
            return True
        blobs: BlobSource | None = getattr(source, "blob", None) and source  # type: ignore[assignment]
        if blobs is None:
            return True
        problem: str | None = None
        error = True
        if length > MAX_MANIFEST_BYTES:
            problem = f"its committed length {length} is above the {MAX_MANIFEST_BYTES} read"
        else:
            try:
                data = blobs.blob(sha, length)
            except SourceUnavailableError as e:
                first = self._unavailable.setdefault((origin, sha), self.clock_ms())
                waited = self.clock_ms() - first
                if waited <= self.silent_after_ms:
                    log.info("%s: manifest %s not fetched now: %s", origin, sha, e)
                    return False
                # A centre that answers everything but this blob must not hold its warnings
                # back for ever: after the silence allowed, it is refused.
                problem = f"not served for {waited // 1000} s ({e})"
            except SourceRefusedError as e:
                problem = str(e)
                error = e.status not in (401, 403)  # the monitor's token, not the centre
            else:
                self._unavailable.pop((origin, sha), None)
                digest = hashlib.sha256(data).hexdigest()
                if len(data) != length:
                    problem = f"the centre served {len(data)} bytes; the entry commits {length}"
                elif digest != sha:
                    problem = f"the centre served a blob whose SHA-256 is {digest}"
                else:
                    self._keep(sha, data)
                    return True
        finding = manifest_refused(index, sha, problem, error=error)
        self.mirror_store.record_findings(origin, [finding], self.clock_ms())
        return True

    def _keep(self, sha: str, data: bytes) -> None:
        """Write the manifest under its hash (temporary name, synced, renamed).

        Raises:
            StoreError: it cannot be written (the hand-over stops before its entry).
        """
        folder = self.root / MANIFESTS_DIR
        tmp = folder / f".{sha}.{os.getpid()}"
        try:
            folder.mkdir(exist_ok=True)
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / sha)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot keep the manifest {sha}: {e}") from e


def _moved(origin: str) -> StoreError:
    return StoreError(f"the warnings' position of {origin} moved under this process")


def feed_warnings(monitor: Monitor) -> MirrorFeed:
    """Attach a ``MirrorFeed`` to ``monitor``'s mirror (its points table, its tokens), so every
    pull feeds the warnings; returns it.

    Raises:
        StoreError: the tokens file is unusable.
        WarningsError: the points table is refused.
    """
    feed = MirrorFeed(
        monitor.root,
        monitor.mirror.store,
        WarningStore(monitor.store.engine),
        load_points_table(monitor.root),
        tokens=read_tokens(monitor.root),
        silent_after_ms=monitor.config.mirror_silence_ms,
        clock_ms=monitor.mirror.clock_ms,
    )
    monitor.mirror.after_pull = feed.after_pull
    return feed
