"""Shared pieces of the scoring tests: the shipped map and table, a vehicle key, and a helper
that simulates, chunks, signs, parses and scores a run the way the scorer does."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest

from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    FieldCourse,
    Frame,
    RouteCourse,
    RuleTable,
    ScoreResult,
    load_course,
    load_rule_table,
    score_chunks,
    simulate,
)
from exam_core.scoring.course import DEFAULT_MAPS, LARGE_VEHICLE_MAP
from exam_core.scoring.sim.sim_car import SimRun
from exam_core.scoring.telemetry import make_chunks

EXAM_ID = bytes(range(16))


@dataclass
class Scored:
    run: SimRun
    blobs: list[bytes]
    result: ScoreResult


@pytest.fixture(scope="session")
def table() -> RuleTable:
    return load_rule_table()


@pytest.fixture(scope="session")
def field() -> FieldCourse:
    course = load_course(DEFAULT_MAPS[2])
    assert isinstance(course, FieldCourse)
    return course


@pytest.fixture(scope="session")
def large_field() -> FieldCourse:
    course = load_course(LARGE_VEHICLE_MAP)
    assert isinstance(course, FieldCourse)
    return course


@pytest.fixture(scope="session")
def route() -> RouteCourse:
    course = load_course(DEFAULT_MAPS[3])
    assert isinstance(course, RouteCourse)
    return course


@pytest.fixture(scope="session")
def vehicle() -> Ed25519Signer:
    return Ed25519Signer.from_seed("exam.example/c/370100-01/vehicle/V07", b"\x07" * 32)


def chunk_blobs(signer: Ed25519Signer, frames: list[Frame], size: int = 600) -> list[bytes]:
    return make_chunks(signer, EXAM_ID, frames, size)


ScoreFn = Callable[..., Scored]


@pytest.fixture(scope="session")
def score_run(table: RuleTable, vehicle: Ed25519Signer) -> ScoreFn:
    def run(
        course: FieldCourse | RouteCourse,
        faults: Iterable[str] = (),
        seed: int = 7,
        licence_class: str = "C1",
    ) -> Scored:
        sim = simulate(course, seed, faults)
        blobs = chunk_blobs(vehicle, sim.frames)
        result = score_chunks(blobs, course, table, licence_class, verifier=vehicle.verifier)
        return Scored(sim, blobs, result)

    return run
