"""The chunk format: round trip, signature, and one test per malformation, each refused with a
stable reason rather than scored.

These pin format version 1, as older in-car units still make it (``make_chunk_v1``);
``test_telemetry_v2`` covers what version 2 adds."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Signer
from exam_core.scoring import (
    Frame,
    TelemetryError,
    assemble_track,
    check_telemetry,
    make_chunk,
    parse_chunk,
)
from exam_core.scoring.rules import RuleTable
from exam_core.scoring.telemetry import (
    BELT,
    FRAME,
    HEADER,
    MAX_FRAMES_PER_CHUNK,
    SIGNATURE_BYTES,
    verify_chunk_signature,
)

EXAM = bytes(range(16))
make_chunk_v1 = functools.partial(make_chunk, version=1)


def frames(n: int, start: int = 0, step_mm: int = 100) -> list[Frame]:
    return [
        Frame(
            t=(start + i) * 100,
            x=(start + i) * step_mm,
            y=-5,
            odo=(start + i) * step_mm,
            heading=35_999,
            speed=1000,
            gear=1,
            rpm=900,
            signals=BELT,
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def signer() -> Ed25519Signer:
    return Ed25519Signer.from_seed("exam.example/c/1/vehicle/V1", b"\x01" * 32)


def reason(excinfo: pytest.ExceptionInfo[TelemetryError]) -> str:
    return excinfo.value.reason


def test_round_trip_keeps_every_field_and_the_exact_bytes(signer: Ed25519Signer) -> None:
    src = frames(5)
    blob = make_chunk_v1(signer, EXAM, 0, 0, src)
    chunk = parse_chunk(blob)
    assert chunk.data == blob
    assert (chunk.chunk_no, chunk.first_frame, chunk.frame_count) == (0, 0, 5)
    assert chunk.exam_id == EXAM
    assert len(blob) == HEADER.size + 5 * FRAME.size + SIGNATURE_BYTES
    verify_chunk_signature(chunk, signer.verifier)
    fields = ("t", "x", "y", "odo", "heading", "speed", "gear", "rpm", "signals")
    flat = chunk.values
    for i, f in enumerate(src):
        row = flat[i * 10 : i * 10 + 10]
        assert [row[k] for k in (0, 1, 2, 3, 4, 5, 6, 8, 9)] == [getattr(f, n) for n in fields]


def test_every_byte_is_covered_by_the_signature(signer: Ed25519Signer) -> None:
    blob = make_chunk_v1(signer, EXAM, 0, 0, frames(3))
    for pos in range(0, len(blob) - SIGNATURE_BYTES, 7):
        changed = bytearray(blob)
        changed[pos] ^= 0x01
        try:
            chunk = parse_chunk(bytes(changed))
        except TelemetryError:
            continue  # refused before the signature: also fine
        with pytest.raises(TelemetryError) as e:
            verify_chunk_signature(chunk, signer.verifier)
        assert reason(e) == "bad_signature"


def test_another_units_key_does_not_verify(signer: Ed25519Signer) -> None:
    other = Ed25519Signer.from_seed("exam.example/c/1/vehicle/V2", b"\x02" * 32)
    chunk = parse_chunk(make_chunk_v1(other, EXAM, 0, 0, frames(2)))
    with pytest.raises(TelemetryError, match="bad_signature"):
        verify_chunk_signature(chunk, signer.verifier)


def _rewrite_frame(blob: bytes, index: int, **changes: int) -> bytes:
    names = ("t", "x", "y", "odo", "heading", "speed", "gear", "reserved", "rpm", "signals")
    off = HEADER.size + index * FRAME.size
    values = dict(zip(names, FRAME.unpack_from(blob, off), strict=True))
    values.update(changes)
    return blob[:off] + FRAME.pack(*values.values()) + blob[off + FRAME.size :]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b[:10], "truncated"),
        (lambda b: b[:-1], "truncated"),
        (lambda b: b[: HEADER.size + FRAME.size + 3], "truncated"),
        (lambda b: b + b"\x00", "trailing_bytes"),
        (lambda b: b"EXTX" + b[4:], "bad_magic"),
        (lambda b: b[:4] + struct.pack("<H", 4) + b[6:], "bad_version"),
        (lambda b: b[:6] + struct.pack("<H", 0) + b[8:], "bad_header"),
        (lambda b: b[:16] + struct.pack("<I", 0) + b[20:], "bad_header"),
        (lambda b: b[:16] + struct.pack("<I", MAX_FRAMES_PER_CHUNK + 1) + b[20:], "bad_header"),
        (lambda b: _rewrite_frame(b, 1, reserved=1), "bad_value"),
        (lambda b: _rewrite_frame(b, 2, heading=36_000), "bad_value"),
        (lambda b: _rewrite_frame(b, 0, gear=7), "bad_value"),
        (lambda b: _rewrite_frame(b, 1, signals=1 << 20), "bad_value"),
    ],
)
def test_malformed_chunks_are_refused(
    signer: Ed25519Signer, mutate: Callable[[bytes], bytes], expected: str
) -> None:
    blob = make_chunk_v1(signer, EXAM, 0, 0, frames(3))
    with pytest.raises(TelemetryError) as e:
        parse_chunk(mutate(blob))
    assert reason(e) == expected
    assert isinstance(e.value, ScoringError)


def test_bad_value_names_the_frame(signer: Ed25519Signer) -> None:
    blob = make_chunk_v1(signer, EXAM, 0, 40, frames(3, start=40))
    with pytest.raises(TelemetryError) as e:
        parse_chunk(_rewrite_frame(blob, 2, gear=9))
    assert e.value.frame == 42


def test_garbage_of_every_length_is_refused_cleanly() -> None:
    for n in range(0, 200, 3):
        with pytest.raises(TelemetryError):
            parse_chunk(bytes([0xA5]) * n)


def _track(table: RuleTable, blobs: list[bytes]) -> None:
    assemble_track([parse_chunk(b) for b in blobs], table.telemetry)


def test_contiguous_chunks_assemble(signer: Ed25519Signer, table: RuleTable) -> None:
    blobs = [
        make_chunk_v1(signer, EXAM, 0, 0, frames(10)),
        make_chunk_v1(signer, EXAM, 1, 10, frames(5, start=10)),
    ]
    track = assemble_track([parse_chunk(b) for b in blobs], table.telemetry)
    assert len(track) == 15
    assert track.t == tuple(range(0, 1500, 100))
    assert track.heading == (35_999,) * 15


def _time_shift(fs: list[Frame], index: int, t: int) -> list[Frame]:
    out = list(fs)
    f = out[index]
    out[index] = Frame(t, f.x, f.y, f.odo, f.heading, f.speed, f.gear, f.rpm, f.signals)
    return out


@pytest.mark.parametrize(
    ("build", "expected", "frame"),
    [
        (lambda s: [], "empty", None),
        (lambda s: [make_chunk_v1(s, EXAM, 1, 0, frames(4))], "chunk_order", None),
        (
            lambda s: [
                make_chunk_v1(s, EXAM, 0, 0, frames(4)),
                make_chunk_v1(s, EXAM, 1, 5, frames(4, 5)),
            ],
            "gap",
            None,
        ),
        (
            lambda s: [
                make_chunk_v1(s, EXAM, 0, 0, frames(4)),
                make_chunk_v1(s, bytes(16), 1, 4, frames(4, 4)),
            ],
            "exam_mismatch",
            None,
        ),
        (
            lambda s: [
                make_chunk_v1(s, EXAM, 0, 0, frames(4)),
                make_chunk_v1(s, EXAM, 0, 4, frames(4, 4)),
            ],
            "chunk_order",
            None,
        ),
        (
            lambda s: [make_chunk_v1(s, EXAM, 0, 0, _time_shift(frames(5), 3, 150))],
            "time_backwards",
            3,
        ),
        (
            lambda s: [make_chunk_v1(s, EXAM, 0, 0, _time_shift(frames(5), 3, 200))],
            "time_backwards",
            3,
        ),
        (lambda s: [make_chunk_v1(s, EXAM, 0, 0, _time_shift(frames(5), 4, 600))], "gap", 4),
        (
            lambda s: [make_chunk_v1(s, EXAM, 0, 0, _time_shift(frames(5), 2, 170))],
            "irregular_time",
            2,
        ),
        (lambda s: [make_chunk_v1(s, EXAM, 0, 0, frames(5, start=1))], "bad_time", 0),
        (lambda s: [make_chunk_v1(s, EXAM, 0, 0, frames(5, step_mm=4100))], "impossible_jump", 1),
    ],
)
def test_broken_recordings_are_refused_with_a_reason(
    signer: Ed25519Signer,
    table: RuleTable,
    build: Callable[[Ed25519Signer], list[bytes]],
    expected: str,
    frame: int | None,
) -> None:
    with pytest.raises(TelemetryError) as e:
        _track(table, build(signer))
    assert reason(e) == expected
    if frame is not None:
        assert e.value.frame == frame


def test_impossible_speed_is_refused(signer: Ed25519Signer, table: RuleTable) -> None:
    fs = frames(4)
    f = fs[2]
    fs[2] = Frame(f.t, f.x, f.y, f.odo, f.heading, 32_000, f.gear, f.rpm, f.signals)
    assert table.telemetry.max_speed_mm_s < 32_000
    with pytest.raises(TelemetryError) as e:
        _track(table, [make_chunk_v1(signer, EXAM, 0, 0, fs)])
    assert reason(e) == "impossible_speed"
    assert e.value.frame == 2


def test_make_chunk_refuses_caller_mistakes(signer: Ed25519Signer) -> None:
    with pytest.raises(RuntimeError):
        make_chunk_v1(signer, b"short", 0, 0, frames(1))
    with pytest.raises(RuntimeError):
        make_chunk_v1(signer, EXAM, 0, 0, [])
    bad = frames(1)
    bad[0] = Frame(-1, 0, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(RuntimeError):
        make_chunk_v1(signer, EXAM, 0, 0, bad)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 399), st.integers(1, 255))
def test_random_and_flipped_bytes_only_ever_raise_telemetry_errors(
    data: bytes, pos: int, flip: int
) -> None:
    blob = bytearray(GOOD + data)
    if pos < len(blob):
        blob[pos] ^= flip
    refused: str | None = None
    try:
        chunk = parse_chunk(bytes(blob))
    except TelemetryError as e:
        refused = e.reason
    else:
        assert chunk.data == bytes(blob)
        assert len(chunk.values) == chunk.frame_count * 10
    assert refused is None or refused in REASONS


REASONS = {"truncated", "trailing_bytes", "bad_magic", "bad_version", "bad_header", "bad_value"}


GOOD = make_chunk_v1(
    Ed25519Signer.from_seed("exam.example/c/1/vehicle/V9", b"\x09" * 32), EXAM, 0, 0, frames(4)
)


def test_check_telemetry_reports_a_device_fault_instead_of_raising(
    signer: Ed25519Signer, table: RuleTable
) -> None:
    good = [make_chunk_v1(signer, EXAM, 0, 0, frames(5))]
    verdict = check_telemetry(good, table.telemetry, signer.verifier)
    assert verdict.ok
    assert verdict.track is not None
    assert len(verdict.track) == 5
    late = [make_chunk_v1(signer, EXAM, 0, 0, _time_shift(frames(5), 4, 600))]
    fault = check_telemetry(late, table.telemetry)
    assert (fault.ok, fault.reason, fault.frame) == (False, "gap", 4)
    assert "ms between frames" in fault.message
    other = Ed25519Signer.from_seed("exam.example/c/1/vehicle/V3", b"\x03" * 32)
    forged = check_telemetry(good, table.telemetry, other.verifier)
    assert (forged.ok, forged.reason) == (False, "bad_signature")
