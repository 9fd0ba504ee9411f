"""The dashboard's picture of the monitoring centre now (DESIGN §10), as plain data.

``Overview.snapshot`` gathers, for the page and its JSON twin (``api.monitor.dashboard_routes``):

- each watched centre with its log head: the mirror's newest verified checkpoint (size, root),
  the entries held, the size the mirror cosigned, the witness's cosigned size, when the centre
  last answered and the mirror's newest finding;
- each centre's live exams and rooms (``CentreSurvey``, read forward through the mirrored
  entries);
- the graded warnings (``grade`` over the recorded signals and signed actions, by the points
  table in ``DIR/warnings.json``), and how many are open per level;
- the signals of the window per day and per level of their source: the warnings over time;
- the examiners' pass rates beside the band the committed allocations predict
  (``pass_bands``), for the sessions whose manifest the monitoring centre holds in
  ``DIR/manifests/<sha256 hex>`` (the published manifest, checked against its hash).

``version`` is a digest of the snapshot: the page polls it and redraws only when it changed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from exam_core.monitoring.centre_survey import CentreSurvey, SurveyView
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.pass_bands import PassBand, pass_bands
from exam_core.monitoring.placements import PlacementTally
from exam_core.monitoring.points_table import LEVELS, PointsTable, load_points_table
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import GradedWarning, grade

__all__ = ["CentreHead", "Overview", "Snapshot", "manifest_reader"]

DAY_MS = 86_400_000
REUSE_S = 1.0
"""However many pages poll, the database is read for them at most once a second."""
MAX_MANIFEST_BYTES = 64 << 20


@dataclass(frozen=True)
class CentreHead:
    """One watched centre's log as the monitoring centre holds it."""

    origin: str
    url: str | None
    tree_size: int
    root_hash: str
    entries: int
    mirror_cosigned: int | None
    witness_cosigned: int | None
    last_contact_ms: int | None
    findings: int
    newest_finding: str | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard shows, at ``now_ms``."""

    now_ms: int
    centres: list[CentreHead]
    surveys: dict[str, SurveyView]
    warnings: list[GradedWarning]
    open_by_level: dict[str, int]
    timeline: list[dict[str, Any]]
    bands: list[PassBand]
    version: str = field(default="")


def manifest_reader(root: Path) -> Any:
    """``sha256 hex -> bytes | None`` over ``root/manifests``: a file counts only if it hashes
    to its name."""
    folder = root / "manifests"

    def read(sha256_hex: str) -> bytes | None:
        if len(sha256_hex) != 64 or any(c not in "0123456789abcdef" for c in sha256_hex):
            return None
        path = folder / sha256_hex
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256_hex else None

    return read


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Overview:
    """The dashboard's state over an opened ``Monitor``; safe to call from several threads."""

    def __init__(self, monitor: Monitor, clock_ms: Any = _now_ms, reuse_s: float = REUSE_S) -> None:
        """``reuse_s``: a snapshot this young is handed out again (every page polls)."""
        self.monitor = monitor
        self.clock_ms = clock_ms
        self.reuse_s = reuse_s
        self._last: tuple[float, Snapshot] | None = None
        self.warning_store = WarningStore(monitor.store.engine)
        self._manifest = manifest_reader(monitor.root)
        self._surveys: dict[str, CentreSurvey] = {}
        self._tallies: dict[str, PlacementTally] = {}
        self._lock = threading.Lock()

    def table(self) -> PointsTable:
        """The points table in force (``DIR/warnings.json`` or the default).

        Raises:
            WarningsError: the table file breaks a rule.
        """
        return load_points_table(self.monitor.root)

    def warnings(self, now_ms: int | None = None) -> list[GradedWarning]:
        """The graded warnings at ``now_ms`` (default: now).

        Raises:
            StoreError: the database cannot be read.
            WarningsError: the points table breaks a rule.
        """
        now = self.clock_ms() if now_ms is None else now_ms
        table = self.table()
        signals = self.warning_store.signals_since(now - table.window_ms)
        return grade(signals, table, now, self.warning_store.actions())

    def _centres(self) -> list[CentreHead]:
        mirror = self.monitor.mirror.store
        heads = {h.origin: h for h in mirror.heads()}
        findings: dict[str, list[str]] = {}
        for f in mirror.findings_after(0, limit=100_000):
            findings.setdefault(f.origin, []).append(f.finding.code)
        centres = []
        for log in self.monitor.store.logs():
            head = heads.get(log.origin)
            witness = self.monitor.store.witness_state(log.origin)
            schedule = mirror.schedule(log.origin)
            mirror_cosigned = None
            if head is not None and head.cosigned is not None:
                mirror_cosigned = head.entries_size
            codes = findings.get(log.origin, [])
            centres.append(
                CentreHead(
                    origin=log.origin,
                    url=log.url,
                    tree_size=0 if head is None else head.tree_size,
                    root_hash="" if head is None else head.root_hash.hex(),
                    entries=0 if head is None else head.entries_size,
                    mirror_cosigned=mirror_cosigned,
                    witness_cosigned=None if witness is None else witness.size,
                    last_contact_ms=None if schedule is None else schedule[1],
                    findings=len(codes),
                    newest_finding=codes[-1] if codes else None,
                )
            )
        return centres

    def _survey(self, centre: CentreHead) -> CentreSurvey:
        survey = self._surveys.get(centre.origin)
        if survey is None:
            tally = self._tallies[centre.origin] = PlacementTally(self._manifest)
            survey = self._surveys[centre.origin] = CentreSurvey(centre.origin, tally)
        survey.advance(self.monitor.mirror.store, centre.entries)
        return survey

    def snapshot(self) -> Snapshot:
        """The dashboard's state now.

        Raises:
            StoreError: the database cannot be read.
            WarningsError: the points table breaks a rule.
        """
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.reuse_s:
                return self._last[1]
            snapshot = self._take()
            self._last = (time.monotonic(), snapshot)
            return snapshot

    def _take(self) -> Snapshot:
        """The state now, read from the database (under the lock)."""
        now = self.clock_ms()
        table = self.table()
        centres = self._centres()
        surveys = {c.origin: self._survey(c).view() for c in centres}
        signals = self.warning_store.signals_since(now - table.window_ms)
        warnings = grade(signals, table, now, self.warning_store.actions())
        since = now - table.window_ms
        placements = [p for t in self._tallies.values() for p in t.placements(since)]
        open_by_level = dict.fromkeys(LEVELS, 0)
        for w in warnings:
            if w.status == "open":
                open_by_level[w.level] += 1
        days: dict[int, dict[str, int]] = {}
        for s in signals:
            floor = table.sources[s.source].at_least
            level = floor if floor is not None else LEVELS[0]
            day = days.setdefault(s.at_ms // DAY_MS, dict.fromkeys(LEVELS, 0))
            day[level] += 1
        timeline = [{"day_ms": d * DAY_MS, **days[d]} for d in sorted(days)]
        snapshot = Snapshot(
            now_ms=now,
            centres=centres,
            surveys=surveys,
            warnings=warnings,
            open_by_level=open_by_level,
            timeline=timeline,
            bands=pass_bands(placements),
        )
        return Snapshot(**{**snapshot.__dict__, "version": _version(snapshot)})


def _version(s: Snapshot) -> str:
    state = {
        "centres": [asdict(c) for c in s.centres],
        "live": {o: [x.exam for x in v.live] for o, v in s.surveys.items()},
        "rooms": {o: v.read for o, v in s.surveys.items()},
        "warnings": [(w.id, w.level, w.points, w.status, len(w.signals)) for w in s.warnings],
    }
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
