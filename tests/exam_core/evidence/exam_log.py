"""A signed log of exams with their in-car evidence, written as an audit bundle, for the tests.

``ExamLog`` plays a centre whose exams run with the evidence an in-car unit makes: camera
status, video segments sealed as they are recorded (their bytes kept as blobs), snapshots at
the drawn moments, the end that closes the video chain, and the score.  Every entry is signed
by the key of the right role; tests change one thing and look for the finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from exam_core.evidence.snapshot_draw import snapshot_moments
from exam_core.evidence.video_chain import GENESIS, seal_link, sealed_fields
from exam_core.log.note import Ed25519Signer
from tests.exam_core.audit.bundle_factory import TS, LogBuilder

SESSION = "2026-03-02/k3/am"
EXAMINERS = ("E1", "E2")
EXAMS = {"E1": "a1" * 16, "E2": "b2" * 16}
CANDIDATES = {"E1": "c-01", "E2": "c-02"}
SEGMENT_MS = 5_000
START_TS = TS + 1_000_000
END_TS = START_TS + 12 * 60_000
"""Every exam of the log runs twelve minutes."""


def segment_bytes(exam: str, number: int) -> bytes:
    """A recorded segment: a few kilobytes that differ per exam and segment (and in length)."""
    seed = hashlib.sha256(f"{exam}/{number}".encode()).digest()
    size = 3_000 + seed[0] * 8
    return b"".join(
        hashlib.sha256(seed + k.to_bytes(4, "big")).digest() for k in range(size // 32 + 1)
    )[:size]


@dataclass
class ExamLog:
    """A log with one session whose crews are E1 and E2."""

    log: LogBuilder = field(default_factory=LogBuilder)
    starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        log = self.log
        self.scorer = log.key("s1", "scorer")
        self.tablets = {e: log.key(f"T-{e}", "tablet") for e in EXAMINERS}
        self.units = {e: log.key(f"unit-{e}", "vehicle") for e in EXAMINERS}
        log.append(
            log.admin,
            "session.opened",
            session=SESSION,
            subject=3,
            licence_class="C1",
            room="road-1",
            route="k3-route-a/1",
            start_ms=TS,
            seal_from_ms=TS - 1_800_000,
            seal_until_ms=TS - 600_000,
            face_threshold=800,
            gate_fresh_ms=5_000,
            booked=sorted(CANDIDATES.values()),
            crews=[
                {
                    "examiner": e,
                    "tablet": self.tablets[e].name,
                    "vehicle": f"car-{e}",
                    "unit": self.units[e].name,
                }
                for e in EXAMINERS
            ],
        )

    def add(self, signer: Ed25519Signer, type_: str, /, **fields: object) -> int:
        """Append ``signer``'s next event; a ``ts`` among ``fields`` overrides the builder's."""
        return self.log.append(signer, type_, **fields)

    def board(self, examiner: str) -> str:
        exam = EXAMS[examiner]
        self.add(
            self.tablets[examiner],
            "boarding.confirmed",
            session=SESSION,
            exam=exam,
            candidate=CANDIDATES[examiner],
            examiner=examiner,
            vehicle=f"car-{examiner}",
        )
        return exam

    def camera(self, examiner: str, state: str = "ok", signer: Ed25519Signer | None = None) -> int:
        unit = signer or self.units[examiner]
        return self.add(unit, "camera.status", exam=EXAMS[examiner], state=state)

    def start(self, examiner: str, ts: int = START_TS) -> int:
        index = self.add(
            self.tablets[examiner],
            "exam.started",
            ts=ts,
            session=SESSION,
            exam=EXAMS[examiner],
            gate=0,
        )
        self.starts[examiner] = index
        return index

    def seal(self, examiner: str, number: int, prev: bytes, data: bytes | None = None) -> bytes:
        """Seal segment ``number`` after the link ``prev``; keep its bytes as a blob; return
        its link."""
        exam = EXAMS[examiner]
        data = segment_bytes(exam, number) if data is None else data
        start = TS + number * SEGMENT_MS
        fields = sealed_fields(
            exam, segment=number, prev=prev, data=data, start_ms=start, end_ms=start + SEGMENT_MS
        )
        self.log.blob(data)
        self.add(self.units[examiner], "video.sealed", **fields)
        return seal_link(
            exam,
            segment=number,
            prev=prev,
            sha256=hashlib.sha256(data).digest(),
            length=len(data),
            start_ms=start,
            end_ms=start + SEGMENT_MS,
        )

    def record(self, examiner: str, segments: int, order: list[int] | None = None) -> bytes:
        """Seal ``segments`` segments honestly, or in ``order`` (each chained to the one logged
        before it, as a unit that lost or reordered segments would); return the last link."""
        head = GENESIS
        for number in range(segments) if order is None else order:
            head = self.seal(examiner, number, head)
        return head

    def end(self, examiner: str, segments: int | None, head: bytes | None, ts: int = END_TS) -> int:
        video: dict[str, object] = {}
        if segments is not None and head is not None:
            video = {"video_segments": segments, "video_head": head.hex()}
        return self.add(
            self.units[examiner], "exam.ended", ts=ts, exam=EXAMS[examiner], chunks=1, **video
        )

    def drawn(self, examiner: str, end_ts: int = END_TS) -> list[int]:
        """The snapshot moments drawn from the exam's start entry, for an exam ending then."""
        start = self.log.entries[self.starts[examiner]]
        return snapshot_moments(start, end_ts - START_TS)

    def snapshot(self, examiner: str, number: int, moment: int, frame: int | None = None) -> int:
        photo = hashlib.sha256(f"encrypted photo {examiner} {number}".encode()).digest() * 8
        self.log.blob(photo)
        return self.add(
            self.units[examiner],
            "snapshot.taken",
            ts=START_TS + moment,
            exam=EXAMS[examiner],
            snapshot=number,
            moment_ms=moment,
            frame=moment * 25 // 1000 if frame is None else frame,
            sha256=hashlib.sha256(photo).hexdigest(),
            length=len(photo),
        )

    def snapshots(self, examiner: str) -> None:
        for number, moment in enumerate(self.drawn(examiner)):
            self.snapshot(examiner, number, moment)

    def begin(self, examiner: str) -> None:
        """Board, camera ok, start."""
        self.board(examiner)
        self.camera(examiner)
        self.start(examiner)

    def finish(self, examiner: str, segments: int | None, head: bytes | None) -> None:
        """The drawn snapshots, then the end naming ``segments`` and ``head``."""
        self.snapshots(examiner)
        self.end(examiner, segments, head)

    def honest_exam(self, examiner: str, segments: int = 4) -> None:
        self.begin(examiner)
        self.finish(examiner, segments, self.record(examiner, segments))

    def score(self, examiner: str, score: int) -> int:
        """The scorer's result for the exam: passed at 90, one deduction below 100."""
        lane = {"code": "41603", "item": "lane", "points": 100 - score, "frame": 7}
        return self.add(
            self.scorer,
            "exam.scored",
            exam=EXAMS[examiner],
            subject=3,
            licence_class="C1",
            map="k3-route-a/1",
            rules="ga1026-2017/1",
            chunks=["11" * 32],
            stopped=False,
            score=score,
            passed=score >= 90,
            deductions=[] if score == 100 else [lane],
        )

    def write(self, root: Path) -> Path:
        self.log.checkpoint()
        return self.log.write(root)


def recording(examiner: str, numbers: list[int]) -> bytes:
    """The bytes of the exam's segments ``numbers``, joined in that order."""
    return b"".join(segment_bytes(EXAMS[examiner], n) for n in numbers)
