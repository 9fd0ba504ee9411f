"""Telemetry chunks: the binary frame format the in-car unit signs, and its strict parser.

The score must be a function of what the car did (DESIGN §6), so the car's own record is the
only input.  The in-car unit cuts its 10 Hz stream into chunks; each chunk is one blob whose
SHA-256 is logged by a ``telemetry.chunk`` entry.  A chunk is

    header   36 bytes  magic "EXTC", version u16 (1, 2 or 3), period ms u16, chunk number u32,
                       first frame index u32, frame count u32, exam id (16 bytes)
    frames   version 1: 28 bytes each, little-endian:
             t ms since exam start u32 · x mm i32 · y mm i32 · odometer mm i32 (reversing
             counts down) · heading 0.01° u16 (0 = +x, counter-clockwise) · speed mm/s i16
             (negative when reversing) · gear lever i8 (−1 R, 0 N, 1–6, 10 P) · reserved u8
             = 0 · engine rpm u16 · signals u32 (bits below)
             version 2: 38 bytes each, the 28 of version 1 and then accelerator pedal ‰ u16
             (0–1000) · clutch pedal ‰ u16 (0 up, 1000 down) · steering-wheel angle 0.1° i16
             (left positive) · gear engaged in the gearbox i8 (codes as the lever) · voice
             command u8 (0 none; ``cab_inputs``) · in-cab camera observations u16 (bits of
             ``cab_inputs``)
             version 3: 40 bytes each, the 38 of version 2 and then brake air pressure kPa
             u16 (``AIR_NONE`` = 65535 on a vehicle without air brakes)
    signature 64 bytes Ed25519 by the in-car unit over the version's signing context ‖
             header ‖ frames

``make_chunk`` is the one function that makes chunk bytes (version 3 unless asked for an older
one, as an older unit makes them); ``parse_chunk`` is its strict inverse for untrusted bytes of
any version; ``assemble_track`` joins parsed chunks into the columns the engine reads and
refuses gaps, time running backwards, irregular timing and impossible jumps, each with a
``TelemetryError`` whose ``reason`` is stable, so bad data is never silently scored.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from exam_core.errors import ScoringError
from exam_core.log.note import Ed25519Signer, Ed25519Verifier
from exam_core.scoring.cab_inputs import KNOWN_COMMANDS, KNOWN_VISION, PEDAL_FULL

MAGIC = b"EXTC"
LATEST = 3
"""The newest chunk format version; ``make_chunk`` makes it unless asked for another."""
SIGNING_CONTEXTS = {
    1: b"exam-integrity telemetry chunk v1\n",
    2: b"exam-integrity telemetry chunk v2\n",
    3: b"exam-integrity telemetry chunk v3\n",
}
HEADER = struct.Struct("<4sHHIII16s")
FRAME = struct.Struct("<IiiiHhbBHI")
"""A version 1 frame."""
FRAME_V2 = struct.Struct("<IiiiHhbBHIHHhbBH")
"""A version 2 frame: version 1's fields, then accelerator, clutch, steering, gear engaged,
command, observations."""
FRAME_V3 = struct.Struct("<IiiiHhbBHIHHhbBHH")
"""A version 3 frame: version 2's fields, then the brake air pressure."""
FRAMES = {1: FRAME, 2: FRAME_V2, 3: FRAME_V3}
FIELDS = {1: 10, 2: 16, 3: 17}
"""Fields per frame of each version (the reserved byte included)."""
SIGNATURE_BYTES = 64
MAX_FRAMES_PER_CHUNK = 6000
"""Ten minutes at 10 Hz: bounds a chunk at about 168 kB."""
MAX_CHUNK_BYTES = (
    HEADER.size + MAX_FRAMES_PER_CHUNK * max(f.size for f in FRAMES.values()) + SIGNATURE_BYTES
)
"""The largest chunk the format allows: no reader of chunks needs to load more."""

GEAR_REVERSE = -1
GEAR_NEUTRAL = 0
GEAR_PARK = 10
FORWARD_GEARS = frozenset({1, 2, 3, 4, 5, 6})
VALID_GEARS = frozenset({GEAR_REVERSE, GEAR_NEUTRAL, GEAR_PARK, *FORWARD_GEARS})

BELT = 1 << 0
"""Driver's seat belt buckled."""
DOOR_OPEN = 1 << 1
"""Any door not fully closed."""
PARKING_BRAKE = 1 << 2
INDICATOR_LEFT = 1 << 3
INDICATOR_RIGHT = 1 << 4
DIPPED_BEAM = 1 << 5
HIGH_BEAM = 1 << 6
SIDE_LIGHTS = 1 << 7
HAZARD = 1 << 8
HORN = 1 << 9
BRAKE_PEDAL = 1 << 10
CLUTCH = 1 << 11
WIPER = 1 << 12
STARTER = 1 << 13
"""Engine start key held in the start position."""
CAMERA_OK = 1 << 14
"""In-car audio and video monitoring recording and unobstructed."""
KNOWN_SIGNALS = (1 << 15) - 1

AIR_NONE = 0xFFFF
"""Brake air pressure of a vehicle without air brakes (version 3's air column)."""


class TelemetryError(ScoringError):
    """Telemetry that cannot be scored; ``reason`` is stable, ``frame`` says where if known."""

    def __init__(self, reason: str, message: str, frame: int | None = None) -> None:
        where = f" at frame {frame}" if frame is not None else ""
        super().__init__(f"{reason}{where}: {message}")
        self.reason = reason
        self.frame = frame


@dataclass(frozen=True)
class Frame:
    """One telemetry sample (used to build chunks; the engine reads columns instead).

    The fields after ``signals`` are version 2's, and ``air`` version 3's; an older chunk leaves
    them out.  ``engaged`` None means the gearbox has the gear the lever is in.
    """

    t: int
    x: int
    y: int
    odo: int
    heading: int
    speed: int
    gear: int
    rpm: int
    signals: int
    accel: int = 0
    clutch: int = 0
    steering: int = 0
    engaged: int | None = None
    command: int = 0
    vision: int = 0
    air: int = AIR_NONE

    def packed(self, version: int) -> tuple[int, ...]:
        """The values a frame of ``version`` lays out, in order."""
        v1: tuple[int, ...] = (self.t, self.x, self.y, self.odo, self.heading, self.speed)
        v1 += (self.gear, 0, self.rpm, self.signals)
        if version == 1:
            return v1
        engaged = self.gear if self.engaged is None else self.engaged
        v2 = (*v1, self.accel, self.clutch, self.steering, engaged, self.command, self.vision)
        return v2 if version == 2 else (*v2, self.air)


@dataclass(frozen=True)
class Chunk:
    """A parsed, signature-checked-or-not chunk: header fields, the exact bytes and the frames.

    ``values`` is the flat tuple of every frame's fields in layout order (``FIELDS[version]``
    per frame); the engine slices columns out of it without building per-frame objects.
    """

    data: bytes
    period_ms: int
    chunk_no: int
    first_frame: int
    frame_count: int
    exam_id: bytes
    values: tuple[int, ...]
    version: int = 1

    @property
    def signed_bytes(self) -> bytes:
        context = SIGNING_CONTEXTS[self.version]
        return context + self.data[: len(self.data) - SIGNATURE_BYTES]

    @property
    def signature(self) -> bytes:
        return self.data[len(self.data) - SIGNATURE_BYTES :]


def make_chunk(
    signer: Ed25519Signer,
    exam_id: bytes,
    chunk_no: int,
    first_frame: int,
    frames: Sequence[Frame],
    *,
    period_ms: int = 100,
    version: int = LATEST,
) -> bytes:
    """Lay out and sign one chunk in format ``version``; the returned bytes are the blob,
    stored and hashed as is.

    Raises:
        RuntimeError: for a caller's mistake: an exam id not 16 bytes, no frames or too many,
            an unknown version, a value out of its field's range.
    """
    if len(exam_id) != 16:
        raise RuntimeError("exam ids are 16 bytes")
    if not 1 <= len(frames) <= MAX_FRAMES_PER_CHUNK:
        raise RuntimeError(f"a chunk holds 1 to {MAX_FRAMES_PER_CHUNK} frames")
    if version not in FRAMES:
        raise RuntimeError(f"no chunk format version {version}")
    layout = FRAMES[version]
    parts = [HEADER.pack(MAGIC, version, period_ms, chunk_no, first_frame, len(frames), exam_id)]
    try:
        parts.extend(layout.pack(*f.packed(version)) for f in frames)
    except struct.error as e:
        raise RuntimeError(f"frame value out of range: {e}") from e
    body = b"".join(parts)
    return body + signer.sign(SIGNING_CONTEXTS[version] + body)


CHUNK_FRAMES = 600
"""Frames per chunk an in-car unit signs: one minute at 10 Hz."""


def make_chunks(
    signer: Ed25519Signer,
    exam_id: bytes,
    frames: Sequence[Frame],
    per_chunk: int = CHUNK_FRAMES,
    *,
    version: int = LATEST,
) -> list[bytes]:
    """Cut a whole exam's frames into consecutive signed chunks of format ``version``,
    numbered from 0."""
    return [
        make_chunk(signer, exam_id, n, first, frames[first : first + per_chunk], version=version)
        for n, first in enumerate(range(0, len(frames), per_chunk))
    ]


def parse_chunk(data: bytes) -> Chunk:
    """Parse untrusted chunk bytes strictly; raise ``TelemetryError`` on any defect.

    (1) header present, magic and version known; (2) frame count within bounds and the length
    exactly header + frames + signature (no truncation, no trailing bytes); (3) every frame's
    reserved byte zero, gear known, heading below 360°, no unknown signal bits; and from version
    2 on pedals within 0–1000 ‰, the engaged gear known, no unknown command or observation (any
    air pressure a u16 holds is a reading).

    Raises:
        TelemetryError: any of these checks fails; its code (``truncated``, ``bad_magic``,
            ``bad_version``, ``bad_header``, ``trailing_bytes``, ``bad_value``) says which.
    """
    # (1)
    if len(data) < HEADER.size + SIGNATURE_BYTES:
        raise TelemetryError("truncated", f"chunk of {len(data)} bytes is shorter than a header")
    magic, version, period_ms, chunk_no, first_frame, count, exam_id = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise TelemetryError("bad_magic", f"chunk starts with {magic!r}, not {MAGIC!r}")
    if version not in FRAMES:
        raise TelemetryError("bad_version", f"chunk format version {version} is not known")
    if not 1 <= period_ms <= 10_000:
        raise TelemetryError("bad_header", f"frame period {period_ms} ms is not plausible")
    # (2)
    if not 1 <= count <= MAX_FRAMES_PER_CHUNK:
        raise TelemetryError("bad_header", f"frame count {count} outside 1..{MAX_FRAMES_PER_CHUNK}")
    frame, per = FRAMES[version], FIELDS[version]
    expected = HEADER.size + count * frame.size + SIGNATURE_BYTES
    if len(data) < expected:
        raise TelemetryError("truncated", f"chunk is {len(data)} bytes; header says {expected}")
    if len(data) > expected:
        raise TelemetryError("trailing_bytes", f"{len(data) - expected} bytes after the signature")
    layout = struct.Struct("<" + frame.format[1:] * count)
    values = layout.unpack_from(data, HEADER.size)
    # (3)
    checks: list[tuple[int, Callable[[int], bool], str]] = [
        (7, lambda v: v == 0, "reserved byte is not zero"),
        (4, lambda v: 0 <= v < 36_000, "heading is not below 360°"),
        (6, lambda v: v in VALID_GEARS, "gear value is not known"),
    ]
    if version >= 2:
        checks += [
            (10, lambda v: v <= PEDAL_FULL, "accelerator pedal beyond its travel"),
            (11, lambda v: v <= PEDAL_FULL, "clutch pedal beyond its travel"),
            (13, lambda v: v in VALID_GEARS, "engaged gear value is not known"),
            (14, lambda v: v == 0 or v in KNOWN_COMMANDS, "voice command is not known"),
            (15, lambda v: not v & ~KNOWN_VISION, "unknown observation bits"),
        ]
    for column, ok, what in checks:
        seen = set(values[column::per])
        if all(ok(v) for v in seen):
            continue
        bad = next(i for i, v in enumerate(values[column::per]) if not ok(v))
        raise TelemetryError("bad_value", what, first_frame + bad)
    signals = 0
    for s in set(values[9::per]):
        signals |= s
    if signals & ~KNOWN_SIGNALS:
        raise TelemetryError("bad_value", f"unknown signal bits {signals & ~KNOWN_SIGNALS:#x}")
    return Chunk(data, period_ms, chunk_no, first_frame, count, exam_id, values, version)


def verify_chunk_signature(chunk: Chunk, verifier: Ed25519Verifier) -> None:
    """Raise ``TelemetryError('bad_signature')`` unless the in-car unit's key signed the chunk.

    Raises:
        TelemetryError: code ``bad_signature``: ``verifier`` does not verify the chunk's
            signature, so the chunk is not the unit's.
    """
    if not verifier.verify(chunk.signed_bytes, chunk.signature):
        raise TelemetryError("bad_signature", f"chunk {chunk.chunk_no} is not signed by the unit")


@dataclass(frozen=True)
class TelemetryLimits:
    """Plausibility limits of the sensors (from the rule table's ``telemetry`` section)."""

    timing_tolerance_ms: int
    max_step_mm: int
    max_speed_mm_s: int


@dataclass(frozen=True)
class Track:
    """A whole exam's telemetry as columns (one tuple per field, indexed by frame).

    The columns after ``signals`` are version 2's and empty in a version 1 track; ``air`` is
    version 3's and empty in an older one.
    """

    period_ms: int
    exam_id: bytes
    t: tuple[int, ...]
    x: tuple[int, ...]
    y: tuple[int, ...]
    odo: tuple[int, ...]
    heading: tuple[int, ...]
    speed: tuple[int, ...]
    gear: tuple[int, ...]
    rpm: tuple[int, ...]
    signals: tuple[int, ...]
    version: int = 1
    accel: tuple[int, ...] = ()
    clutch: tuple[int, ...] = ()
    steering: tuple[int, ...] = ()
    engaged: tuple[int, ...] = ()
    command: tuple[int, ...] = ()
    vision: tuple[int, ...] = ()
    air: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.t)


def assemble_track(chunks: Sequence[Chunk], limits: TelemetryLimits) -> Track:
    """Join one exam's chunks in order and check that they form one continuous recording.

    (1) at least one chunk, one exam id, one period, one format version; (2) chunk numbers
    0, 1, 2, … and first frames contiguous; (3) time starts at 0 and advances by one period
    per frame within the tolerance: a larger step is a gap, a non-positive one time running
    backwards; (4) no position step or speed beyond what a car can do.

    Raises:
        TelemetryError: any of these checks fails; its code (``empty``, ``exam_mismatch``,
            ``bad_header``, ``chunk_order``, ``gap``, ``bad_time``, ``time_backwards``,
            ``irregular_time``, ``impossible_jump``, ``impossible_speed``) and frame say which.
    """
    # (1)
    if not chunks:
        raise TelemetryError("empty", "no telemetry chunks")
    exam_id, period, version = chunks[0].exam_id, chunks[0].period_ms, chunks[0].version
    values: list[int] = []
    next_frame = 0
    # (2)
    for n, chunk in enumerate(chunks):
        if chunk.exam_id != exam_id:
            raise TelemetryError("exam_mismatch", f"chunk {n} belongs to another exam")
        if chunk.period_ms != period:
            raise TelemetryError("bad_header", f"chunk {n} changes the frame period")
        if chunk.version != version:
            raise TelemetryError("bad_header", f"chunk {n} changes the format version")
        if chunk.chunk_no != n:
            raise TelemetryError("chunk_order", f"chunk number {chunk.chunk_no} where {n} is due")
        if chunk.first_frame != next_frame:
            raise TelemetryError(
                "gap", f"chunk {n} starts at frame {chunk.first_frame}, not {next_frame}"
            )
        next_frame += chunk.frame_count
        values.extend(chunk.values)
    flat = tuple(values)
    per = FIELDS[version]
    t = flat[0::per]
    x = flat[1::per]
    y = flat[2::per]
    speed = flat[5::per]
    # (3)
    if t[0] != 0:
        raise TelemetryError("bad_time", f"first frame is at {t[0]} ms, not 0", 0)
    low, high = period - limits.timing_tolerance_ms, period + limits.timing_tolerance_ms
    step = limits.max_step_mm
    # the steps are differenced at C speed; only a recording that breaks a limit is searched
    # for its first bad frame, the time checked before the position at each frame
    dts = list(map(operator.sub, t[1:], t))
    dxs = list(map(operator.sub, x[1:], x))
    dys = list(map(operator.sub, y[1:], y))
    time_ok = not dts or (low <= min(dts) and max(dts) <= high)
    moves_ok = not dxs or (
        -step <= min(dxs) and max(dxs) <= step and -step <= min(dys) and max(dys) <= step
    )
    if not (time_ok and moves_ok):
        for i in range(1, len(t)):
            dt = dts[i - 1]
            if not low <= dt <= high:
                if dt <= 0:
                    raise TelemetryError(
                        "time_backwards", f"time goes from {t[i - 1]} to {t[i]}", i
                    )
                if dt > high:
                    raise TelemetryError("gap", f"{dt} ms between frames; period is {period}", i)
                raise TelemetryError("irregular_time", f"{dt} ms between frames", i)
            # (4) Chebyshev distance: cheap, and a car cannot exceed it on either axis
            if not (-step <= dxs[i - 1] <= step and -step <= dys[i - 1] <= step):
                raise TelemetryError(
                    "impossible_jump", "position jumps farther than a car moves", i
                )
    top = limits.max_speed_mm_s
    if max(speed) > top or min(speed) < -top:
        i = next(k for k, v in enumerate(speed) if not -top <= v <= top)
        raise TelemetryError("impossible_speed", f"speed {speed[i]} mm/s", i)
    v2 = {}
    if version >= 2:
        v2 = {
            "accel": flat[10::per],
            "clutch": flat[11::per],
            "steering": flat[12::per],
            "engaged": flat[13::per],
            "command": flat[14::per],
            "vision": flat[15::per],
        }
    if version >= 3:
        v2["air"] = flat[16::per]
    return Track(
        period_ms=period,
        exam_id=exam_id,
        t=t,
        x=x,
        y=y,
        odo=flat[3::per],
        heading=flat[4::per],
        speed=speed,
        gear=flat[6::per],
        rpm=flat[8::per],
        signals=flat[9::per],
        version=version,
        **v2,
    )


def read_track(
    blobs: Sequence[bytes],
    limits: TelemetryLimits,
    *,
    verifiers: Sequence[Ed25519Verifier] | None = None,
    exam_id: bytes | None = None,
) -> Track:
    """One exam's track from its chunk blobs: each parses and, when ``verifiers`` gives a key
    per blob, is signed by it; together they form one recording (``assemble_track``) and, when
    ``exam_id`` is given, of that exam.  The one path from signed telemetry to a track, for the
    scorer, the command line and the audit alike.

    Raises:
        TelemetryError: a chunk does not parse, is not signed by its verifier, the chunks do
            not form one recording, or (code ``exam_mismatch``) they record another exam.
        ValueError: ``verifiers`` does not give exactly one key per blob (a caller bug).
    """
    chunks = [parse_chunk(b) for b in blobs]
    if verifiers is not None:
        for chunk, verifier in zip(chunks, verifiers, strict=True):
            verify_chunk_signature(chunk, verifier)
    track = assemble_track(chunks, limits)
    if exam_id is not None and track.exam_id != exam_id:
        raise TelemetryError("exam_mismatch", f"the chunks record exam {track.exam_id.hex()}")
    return track


@dataclass(frozen=True)
class TelemetryCheck:
    """The verdict on one exam's telemetry: either a track to score or a device fault.

    A fault is what the scorer records instead of a score (DESIGN §6: bad data is never
    silently scored): its stable ``reason``, the frame where it was found if known, and why.
    """

    track: Track | None
    reason: str | None = None
    frame: int | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.track is not None


def check_telemetry(
    blobs: Sequence[bytes], limits: TelemetryLimits, verifier: Ed25519Verifier | None = None
) -> TelemetryCheck:
    """Parse, signature-check (when a verifier is given) and join chunks; report, never raise."""
    verifiers = None if verifier is None else [verifier] * len(blobs)
    try:
        return TelemetryCheck(read_track(blobs, limits, verifiers=verifiers))
    except TelemetryError as e:
        return TelemetryCheck(None, e.reason, e.frame, str(e))
