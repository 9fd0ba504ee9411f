"""A small exam day for the end-to-end tests: one session of 科目二, two crews, five people.

Person 1 passes the face check at once; person 2 fails it once and passes on the retry;
person 3's card is carried by a proxy (three failures, locked, refused by the supervisor);
person 4 checks in and never comes to the car (repaired away); person 5's exam is stopped by
the examiner; person 1's car drives through a dead zone (its link drops after the first chunk
and returns after the third: it keeps recording, buffers, and sends everything in order).
A stranger's card is refused at the terminal, and the room's jammer has a band
alarm after the first start (the gate refuses, then reopens).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from api.day.centre_setup import PreparedDay, SessionSpec, prepare_day
from api.day.day_run import DayScript
from exam_core.centre.centre import Centre
from exam_core.centre.export import export_bundle
from exam_core.log.entry import Entry, parse_entry
from tests.api.http.served import REPO
from tests.conftest import ORIGIN

SESSION = "k2-field-1"
SPEC = SessionSpec(SESSION, 2, "field-1", ("E01", "E02"), (1, 2, 3, 4, 5))
SCRIPT = DayScript(
    face_retry=frozenset({2}),
    proxies=frozenset({3}),
    no_shows=frozenset({4}),
    stops=frozenset({5}),
    dead_zones=frozenset({1}),
    stranger_at=frozenset({SESSION}),
    jammer_alarm=SESSION,
    alarm_after_starts=1,
)


START_IN_S = 6
"""From the sessions' opening to their start: time for the check-ins and the seal."""


def prepare(tmp_path: Path, db_url: str) -> PreparedDay:
    return prepare_day(tmp_path, ORIGIN, [SPEC], database_url=db_url)


def logged(centre_dir: Path) -> list[Entry]:
    with Centre.open(centre_dir) as centre:
        return [parse_entry(data) for data in centre.store.entries(0, centre.store.size())]


def export_and_audit(centre_dir: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    """Export the log's bundle and audit it with ``examctl audit`` (its development beacon
    allowed), pinned to the policy the centre publishes."""
    with Centre.open(centre_dir) as centre:
        export_bundle(centre, bundle)
        policy = bundle.parent / "published-policy"
        policy.write_text(centre.policy_text())
    command = [sys.executable, "-m", "api.cli.main", "audit", str(bundle)]
    command += ["--policy", str(policy), "--allow-dev-beacon", "--jobs", "1"]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(REPO)},
        check=False,
    )


def types_of(entries: list[Entry]) -> Counter[str]:
    return Counter(e.type for e in entries)
