"""The points table: the documented default, partial files, and every hostile file refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from exam_core.errors import WarningsError
from exam_core.monitoring.points_table import (
    DEFAULT_TABLE,
    LEVELS,
    SOURCES,
    TABLE_FILE,
    load_points_table,
)


def write(root: Path, body: object | bytes) -> Path:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    (root / TABLE_FILE).write_bytes(data)
    return root


def test_no_file_is_the_default_table_and_it_weighs_every_source(tmp_path: Path) -> None:
    table = load_points_table(tmp_path)
    assert table == DEFAULT_TABLE
    assert set(table.sources) == set(SOURCES)
    assert [table.levels[level] for level in LEVELS] == sorted(table.levels.values())
    assert table.level_of(0) is None
    assert table.level_of(table.levels["yellow"]) == "yellow"
    assert table.level_of(0, "red") == "red"


def test_a_partial_file_changes_what_it_names_and_keeps_the_rest(tmp_path: Path) -> None:
    body = {
        "version": 1,
        "window_days": 7,
        "levels": {"blue": 2, "yellow": 4, "orange": 8, "red": 16},
        "sources": {"emergency_stop": {"points": 3, "at_least": "yellow"}},
        "statistics": {"false_discovery_ppm": 500},
    }
    table = load_points_table(write(tmp_path, body))
    assert table.window_ms == 7 * 86_400_000
    assert table.levels["red"] == 16
    assert table.sources["emergency_stop"].points == 3
    assert table.sources["emergency_stop"].at_least == "yellow"
    assert table.sources["log_forked"] == DEFAULT_TABLE.sources["log_forked"]
    assert table.statistics.false_discovery_rate == 0.0005
    assert table.statistics.window_days == DEFAULT_TABLE.statistics.window_days


HOSTILE: list[tuple[str, object | bytes, str]] = [
    ("not json", b"{version: 1", "not strict JSON|JSON"),
    ("not an object", [1, 2], "must be an object"),
    ("no version", {"window_days": 3}, "version"),
    ("version 2", {"version": 2}, "version"),
    ("unknown top key", {"version": 1, "windw_days": 3}, "unknown key 'windw_days'"),
    (
        "misspelt source",
        {"version": 1, "sources": {"emergency_stops": {"points": 1}}},
        "emergency_stops",
    ),
    (
        "source not object",
        {"version": 1, "sources": {"emergency_stop": 3}},
        "sources.emergency_stop",
    ),
    ("points missing", {"version": 1, "sources": {"emergency_stop": {}}}, "missing 'points'"),
    ("negative points", {"version": 1, "sources": {"emergency_stop": {"points": -1}}}, "outside"),
    ("points a bool", {"version": 1, "sources": {"emergency_stop": {"points": True}}}, "integer"),
    ("points a string", {"version": 1, "sources": {"emergency_stop": {"points": "5"}}}, "integer"),
    ("points huge", {"version": 1, "sources": {"emergency_stop": {"points": 10**12}}}, "outside"),
    (
        "bad floor",
        {"version": 1, "sources": {"emergency_stop": {"points": 1, "at_least": "pink"}}},
        "at_least",
    ),
    (
        "extra source key",
        {"version": 1, "sources": {"emergency_stop": {"points": 1, "x": 1}}},
        "unknown key 'x'",
    ),
    (
        "level missing",
        {"version": 1, "levels": {"blue": 1, "yellow": 2, "orange": 3}},
        "missing 'red'",
    ),
    (
        "levels not rising",
        {"version": 1, "levels": {"blue": 1, "yellow": 5, "orange": 5, "red": 9}},
        "orange",
    ),
    (
        "level zero",
        {"version": 1, "levels": {"blue": 0, "yellow": 5, "orange": 6, "red": 9}},
        "levels.blue",
    ),
    (
        "unknown level",
        {"version": 1, "levels": {"blue": 1, "yellow": 2, "orange": 3, "red": 4, "black": 5}},
        "black",
    ),
    ("window zero", {"version": 1, "window_days": 0}, "window_days"),
    ("window years", {"version": 1, "window_days": 5000}, "window_days"),
    (
        "fdr too loose",
        {"version": 1, "statistics": {"false_discovery_ppm": 50_001}},
        "false_discovery_ppm",
    ),
    (
        "stat window short",
        {"version": 1, "statistics": {"window_days": 1}},
        "statistics.window_days",
    ),
    ("a float", b'{"version": 1, "window_days": 3.5}', "float|number|integer"),
    ("duplicate key", b'{"version": 1, "version": 1}', "duplicate"),
    ("deep nesting", b'{"version": 1, "sources": ' + b"[" * 5000 + b"]" * 5000 + b"}", "deep|nest"),
    ("not utf-8", b'{"version": 1, "x": "\xff"}', "UTF-8"),
    ("oversized", b'{"version": 1, "pad": "' + b"x" * 70_000 + b'"}', "larger|limit|bytes"),
]


@pytest.mark.parametrize(
    ("body", "says"), [(b, s) for _, b, s in HOSTILE], ids=[n for n, _, _ in HOSTILE]
)
def test_hostile_tables_are_refused_naming_what_is_wrong(
    tmp_path: Path, body: object, says: str
) -> None:
    with pytest.raises(WarningsError, match=says):
        load_points_table(write(tmp_path, body))


def test_a_fifo_a_directory_and_a_link_to_a_device_are_refused_without_hanging(
    tmp_path: Path,
) -> None:
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / TABLE_FILE)
    with pytest.raises(WarningsError, match="FIFO"):
        load_points_table(fifo)
    folder = tmp_path / "folder"
    (folder / TABLE_FILE).mkdir(parents=True)
    with pytest.raises(WarningsError, match="directory"):
        load_points_table(folder)
    link = tmp_path / "link"
    link.mkdir()
    (link / TABLE_FILE).symlink_to("/dev/zero")
    with pytest.raises(WarningsError, match=r"device|not a regular"):
        load_points_table(link)
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / TABLE_FILE).symlink_to(tmp_path / "nowhere")
    with pytest.raises(WarningsError):
        load_points_table(dangling)
