"""A small exam day end to end over real HTTP: every machine a client of ``examctl serve``.

Check-in (a face failure retried, a proxy locked and refused, a stranger's card refused), seal,
commit, beacon round, draw, each tablet's own assignment, boarding, the room's gateway over
emulated devices on pseudo-terminals (a jammer alarm: the gate refuses, then reopens), start,
telemetry, end, an emergency stop, a no-show repaired, and the service's scorer signing every
result with nobody asking.  The exported bundle passes ``examctl audit``.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from api.day.day_run import DayOutcome, run_day
from exam_core.log.entry import Entry
from tests.api.day.small_day import (
    SCRIPT,
    SESSION,
    START_IN_S,
    export_and_audit,
    logged,
    prepare,
    types_of,
)
from tests.api.http.served import Served, free_port


def test_a_small_day_runs_over_http_and_audits(tmp_path: Path, db_url: str) -> None:
    day = prepare(tmp_path, db_url)
    served = Served(day.centre_dir, 0, "--batch-ms", "5")
    try:
        outcome = run_day(served.url, day, SCRIPT, work_dir=tmp_path / "run", start_in_s=START_IN_S)
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert_the_small_day(day.origin, outcome, logged(day.centre_dir))
    audit = export_and_audit(day.centre_dir, tmp_path / "bundle")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_a_day_survives_the_centre_killed_mid_day(tmp_path: Path, db_url: str) -> None:
    """SIGKILL while exams drive, restart on the same port: every machine retries and goes
    on; every index a machine was given is in the log, nothing is there twice, and the
    bundle audits clean."""
    day = prepare(tmp_path, db_url)
    port = free_port()
    served = Served(day.centre_dir, port, "--batch-ms", "5")
    driving = threading.Event()

    def progress(_session: str, line: str) -> None:
        if "started 0," not in line and "started" in line:
            driving.set()

    outcomes: list[DayOutcome] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            outcomes.append(
                run_day(
                    served.url,
                    day,
                    SCRIPT,
                    work_dir=tmp_path / "run",
                    start_in_s=START_IN_S,
                    progress=progress,
                )
            )
        except BaseException as e:  # handed to the test's thread
            failures.append(e)

    machines = threading.Thread(target=run)
    machines.start()
    try:
        assert driving.wait(120), "no exam started"
        served.kill()
        assert machines.is_alive()  # killed in the middle of the day, not after it
        served = Served(day.centre_dir, port, "--batch-ms", "5")
        machines.join(600)
    finally:
        code, err = served.stop()
    assert not failures, failures
    assert code == 0, err
    entries = logged(day.centre_dir)
    outcome = outcomes[0]
    assert_the_small_day(day.origin, outcome, entries)
    # Every index a machine was answered with holds an entry; none was given twice.
    assert len(set(outcome.indices)) == len(outcome.indices)
    assert max(outcome.indices) < len(entries)
    audit = export_and_audit(day.centre_dir, tmp_path / "bundle")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def assert_the_small_day(origin: str, outcome: DayOutcome, entries: list[Entry]) -> None:
    """What the small day must leave in its log, and in what its machines saw."""
    tally = outcome.tallies[SESSION]
    assert (tally.checked_in, tally.proxies_refused, tally.refused_cards) == (4, 1, 1)
    assert tally.face_failures == 1 + 3
    assert (tally.no_shows, tally.started, tally.stopped, tally.ended) == (1, 3, 1, 3)
    assert tally.scored == 3
    assert tally.gate_refusals >= 1  # the jammer's band alarm held a start back
    stopped = [e for e, person in tally.exams.items() if person in SCRIPT.stops]
    assert [outcome.results[e]["result"]["passed"] for e in stopped] == [False]

    types = types_of(entries)
    assert types["checkin.verified"] == 4
    assert types["checkin.face_failed"] == 4
    assert types["checkin.decided"] == 1
    assert types["session.sealed"] == types["allocation.made"] == 1
    assert types["allocation.repaired"] == 1
    assert types["boarding.confirmed"] == types["exam.started"] == 3
    assert types["exam.stopped"] == 1
    assert types["exam.ended"] == types["exam.scored"] == 3
    refused_gates = [e for e in entries if e.type == "device.gate" and not e.event["allowed"]]
    assert refused_gates, "the band alarm produced no refusing gate decision"
    # The scorer is the service's own key: nobody outside asked for a result.
    scorers = {e.actor for e in entries if e.type == "exam.scored"}
    assert scorers == {f"{origin}/scorer/service"}
    # Each exam's chunks: numbered from 0, each once.
    chunks: Counter[tuple[str, int]] = Counter(
        (str(e.event["exam"]), int(e.event["chunk"]))
        for e in entries
        if e.type == "telemetry.chunk"
    )
    assert set(chunks.values()) == {1}
    assert tally.refused_while_down > 0  # the car really did try while its link was down
    dead_zone = next(e for e, person in tally.exams.items() if person in SCRIPT.dead_zones)
    assert_sent_in_order(entries, dead_zone)
    sealed = next(e for e in entries if e.type == "session.sealed")
    assert len(sealed.event["candidates"]) == 4


def assert_sent_in_order(entries: list[Entry], exam: str) -> None:
    """The exam's in-car unit lost nothing and sent nothing twice: its entries carry
    consecutive seqs, chunks and video segments numbered from 0, the recorded times in order,
    and ``exam.ended`` last, counting them all."""
    unit = next(e.actor for e in entries if e.type == "telemetry.chunk" and e.event["exam"] == exam)
    mine = [e for e in entries if e.actor == unit]
    assert [e.seq for e in mine] == list(range(1, len(mine) + 1))
    ours = [e for e in mine if e.event.get("exam") == exam]
    chunks = [e.event for e in ours if e.type == "telemetry.chunk"]
    assert [c["chunk"] for c in chunks] == list(range(len(chunks)))
    assert sum(int(c["frames"]) for c in chunks) == chunks[-1]["first_frame"] + chunks[-1]["frames"]
    seals = [e.event for e in ours if e.type == "video.sealed"]
    assert [s["segment"] for s in seals] == list(range(len(seals)))
    assert ours[-1].type == "exam.ended"
    assert ours[-1].event["chunks"] == len(chunks)
    # Recorded times, not sending times: what was made in the dead zone keeps its time.
    assert [e.ts for e in ours] == sorted(e.ts for e in ours)
