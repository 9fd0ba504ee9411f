"""The in-car unit: camera health, signed telemetry, sealed video and snapshots of one exam.

For each exam its tablet boards, the unit

1. reports its camera (``camera.status``; ``ok`` is a video signal, without which the exam
   cannot start);
2. once the exam has started, reads the start entry (its exact bytes: the snapshot moments are
   drawn from them, ``exam_core.evidence.snapshot_draw``) and drives: every chunk of telemetry
   (frames from the car's sensors, here the scoring simulator's) is signed with the unit's key,
   uploaded as a blob and logged as ``telemetry.chunk``; the video recorded meanwhile is sealed
   as the next segment of the exam's hash chain (``video.sealed``); each drawn moment that has
   passed is photographed (``snapshot.taken``, an AES-256-GCM encrypted blob);
3. stops driving when the examiner stops the exam, and closes it: ``exam.ended`` with the
   number of chunks and the chain's count and head.  Every moment drawn before that time has
   its snapshot, none after.

Each event carries the time it happened on the unit.  The unit never waits for the link: its
events queue in order (``api.client.RemoteLog``) and go when the link is up, so a car driving
through a dead zone keeps recording and loses nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.client import RemoteLog
from exam_core.evidence.snapshot_draw import snapshot_moments
from exam_core.evidence.video_chain import GENESIS, seal_link, sealed_fields
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.evidence import CAMERA_OK
from exam_core.scoring.telemetry import CHUNK_FRAMES, Frame, make_chunks

SEGMENT_BYTES = 4096
"""Bytes of each emulated video segment (a real unit seals a few seconds of H.264)."""
VIDEO_FPS = 25
DAY_MS = 24 * 3_600_000


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Drive:
    """What the unit sent for one exam (the futures resolve as the centre takes each event)."""

    exam: str
    chunks: int = 0
    segments: int = 0
    snapshots: int = 0
    stopped_early: bool = False
    futures: list[Future[int]] = field(default_factory=list)
    ended: Future[int] | None = None


class InCarUnit:
    """One car's unit: its key (which signs the telemetry too) and its queue to the centre."""

    def __init__(
        self,
        log: RemoteLog,
        snapshot_key: bytes,
        *,
        chunk_frames: int = CHUNK_FRAMES,
        pace_s: float = 0.05,
        clock_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.log = log
        self._aead = AESGCM(snapshot_key)
        self.chunk_frames = chunk_frames
        self.pace_s = pace_s
        self._clock = clock_ms
        self._sleep = sleep

    def camera(self, exam: str, state: str = CAMERA_OK) -> Future[int]:
        """Report the camera's state for ``exam`` (on boarding, and on every change)."""
        return self.log.submit("camera.status", {"exam": exam, "state": state}, ts=self._clock())

    def drive(
        self,
        exam: str,
        start_index: int,
        frames: Sequence[Frame],
        stop: threading.Event | None = None,
        on_chunk: Callable[[int], None] | None = None,
    ) -> Drive:
        """Record the exam (module docstring) until the frames run out or ``stop`` is set
        (checked before each chunk after the first); return what was queued, ``exam.ended``
        last.  ``on_chunk(n)`` is called after chunk n is queued (the car's other systems).

        Raises:
            RefusedError, UnavailableError: reading the start entry failed.
        """
        start = self.log.client.entry(start_index)
        start_ts = parse_entry(start).ts
        moments = snapshot_moments(start, DAY_MS)
        blobs = make_chunks(
            self.log.signer, bytes.fromhex(exam), list(frames), per_chunk=self.chunk_frames
        )
        drive = Drive(exam)
        prev, segment_start = GENESIS, start_ts
        for number, blob in enumerate(blobs):
            if number > 0 and stop is not None and stop.is_set():
                drive.stopped_early = True
                break
            now = self._clock()
            first = number * self.chunk_frames
            count = min(self.chunk_frames, len(frames) - first)
            fields = {"exam": exam, "chunk": number, "first_frame": first, "frames": count}
            drive.futures.append(self.log.submit("telemetry.chunk", fields, blob, ts=now))
            drive.chunks += 1
            prev, segment_start = self._seal(drive, prev, segment_start, max(now, segment_start))
            self._snapshots(drive, start_ts, moments, now)
            if on_chunk is not None:
                on_chunk(number)
            self._sleep(self.pace_s)
        end = max(self._clock(), segment_start)
        self._snapshots(drive, start_ts, moments, end)
        drive.ended = self.log.submit(
            "exam.ended",
            {
                "exam": exam,
                "chunks": drive.chunks,
                "video_segments": drive.segments,
                "video_head": prev.hex(),
            },
            ts=end,
        )
        return drive

    def _seal(self, drive: Drive, prev: bytes, start_ms: int, end_ms: int) -> tuple[bytes, int]:
        data = _video_segment(drive.exam, drive.segments)
        fields = sealed_fields(
            drive.exam,
            segment=drive.segments,
            prev=prev,
            data=data,
            start_ms=start_ms,
            end_ms=end_ms,
        )
        drive.futures.append(self.log.submit("video.sealed", fields, data, ts=end_ms))
        link = seal_link(
            drive.exam,
            segment=drive.segments,
            prev=prev,
            sha256=hashlib.sha256(data).digest(),
            length=len(data),
            start_ms=start_ms,
            end_ms=end_ms,
        )
        drive.segments += 1
        return link, end_ms

    def _snapshots(self, drive: Drive, start_ts: int, moments: list[int], now: int) -> None:
        """Photograph every drawn moment before ``now`` (the audit draws the moments that fall
        before the exam's end, so none is taken at or after it)."""
        elapsed = now - start_ts
        while drive.snapshots < len(moments):
            moment = moments[drive.snapshots]
            if moment >= elapsed:
                return
            photo = self._photo(drive.exam, drive.snapshots)
            fields = {
                "exam": drive.exam,
                "snapshot": drive.snapshots,
                "moment_ms": moment,
                "frame": moment * VIDEO_FPS // 1000,
            }
            drive.futures.append(self.log.submit("snapshot.taken", fields, photo, ts=now))
            drive.snapshots += 1

    def _photo(self, exam: str, number: int) -> bytes:
        """An encrypted still of the driver (the image itself is emulated)."""
        image = hashlib.shake_256(f"driver {exam} {number}".encode()).digest(2048)
        nonce = hashlib.sha256(f"snapshot nonce {exam} {number}".encode()).digest()[:12]
        return nonce + self._aead.encrypt(nonce, image, bytes.fromhex(exam))


def _video_segment(exam: str, number: int) -> bytes:
    """The bytes of one emulated video segment (deterministic, different for every segment)."""
    return hashlib.shake_256(f"video {exam} {number}".encode()).digest(SEGMENT_BYTES)
