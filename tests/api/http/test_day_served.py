"""The exam day over a real socket: ``examctl serve`` keeps the day and scores it by itself.

A centre's database holds the session's bookings; the morning (room, session, check-ins,
allocation, boarding, gate, start) is logged in process; then the served centre takes the in-car
unit's telemetry and its ``exam.ended`` over HTTP, refuses steps out of order with the step
expected, and its scorer signs the result with nobody asking.  An exam that ended while no
scorer ran is scored when the service opens.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.client import CentreClient, RefusedError, RemoteLog, RetryPolicy
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.day_guard import centre_day_guard
from exam_core.exam_day.plan import exam_id
from exam_core.log.entry import parse_entry
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from exam_core.scoring.engine import score_chunks
from exam_core.scoring.events import chunk_fields
from exam_core.scoring.rules import load_rule_table
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import make_chunks
from tests.api.http.day_fixture import ServedDay, register_day_keys, seed_bookings
from tests.api.http.served import Served
from tests.conftest import ORIGIN, assert_log_sound
from tests.exam_core.exam_day import day_script as ds

QUICK = RetryPolicy(attempts=None, base_s=0.02, max_s=0.3)


def morning(root: Path, db_url: str) -> tuple[ServedDay, str, str, str]:
    """Log the day up to the first exam's start; the script, candidate, exam and log vkey."""
    Centre.create(root, ORIGIN, database_url=db_url).close()
    script = ServedDay()
    with Centre.open(
        root, max_age_ms=2, clock_ms=lambda: script.clock[0], guard=centre_day_guard
    ) as centre:
        seed_bookings(centre)
        script.signers = register_day_keys(centre)
        script.attach(centre)
        script.open_session()
        script.allocate()
        candidate = script.first()
        exam = script.board(candidate)
        script.start(candidate, exam)
        script.centre = None
        return script, candidate, exam, centre.log_vkey


def chunks_of(script: ServedDay, candidate: str, exam: str) -> list[bytes]:
    unit = script.signers[ds.unit(script.assignment[candidate])]
    run = simulate(load_course(DEFAULT_MAPS[2]), seed=3)
    return make_chunks(unit, bytes.fromhex(exam), run.frames)


def result_of(client: httpx.Client, exam: str, token: str) -> dict[str, Any]:
    """Poll the exam until its result is there (the scorer is not asked)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = client.get(f"/day/exams/{exam}", headers={"Authorization": f"Bearer {token}"})
        assert view.status_code == 200, view.text
        if view.json()["result"] is not None:
            return dict(view.json())
        time.sleep(0.1)
    raise AssertionError(f"exam {exam} was never scored: {view.json()}")


def expected_score(script: ServedDay, candidate: str, blobs: list[bytes]) -> int:
    unit = script.signers[ds.unit(script.assignment[candidate])]
    result = score_chunks(
        blobs, load_course(DEFAULT_MAPS[2]), load_rule_table(), "C1", verifier=unit.verifier
    )
    return result.score


def test_the_served_day_takes_telemetry_refuses_disorder_and_scores(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    script, candidate, exam, vkey = morning(root, db_url)
    unit_name = ds.unit(script.assignment[candidate])
    with Centre.open(root) as centre:
        store = TokenStore(centre.store.engine)
        unit_token = store.issue("vehicle", unit_name)[0]
        supervisor = store.issue("supervisor", "supervisor/s1")[0]
    blobs = chunks_of(script, candidate, exam)
    served = Served(root, 0, "--batch-ms", "5")
    try:
        with CentreClient(served.url, token=unit_token, retry=QUICK) as client:
            unit = RemoteLog(client, script.signers[unit_name], retry=QUICK)
            # Ending before any chunk is logged: out of order, the chunk expected named.
            with pytest.raises(RefusedError) as early:
                unit.append("exam.ended", {"exam": exam, "chunks": len(blobs)})
            assert early.value.status == 409
            assert early.value.name == "step-out-of-order"
            assert early.value.problem["expected"] == "telemetry.chunk 0"
            futures = [unit.submit("telemetry.chunk", chunk_fields(b), b) for b in blobs]
            indices = [f.result(timeout=60) for f in futures]
            assert indices == sorted(indices)
            unit.append("exam.ended", {"exam": exam, "chunks": len(blobs)})
            # Another exam's steps from this unit: that exam never boarded.
            other = exam_id(ds.SESSION, "c-99")
            with pytest.raises(RefusedError) as unboarded:
                unit.append("exam.ended", {"exam": other, "chunks": 1})
            assert unboarded.value.status == 409
            assert unboarded.value.problem["expected"] == "boarding.confirmed"
            unit.close()
        with httpx.Client(base_url=served.url, timeout=10) as http:
            view = result_of(http, exam, supervisor)
            assert view["phase"] == "scored"
            assert view["chunks"] == len(blobs)
            assert view["result"]["score"] == expected_score(script, candidate, blobs)
            scored = parse_entry(http.get(f"/entries/{view['result']['index']}").content)
            assert scored.type == "exam.scored"
            # The centre's own scorer key: the one it holds already.
            assert scored.actor == ds.SCORER
            assert scored.event["chunks"] == view_chunks(blobs)
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert_log_sound(db_url, vkey)


def view_chunks(blobs: list[bytes]) -> list[str]:
    return [str(chunk_fields(b)["sha256"]) for b in blobs]


def test_an_exam_that_ended_with_no_scorer_running_is_scored_when_the_service_opens(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    script, candidate, exam, vkey = morning(root, db_url)
    blobs = chunks_of(script, candidate, exam)
    # The telemetry and the end are logged while no service runs (as if it died right after).
    with Centre.open(
        root, max_age_ms=2, clock_ms=lambda: script.clock[0], guard=centre_day_guard
    ) as centre:
        script.attach(centre)
        for blob in blobs:
            centre.blobs.put(blob)
            script.do(
                "telemetry.chunk",
                ds.unit(script.assignment[candidate]),
                ds.START + 5_000,
                **chunk_fields(blob),
            )
        script.end(candidate, exam, len(blobs))
        assert centre.guard is not None
        supervisor = TokenStore(centre.store.engine).issue("supervisor", "supervisor/s1")[0]
    served = Served(root, 0, "--batch-ms", "5")
    try:
        with httpx.Client(base_url=served.url, timeout=10) as http:
            view = result_of(http, exam, supervisor)
            assert view["result"]["score"] == expected_score(script, candidate, blobs)
    finally:
        code, err = served.stop()
    assert code == 0, err
    # Opened again, the service finds nothing left to score: one result, not two.
    served = Served(root, 0, "--batch-ms", "5")
    code, err = served.stop()
    assert code == 0, err
    entries = [parse_entry(e) for e in assert_log_sound(db_url, vkey)]
    assert [e.event["exam"] for e in entries if e.type == "exam.scored"] == [exam]
