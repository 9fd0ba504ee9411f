"""SIGKILL at random instants while ``examctl log append`` runs: nothing published is lost.

Each round starts an appending process, lets it publish for a random time, kills it with
SIGKILL (no cleanup, no flush), and checks the log as a restarted writer and an auditor see
it: no gap, no duplicate index, every checkpoint verifies against the entries, and every index
the killed process had reported as published is there with the same bytes it reported.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry
from tests.conftest import ORIGIN, assert_log_sound
from tests.exam_core.centre.appender import start_appender

ROUNDS = {"sqlite": 8, "postgresql": 5}
"""Kills per engine; PostgreSQL rounds cost more (server round trips), so fewer of them."""


@pytest.mark.slow
def test_sigkill_while_appending_loses_nothing_published(db_url: str, tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    centre_dir = tmp_path / "centre"
    with Centre.create(centre_dir, ORIGIN, database_url=db_url, max_age_ms=20) as centre:
        log_vkey = centre.log_vkey
    reported: set[int] = set()
    rounds = ROUNDS[db_url.split(":", 1)[0].split("+", 1)[0]]
    for round_no in range(rounds):
        proc = start_appender(centre_dir, 5_000, keep_stderr=False)
        assert proc.stdout is not None
        # Wait until it publishes, then kill at a random instant of its appending.
        first = proc.stdout.readline()
        assert first.strip().isdigit(), f"seed {seed}: appender did not start ({first!r})"
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, f"seed {seed}: round {round_no} ended first"
        # Only complete lines were printed after publication; a torn last line is ignored.
        lines = (first + out).split("\n")
        reported.update(int(x) for x in lines[:-1] if x.strip())
        entries = assert_log_sound(db_url, log_vkey, admit=False)
        missing = sorted(i for i in reported if i >= len(entries))
        assert not missing, f"seed {seed}: published indices {missing[:5]} lost"
    # Signatures, keys and seqs of the whole log, as the audit would check them.
    entries = assert_log_sound(db_url, log_vkey)
    # The demo key was registered once, and its seqs run without gap across all the kills.
    seqs = [parse_entry(e).seq for e in entries if parse_entry(e).actor == f"{ORIGIN}/demo/examctl"]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) >= rounds
