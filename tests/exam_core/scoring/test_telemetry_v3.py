"""Telemetry format version 3: the brake air pressure round-trips; versions 1 and 2 keep their
bytes, signatures and scores; the rule that reads the pressure (X30207) needs version 3 and
judges only an air-braked vehicle."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    Frame,
    RouteCourse,
    RuleTable,
    TelemetryError,
    assemble_track,
    make_chunk,
    parse_chunk,
    rule_table_by_version,
    score_chunks,
    simulate,
)
from exam_core.scoring.course import load_course
from exam_core.scoring.sim.route_script import AIR_FULL_KPA, RouteScript
from exam_core.scoring.telemetry import (
    AIR_NONE,
    BELT,
    FRAME_V2,
    FRAME_V3,
    HEADER,
    MAX_CHUNK_BYTES,
    MAX_FRAMES_PER_CHUNK,
    SIGNATURE_BYTES,
    SIGNING_CONTEXTS,
    make_chunks,
    verify_chunk_signature,
)

from .conftest import EXAM_ID


def frames(n: int, air: int = AIR_NONE) -> list[Frame]:
    return [
        Frame(t=i * 100, x=i * 100, y=0, odo=i * 100, heading=0, speed=1000, gear=1, rpm=900,
              signals=BELT, air=air + i if air != AIR_NONE else air)
        for i in range(n)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed("exam.example/c/1/vehicle/V1", b"\x01" * 32)


def test_a_version_3_chunk_keeps_the_air_pressure(signer: Ed25519Signer, table: RuleTable) -> None:
    blob = make_chunk(signer, EXAM_ID, 0, 0, frames(4, air=640))
    assert len(blob) == HEADER.size + 4 * FRAME_V3.size + SIGNATURE_BYTES
    chunk = parse_chunk(blob)
    assert chunk.version == 3
    assert chunk.signed_bytes.startswith(SIGNING_CONTEXTS[3])
    verify_chunk_signature(chunk, signer.verifier)
    track = assemble_track([chunk], table.telemetry)
    assert track.air == (640, 641, 642, 643)
    no_air = assemble_track(
        [parse_chunk(make_chunk(signer, EXAM_ID, 0, 0, frames(2)))], table.telemetry
    )
    assert no_air.air == (AIR_NONE, AIR_NONE)


def test_older_versions_keep_their_bytes_and_carry_no_air(
    signer: Ed25519Signer, table: RuleTable
) -> None:
    src = frames(3, air=500)
    v2 = make_chunk(signer, EXAM_ID, 0, 0, src, version=2)
    assert len(v2) == HEADER.size + 3 * FRAME_V2.size + SIGNATURE_BYTES
    body = v2[HEADER.size : -SIGNATURE_BYTES]
    assert body == b"".join(FRAME_V2.pack(*f.packed(2)) for f in src)
    track = assemble_track([parse_chunk(v2)], table.telemetry)
    assert (track.version, track.air) == (2, ())
    # a version 2 header on version 3 frames is refused, not read askew
    v3 = make_chunk(signer, EXAM_ID, 0, 0, src)
    with pytest.raises(TelemetryError) as e:
        parse_chunk(v3[:4] + struct.pack("<H", 2) + v3[6:])
    assert e.value.reason == "trailing_bytes"


def test_the_largest_chunk_of_any_version_fits_the_readers_bound() -> None:
    assert HEADER.size + MAX_FRAMES_PER_CHUNK * FRAME_V3.size + SIGNATURE_BYTES == MAX_CHUNK_BYTES


def test_a_table_that_reads_the_air_pressure_refuses_version_2_telemetry(
    route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    run = simulate(route, 7, ["X30101"])
    old = make_chunks(vehicle, EXAM_ID, run.frames, version=2)
    with pytest.raises(ScoringError, match="needs telemetry version 3"):
        score_chunks(old, route, table, "C1")
    before = rule_table_by_version("ga1026-2017/3")
    old_map = load_course("k3-route-a-v2.json")
    result = score_chunks(old, old_map, before, "C1", verifier=vehicle.verifier)
    assert "X30101" in {d.code for d in result.deductions}
    # the same frames in version 3 score the same under the older table: the air column is
    # read by X30207 alone
    new = make_chunks(vehicle, EXAM_ID, run.frames)
    assert score_chunks(new, old_map, before, "C1").to_bytes() == result.to_bytes()


def _air_run(route: RouteCourse, kpa: int | None) -> list[Frame]:
    """A clean run; with ``kpa`` on an air-braked car whose gauge reads ``kpa`` until it has
    moved off (and is charged afterwards)."""
    script = RouteScript(route, 7, [])
    script.air_brakes = kpa is not None
    run = script.run()
    if kpa is None:
        return run.frames
    first = run.expected["X30207"][0]
    return [
        replace(f, air=kpa) if f.air == AIR_FULL_KPA and i <= first else f
        for i, f in enumerate(run.frames)
    ]


@pytest.mark.parametrize(("kpa", "deducted"), [(None, False), (599, True), (600, False)])
def test_the_air_pressure_is_judged_only_on_an_air_braked_vehicle(
    route: RouteCourse, table: RuleTable, vehicle: Ed25519Signer, kpa: int | None, deducted: bool
) -> None:
    frames_ = _air_run(route, kpa)
    result = score_chunks(make_chunks(vehicle, EXAM_ID, frames_), route, table, "C1")
    hits = [d for d in result.deductions if d.code == "X30207"]
    assert bool(hits) == deducted
    assert result.passed != deducted
    if kpa is None:
        assert {f.air for f in frames_} == {AIR_NONE}
