"""The points table: how much each kind of signal weighs, and the points each level starts at.

The monitoring centre grades what it sees in the centres' logs into blue, yellow, orange and red
warnings (``exam_core.monitoring.warnings``).  How heavily each source of trouble counts is a
matter of policy, not of code, so it is a file in the monitor's directory, ``warnings.json``;
without one, ``DEFAULT_TABLE`` applies (docs/monitoring.md prints it)::

    {"version": 1,
     "window_days": 30,
     "levels": {"blue": 1, "yellow": 10, "orange": 25, "red": 50},
     "sources": {"emergency_stop": {"points": 1}, "log_forked": {"points": 50, "at_least": "red"},
                 ...},
     "statistics": {"false_discovery_ppm": 10000, "window_days": 30}}

A file may name only some sources; the others keep their default.  The file is read by the one
bounded reader (``exam_core.input_file``: 64 KiB, a regular file, strict integer-only JSON, no
duplicate keys) and then held to these rules, each refusal a ``WarningsError`` naming the key:

- ``version`` is 1; no key outside the ones above (a misspelt source would silently weigh
  nothing);
- ``window_days`` 1..366; the level thresholds integers 1..1,000,000, strictly rising from blue
  to red;
- a source's ``points`` 0..1,000,000 and its optional ``at_least`` a level name (the least
  level one such signal raises on its own, whatever the points);
- ``false_discovery_ppm`` 1..50,000 (a false-discovery rate of at most 5 %, below which the
  statistics compute p-values exactly), the statistics' ``window_days`` 7..366.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from exam_core.errors import InputFileError, WarningsError
from exam_core.input_file import read_json_file

__all__ = [
    "DEFAULT_TABLE",
    "LEVELS",
    "SOURCES",
    "TABLE_FILE",
    "PointsTable",
    "SourceWeight",
    "StatisticsSettings",
    "load_points_table",
    "parse_points_table",
]

TABLE_FILE = "warnings.json"
MAX_TABLE_BYTES = 64 * 1024
MAX_POINTS = 1_000_000
FORMAT_VERSION = 1

LEVELS = ("blue", "yellow", "orange", "red")
"""The levels, least first."""

SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "entry_invalid": "an entry or a file of the log that fails verification",
        "log_forked": "two trees of one size, or a history that does not extend the one seen",
        "log_rolled_back": "the log shows fewer entries than it already signed",
        "allocation_rerolled": "an allocation re-committed with other inputs, or drawn twice",
        "exam_ungated": "an exam started without an allowed gate decision",
        "jammer_band_silent": "a required jammer band not radiating while an exam runs",
        "device_uptime_suspect": "a device's uptime not advancing with the time between polls "
        "(a replayed serial exchange)",
        "device_alarm_during_exam": "a device alarm or a detection while an exam runs",
        "allocation_recommitted": "an allocation aborted and re-committed for a later round",
        "face_match_override": "a supervisor admitted a candidate the face match refused",
        "personal_data_opened": "an investigator opened a keyed hash to the person behind it",
        "emergency_stop": "an examiner stopped an exam",
        "examiner_judged_fail": "an examiner's own call deducted points",
        "centre_silent": "the centre could not be reached for longer than allowed",
        "examiner_pass_rate": "an examiner's pass rate far from their candidates' schools' rates",
        "examiner_school_allocation": "an examiner drew a school's candidates far more or less "
        "often than the committed allocations predict",
        "examiner_school_passes": "an examiner passed a school's candidates far more or less "
        "often than the committed allocations predict",
    }
)
"""Every source of points, with what it means."""


@dataclass(frozen=True)
class SourceWeight:
    """The points one signal of a source adds, and the least level it raises on its own."""

    points: int
    at_least: str | None = None


@dataclass(frozen=True)
class StatisticsSettings:
    """The statistics' threshold (Benjamini–Hochberg false-discovery rate, in parts per
    million, per family of tests) and the span of exams they look at."""

    false_discovery_ppm: int = 10_000
    window_days: int = 30

    @property
    def false_discovery_rate(self) -> float:
        return self.false_discovery_ppm / 1_000_000


@dataclass(frozen=True)
class PointsTable:
    """Levels, the window over which points add up, and each source's weight."""

    window_days: int
    levels: Mapping[str, int]
    sources: Mapping[str, SourceWeight]
    statistics: StatisticsSettings = field(default_factory=StatisticsSettings)

    @property
    def window_ms(self) -> int:
        return self.window_days * 86_400_000

    def level_of(self, points: int, floor: str | None = None) -> str | None:
        """The level ``points`` reach, raised to ``floor``; None below blue without a floor."""
        reached = None
        for level in LEVELS:
            if points >= self.levels[level]:
                reached = level
        if floor is not None and (reached is None or LEVELS.index(floor) > LEVELS.index(reached)):
            return floor
        return reached


def _weight(points: int, at_least: str | None = None) -> SourceWeight:
    return SourceWeight(points, at_least)


DEFAULT_TABLE = PointsTable(
    window_days=30,
    levels=MappingProxyType({"blue": 1, "yellow": 10, "orange": 25, "red": 50}),
    sources=MappingProxyType(
        {
            "entry_invalid": _weight(50, "red"),
            "log_forked": _weight(50, "red"),
            "log_rolled_back": _weight(50, "red"),
            "allocation_rerolled": _weight(50, "red"),
            "exam_ungated": _weight(25, "orange"),
            "jammer_band_silent": _weight(10, "yellow"),
            "device_uptime_suspect": _weight(10, "yellow"),
            "device_alarm_during_exam": _weight(5),
            "allocation_recommitted": _weight(3),
            "face_match_override": _weight(2),
            "personal_data_opened": _weight(2),
            "emergency_stop": _weight(1),
            "examiner_judged_fail": _weight(1),
            "centre_silent": _weight(10, "yellow"),
            "examiner_pass_rate": _weight(25, "orange"),
            "examiner_school_allocation": _weight(25, "orange"),
            "examiner_school_passes": _weight(25, "orange"),
        }
    ),
)
"""The table used when the monitor's directory holds no ``warnings.json``."""


def _object(value: object, where: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WarningsError(f"{where} must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise WarningsError(f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
    return value


def _integer(value: object, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WarningsError(f"{where} must be an integer")
    if not low <= value <= high:
        raise WarningsError(f"{where} is {value}, outside {low}..{high}")
    return value


def _levels(value: object) -> Mapping[str, int]:
    body = _object(value, "levels", frozenset(LEVELS))
    missing = [level for level in LEVELS if level not in body]
    if missing:
        raise WarningsError(f"levels: missing {missing[0]!r} (all of {list(LEVELS)} are needed)")
    levels = {level: _integer(body[level], f"levels.{level}", 1, MAX_POINTS) for level in LEVELS}
    for lower, higher in itertools.pairwise(LEVELS):
        if levels[higher] <= levels[lower]:
            raise WarningsError(
                f"levels: {higher} ({levels[higher]}) must start above {lower} ({levels[lower]})"
            )
    return MappingProxyType(levels)


def _sources(value: object) -> Mapping[str, SourceWeight]:
    body = _object(value, "sources", frozenset(SOURCES))
    weights = dict(DEFAULT_TABLE.sources)
    for name, spec in body.items():
        where = f"sources.{name}"
        entry = _object(spec, where, frozenset({"points", "at_least"}))
        if "points" not in entry:
            raise WarningsError(f"{where}: missing 'points'")
        at_least = entry.get("at_least")
        if at_least is not None and at_least not in LEVELS:
            raise WarningsError(f"{where}.at_least is {at_least!r}, not one of {list(LEVELS)}")
        weights[name] = SourceWeight(
            _integer(entry["points"], f"{where}.points", 0, MAX_POINTS), at_least
        )
    return MappingProxyType(weights)


def _statistics(value: object) -> StatisticsSettings:
    body = _object(value, "statistics", frozenset({"false_discovery_ppm", "window_days"}))
    default = StatisticsSettings()
    return StatisticsSettings(
        false_discovery_ppm=_integer(
            body.get("false_discovery_ppm", default.false_discovery_ppm),
            "statistics.false_discovery_ppm",
            1,
            50_000,
        ),
        window_days=_integer(
            body.get("window_days", default.window_days), "statistics.window_days", 7, 366
        ),
    )


def parse_points_table(value: object) -> PointsTable:
    """The points table a decoded ``warnings.json`` states.

    Raises:
        WarningsError: it breaks a rule of the module docstring (the message names the key).
    """
    body = _object(
        value,
        "the points table",
        frozenset({"version", "window_days", "levels", "sources", "statistics"}),
    )
    if body.get("version") != FORMAT_VERSION:
        raise WarningsError(f'the points table must say "version": {FORMAT_VERSION}')
    table = replace(
        DEFAULT_TABLE,
        window_days=_integer(
            body.get("window_days", DEFAULT_TABLE.window_days), "window_days", 1, 366
        ),
    )
    if "levels" in body:
        table = replace(table, levels=_levels(body["levels"]))
    if "sources" in body:
        table = replace(table, sources=_sources(body["sources"]))
    if "statistics" in body:
        table = replace(table, statistics=_statistics(body["statistics"]))
    return table


def load_points_table(root: Path | str) -> PointsTable:
    """The points table of the monitor in ``root``: its ``warnings.json``, or the default.

    Raises:
        WarningsError: the file cannot be read (not a regular file, over 64 KiB, not strict
            JSON) or breaks a rule (the message names the file and the key).
    """
    path = Path(root) / TABLE_FILE
    if not path.exists() and not path.is_symlink():
        return DEFAULT_TABLE
    try:
        value = read_json_file(path, limit=MAX_TABLE_BYTES, what="the points table")
    except InputFileError as e:
        raise WarningsError(str(e)) from e
    try:
        return parse_points_table(value)
    except WarningsError as e:
        raise WarningsError(f"{path}: {e}") from e
