"""Telemetry format version 2: the pedals, steering, gearbox, voice commands and camera
observations round-trip and are checked strictly; a recording keeps one version; a table whose
rules read version 2 refuses version 1 telemetry, which the table of its time still scores."""

from __future__ import annotations

import struct

import pytest

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    FieldCourse,
    Frame,
    RuleTable,
    TelemetryError,
    assemble_track,
    make_chunk,
    parse_chunk,
    rule_table_by_version,
    score_chunks,
    simulate,
)
from exam_core.scoring import cab_inputs as cab
from exam_core.scoring.telemetry import (
    BELT,
    FRAME,
    FRAME_V2,
    HEADER,
    SIGNATURE_BYTES,
    SIGNING_CONTEXTS,
    make_chunks,
    verify_chunk_signature,
)

from .conftest import EXAM_ID

V2_FIELDS = ("accel", "clutch", "steering", "engaged", "command", "vision")


def frames(n: int, start: int = 0) -> list[Frame]:
    return [
        Frame(
            t=(start + i) * 100,
            x=(start + i) * 100,
            y=0,
            odo=(start + i) * 100,
            heading=0,
            speed=1000,
            gear=2,
            rpm=1200,
            signals=BELT,
            accel=250 + i,
            clutch=1000 if i == 1 else 0,
            steering=-35 * i,
            engaged=None if i else 1,
            command=cab.LANE_CHANGE if i == 2 else 0,
            vision=cab.MIRROR_LEFT | cab.HEAD_LEFT if i == 3 else 0,
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed("exam.example/c/1/vehicle/V1", b"\x01" * 32)


def test_a_version_2_chunk_keeps_every_field(signer: Ed25519Signer, table: RuleTable) -> None:
    src = frames(5)
    blob = make_chunk(signer, EXAM_ID, 0, 0, src, version=2)
    assert len(blob) == HEADER.size + 5 * FRAME_V2.size + SIGNATURE_BYTES
    chunk = parse_chunk(blob)
    assert chunk.version == 2
    assert chunk.signed_bytes.startswith(SIGNING_CONTEXTS[2])
    verify_chunk_signature(chunk, signer.verifier)
    track = assemble_track([chunk], table.telemetry)
    assert track.version == 2
    assert track.accel == tuple(f.accel for f in src)
    assert track.clutch == (0, 1000, 0, 0, 0)
    assert track.steering == (0, -35, -70, -105, -140)
    assert track.engaged == (1, 2, 2, 2, 2)  # None: the gearbox has the lever's gear
    assert track.command == (0, 0, cab.LANE_CHANGE, 0, 0)
    assert track.vision == (0, 0, 0, cab.MIRROR_LEFT | cab.HEAD_LEFT, 0)
    old = assemble_track(
        [parse_chunk(make_chunk(signer, EXAM_ID, 0, 0, src, version=1))], table.telemetry
    )
    assert old.version == 1
    assert (old.t, old.speed, old.gear) == (track.t, track.speed, track.gear)
    assert all(getattr(old, name) == () for name in V2_FIELDS)


def _rewrite(blob: bytes, index: int, column: int, value: int) -> bytes:
    off = HEADER.size + index * FRAME_V2.size
    values = list(FRAME_V2.unpack_from(blob, off))
    values[column] = value
    return blob[:off] + FRAME_V2.pack(*values) + blob[off + FRAME_V2.size :]


@pytest.mark.parametrize(
    ("column", "value", "what"),
    [
        (10, 1001, "accelerator"),
        (11, 1001, "clutch"),
        (13, 7, "engaged gear"),
        (14, 99, "voice command"),
        (15, 1 << 12, "observation"),
    ],
)
def test_out_of_range_version_2_values_are_refused_with_their_frame(
    signer: Ed25519Signer, column: int, value: int, what: str
) -> None:
    blob = make_chunk(signer, EXAM_ID, 0, 30, frames(4, start=30), version=2)
    with pytest.raises(TelemetryError, match=what) as e:
        parse_chunk(_rewrite(blob, 2, column, value))
    assert (e.value.reason, e.value.frame) == ("bad_value", 32)


def test_the_version_decides_the_layout_and_the_signature(signer: Ed25519Signer) -> None:
    v2 = make_chunk(signer, EXAM_ID, 0, 0, frames(3), version=2)
    with pytest.raises(TelemetryError) as e:
        parse_chunk(v2[:4] + struct.pack("<H", 1) + v2[6:])
    assert e.value.reason == "trailing_bytes"
    v1 = make_chunk(signer, EXAM_ID, 0, 0, frames(3), version=1)
    assert len(v1) == HEADER.size + 3 * FRAME.size + SIGNATURE_BYTES
    with pytest.raises(TelemetryError) as e:
        parse_chunk(v1[:4] + struct.pack("<H", 2) + v1[6:])
    assert e.value.reason == "truncated"
    # the same header and frames under the other version's context are not what was signed
    chunk = parse_chunk(v1)
    forged = parse_chunk(v1)
    object.__setattr__(forged, "version", 2)
    assert forged.signed_bytes != chunk.signed_bytes
    with pytest.raises(TelemetryError, match="bad_signature"):
        verify_chunk_signature(forged, signer.verifier)
    with pytest.raises(RuntimeError):
        make_chunk(signer, EXAM_ID, 0, 0, frames(1), version=4)


def test_a_recording_keeps_one_version(signer: Ed25519Signer, table: RuleTable) -> None:
    chunks = [
        parse_chunk(make_chunk(signer, EXAM_ID, 0, 0, frames(4))),
        parse_chunk(make_chunk(signer, EXAM_ID, 1, 4, frames(4, start=4), version=1)),
    ]
    with pytest.raises(TelemetryError, match="changes the format version") as e:
        assemble_track(chunks, table.telemetry)
    assert e.value.reason == "bad_header"


def test_version_1_telemetry_is_scored_by_the_table_of_its_time_not_by_one_that_needs_more(
    field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    run = simulate(field, 7, ["20104"])
    old = make_chunks(vehicle, EXAM_ID, run.frames, version=1)
    with pytest.raises(ScoringError, match="needs telemetry version 2"):
        score_chunks(old, field, table, "C1")
    before_the_camera = rule_table_by_version("ga1026-2017/2")
    result = score_chunks(old, field, before_the_camera, "C1", verifier=vehicle.verifier)
    new = score_chunks(make_chunks(vehicle, EXAM_ID, run.frames), field, table, "C1")
    assert [(d.code, d.frame) for d in result.deductions] == [("20104", run.expected["20104"][0])]
    assert result.deductions == new.deductions
