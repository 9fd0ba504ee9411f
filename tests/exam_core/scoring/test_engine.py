"""The engine end to end: clean runs score 100 under sensor noise, pass marks per subject and
licence class, emergency stops, and byte-for-byte identical replays."""

from __future__ import annotations

import pytest

from exam_core.log.canonical import parse_canonical
from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    FieldCourse,
    RouteCourse,
    RuleTable,
    TelemetryError,
    make_chunk,
    parse_chunk,
    parse_result,
    score_chunks,
    simulate,
)
from exam_core.scoring.result import Deduction, make_result

from .conftest import ScoreFn, chunk_blobs

SEEDS = range(100, 108)


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_field_run_scores_100(seed: int, field: FieldCourse, score_run: ScoreFn) -> None:
    result = score_run(field, seed=seed).result
    assert result.to_json() == {"score": 100, "passed": True, "deductions": []}


@pytest.mark.parametrize("seed", SEEDS)
def test_clean_route_run_scores_100(seed: int, route: RouteCourse, score_run: ScoreFn) -> None:
    result = score_run(route, seed=seed).result
    assert result.to_json() == {"score": 100, "passed": True, "deductions": []}


def test_noise_really_differs_between_seeds(field: FieldCourse) -> None:
    a, b = simulate(field, 1).frames, simulate(field, 2).frames
    assert a != b
    assert simulate(field, 1).frames == a


def test_small_deductions_pass_a_car_but_not_a_bus(field: FieldCourse, score_run: ScoreFn) -> None:
    faults = ["10202", "20403", "X20703"]  # three 10-point rules
    car = score_run(field, faults, licence_class="C1").result
    bus = score_run(field, faults, licence_class="A1").result
    assert car.score == bus.score == 70
    assert not car.passed
    two = score_run(field, ["10202", "20104"], licence_class="C1").result
    assert two.score == 85
    assert two.passed
    assert not score_run(field, ["10202", "20104"], licence_class="A1").result.passed


def test_route_pass_mark_is_90_for_every_class(route: RouteCourse, score_run: ScoreFn) -> None:
    ten = score_run(route, ["10202"]).result
    assert (ten.score, ten.passed) == (90, True)
    twenty = score_run(route, ["10202", "X31204"]).result
    assert (twenty.score, twenty.passed) == (80, False)


def test_a_disqualifying_rule_fails_whatever_the_score() -> None:
    result = make_result([Deduction(5, "10101", "general", 100)], 80, 100)
    assert (result.score, result.passed) == (0, False)


def test_emergency_stop_keeps_points_but_never_passes(
    field: FieldCourse, table: RuleTable, score_run: ScoreFn
) -> None:
    scored = score_run(field)
    half = scored.blobs[: len(scored.blobs) // 2]
    unstopped = score_chunks(half, field, table, "C1")
    assert "X20001" in {d.code for d in unstopped.deductions}
    stopped = score_chunks(half, field, table, "C1", stopped=True)
    assert stopped.deductions == ()
    assert (stopped.score, stopped.passed) == (100, False)


def test_result_bytes_are_canonical_and_replays_identical(
    route: RouteCourse, table: RuleTable, score_run: ScoreFn
) -> None:
    scored = score_run(route, ["10202", "X30106", "X31203"])
    first = scored.result.to_bytes()
    again = score_chunks(list(scored.blobs), route, table, "C1").to_bytes()
    assert first == again
    assert parse_result(first) == scored.result
    doc = parse_canonical(first)
    assert isinstance(doc, dict)
    assert [d["code"] for d in doc["deductions"]] == ["X30106", "10202", "X31203"]


def test_chunking_does_not_change_the_result(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer, score_run: ScoreFn
) -> None:
    scored = score_run(field, ["20302"])
    for size in (1, 97, 6000):
        blobs = chunk_blobs(vehicle, scored.run.frames, size)
        assert score_chunks(blobs, field, table, "C1") == scored.result


def test_parse_result_is_strict() -> None:
    for bad in (
        b'{"score":100}',
        b'{"deductions":[],"passed":true,"score":100.0}',
        b'{"deductions":[{"code":"1","frame":1,"item":"x"}],"passed":true,"score":1}',
        b'{"deductions":[],"passed":1,"score":100}',
        b'{"passed":true,"score":100,"deductions":[]}',
    ):
        with pytest.raises(Exception) as e:
            parse_result(bad)
        assert type(e.value).__name__ == "ScoringError"


def test_chunks_of_another_exam_are_refused(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer, score_run: ScoreFn
) -> None:
    scored = score_run(field)
    frames = scored.run.frames
    foreign = make_chunk(vehicle, bytes(16), 1, 600, frames[600:1200])
    with pytest.raises(TelemetryError) as e:
        score_chunks([scored.blobs[0], foreign], field, table, "C1")
    assert e.value.reason == "exam_mismatch"
    assert parse_chunk(foreign).exam_id != parse_chunk(scored.blobs[0]).exam_id


@pytest.mark.slow
@pytest.mark.parametrize("subject", [2, 3])
def test_clean_runs_stay_clean_across_many_noise_seeds(
    subject: int, request: pytest.FixtureRequest, score_run: ScoreFn
) -> None:
    course = request.getfixturevalue("field" if subject == 2 else "route")
    scores = {seed: score_run(course, seed=seed).result.score for seed in range(1000, 1020)}
    assert scores == dict.fromkeys(scores, 100)
