"""Two writer processes on one database never share an index, and each sees the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import DEMO
from tests.conftest import ORIGIN, assert_log_sound
from tests.exam_core.centre.appender import start_appender

COUNT = 600


@pytest.mark.slow
def test_two_processes_append_without_collisions(db_url: str, tmp_path: Path) -> None:
    centre_dir = tmp_path / "centre"
    with Centre.create(centre_dir, ORIGIN, database_url=db_url, max_age_ms=50) as centre:
        log_vkey = centre.log_vkey
        for name in ("demo/w1", "demo/w2"):
            centre.register_key(name, DEMO)
    procs = [start_appender(centre_dir, COUNT, actor=actor) for actor in ("demo/w1", "demo/w2")]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    reported = [[int(line) for line in out.split()] for out, _ in outputs]
    assert len(reported[0]) == len(reported[1]) == COUNT
    assert not set(reported[0]) & set(reported[1]), "two writers reported the same index"

    entries = assert_log_sound(db_url, log_vkey)
    assert len(entries) == 3 + 2 * COUNT  # genesis, two registrations, the appends
    for actor, indices in zip(("demo/w1", "demo/w2"), reported, strict=True):
        events = [parse_entry(entries[i]) for i in indices]
        assert {e.actor for e in events} == {f"{ORIGIN}/{actor}"}
        assert [e.seq for e in events] == list(range(1, COUNT + 1))
    # Whether the batches interleave depends on the engine's lock (SQLite's busy wait is not
    # fair, so one writer may drain its backlog first); either way the second writer had to
    # catch up with whatever the other appended since it opened the log.
