"""One exam, from boarding to result: start on a fresh gate, telemetry, end, score; or a stop.

Why it exists: the steps of an exam come from three machines — the examiner's tablet, the
in-car unit, the scorer — and each may sign only its own steps, in order:

    boarded ──camera.status (unit; its camera's video signal, on every change)──▶ boarded
    boarded ──exam.started (tablet; the room's latest gate allows it, fresh; camera ok)──▶ started
    started ──telemetry.chunk (unit; chunk n, frames contiguous)──▶ started
    started ──exam.stopped (tablet; a reason from the fixed list)──▶ stopped
    stopped ──telemetry.chunk (unit: the chunks buffered before the stop)──▶ stopped
    started | stopped ──exam.ended (unit; every chunk logged; the video's count, head)──▶ ended
    boarded | started | stopped ──video.sealed (unit; the next segment of the chain)──▶ same
    started | stopped ──camera.status (unit; not ok: the exam is void, the reason kept)──▶ same
    started | stopped ──snapshot.taken (unit; the next snapshot)──▶ same

A void exam (its camera lost while it ran, research/domain.md §3.2) ends as usual and is never
scored: its result is the void on the record, with its reason.
    ended ──exam.scored (scorer; the logged chunks, the exam's route; a stop fails)──▶ scored

The exam's route is the one the allocation drew for its candidate (a 科目三 session's approved
routes), else the session's; the score must name it as its map.

A step out of order raises ``StepError`` naming the step that may come; a step by the wrong
machine, or whose fields contradict what the log holds, raises ``ExamDayError``.
"""

from __future__ import annotations

import enum

from exam_core.errors import ExamDayError, StepError
from exam_core.evidence.video_chain import ChainEnd, ChainState, Seal
from exam_core.exam_day.plan import Crew, SessionPlan
from exam_core.exam_day.steps import GateRecord, Step
from exam_core.log.schemas.evidence import CAMERA_OK


class ExamPhase(enum.Enum):
    BOARDED = "boarded"
    STARTED = "started"
    STOPPED = "stopped"
    ENDED = "ended"
    SCORED = "scored"


_NEXT = {
    ExamPhase.BOARDED: "exam.started",
    ExamPhase.STARTED: "telemetry.chunk, exam.stopped or exam.ended",
    ExamPhase.STOPPED: "telemetry.chunk or exam.ended",
    ExamPhase.ENDED: "exam.scored",
    ExamPhase.SCORED: "no step: the exam has its result",
}


class ExamFlow:
    """The steps of one exam, after its candidate boarded with their assigned crew."""

    def __init__(
        self, exam: str, candidate: str, crew: Crew, boarded_index: int, route: str
    ) -> None:
        self.exam = exam
        self.candidate = candidate
        self.crew = crew
        self.route = route
        """The map the exam is driven and scored on: the candidate's drawn route, if any."""
        self.boarded_index = boarded_index
        self.phase = ExamPhase.BOARDED
        self.gate: int | None = None
        self.chunks: list[str] = []
        self.frames = 0
        self.stop_reason: str | None = None
        self.passed: bool | None = None
        self.video = ChainState()
        self.camera: str | None = None
        """The camera state the crew's unit reported last (None: nothing yet)."""
        self.void_reason: str | None = None
        self.snapshots = 0

    @property
    def running(self) -> bool:
        """Boarded and not yet ended: the crew's car is taken."""
        return self.phase in (ExamPhase.BOARDED, ExamPhase.STARTED, ExamPhase.STOPPED)

    def _require(self, step: Step, *phases: ExamPhase) -> None:
        if self.phase not in phases:
            raise StepError(
                "out_of_order",
                _NEXT[self.phase],
                f"{step.type} cannot come when exam {self.exam} is {self.phase.value}",
            )

    def _require_actor(self, step: Step, key: str, what: str) -> None:
        if step.actor != key:
            raise ExamDayError(
                "wrong_actor", f"{step.type} of exam {self.exam} is signed by its {what} {key}"
            )

    def start(self, step: Step, plan: SessionPlan, gate: GateRecord | None, commit: bool) -> None:
        """``exam.started``: the crew's tablet, after the session's start, on a fresh gate.

        Raises:
            StepError: out of order, too early, no video signal from the in-car camera, or the
                cited gate decision is not the room's latest, does not allow this exam, or is
                stale.
            ExamDayError: another tablet signed it.
        """
        self._require(step, ExamPhase.BOARDED)
        self._require_actor(step, self.crew.tablet, "examiner's tablet")
        if step.ts < plan.start_ms:
            raise StepError(
                "too_early",
                f"exam.started at or after {plan.start_ms}",
                f"session {plan.session} starts at {plan.start_ms}",
            )
        cited = step.number("gate")
        # (DESIGN §5.4) the room's newest decision, allowing this very exam, and fresh.
        if gate is None or gate.index != cited:
            raise StepError(
                "gate_not_latest",
                f"exam.started citing the latest device.gate of {plan.room}",
                f"entry {cited} is not the latest gate decision of room {plan.room}",
            )
        if not gate.allowed:
            raise StepError(
                "gate_closed",
                f"a device.gate of {plan.room} that allows the exam",
                f"the gate of room {plan.room} refuses",
            )
        if gate.exam != self.exam:
            raise StepError(
                "gate_other_exam",
                f"a device.gate of {plan.room} for exam {self.exam}",
                f"the gate decision {gate.index} was made for {gate.exam or 'no exam'}",
            )
        if step.ts - gate.ts > plan.gate_fresh_ms:
            raise StepError(
                "gate_stale",
                f"a device.gate of {plan.room} at most {plan.gate_fresh_ms} ms old",
                f"the gate decision {gate.index} is {step.ts - gate.ts} ms old",
            )
        # (research/domain.md §3.2) no video signal before the start: the exam cannot start.
        if self.camera != CAMERA_OK:
            raise StepError(
                "camera_not_ready",
                f"camera.status ok from {self.crew.unit}",
                f"the in-car camera of exam {self.exam} has no video signal "
                f"(last reported: {self.camera or 'nothing'})",
            )
        if commit:
            self.phase = ExamPhase.STARTED
            self.gate = cited

    def stop(self, step: Step, commit: bool) -> None:
        """``exam.stopped``: the examiner's emergency stop (the schema fixed the reason).

        Raises:
            StepError: the exam is not running.
            ExamDayError: another tablet signed it.
        """
        self._require(step, ExamPhase.STARTED)
        self._require_actor(step, self.crew.tablet, "examiner's tablet")
        if commit:
            self.phase = ExamPhase.STOPPED
            self.stop_reason = step.text("reason")

    def chunk(self, step: Step, commit: bool) -> None:
        """``telemetry.chunk``: the crew's in-car unit, chunks numbered from 0, frames contiguous.

        Raises:
            StepError: the exam has not started or its telemetry is closed, or a chunk is
                missing before this one.
            ExamDayError: another unit signed it, or its frames leave a gap or overlap.
        """
        self._require(step, ExamPhase.STARTED, ExamPhase.STOPPED)
        self._require_actor(step, self.crew.unit, "in-car unit")
        number = step.number("chunk")
        if number != len(self.chunks):
            raise StepError(
                "chunk_order",
                f"telemetry.chunk {len(self.chunks)}",
                f"chunk {number} of exam {self.exam} after {len(self.chunks)} chunks",
            )
        if step.number("first_frame") != self.frames:
            raise ExamDayError(
                "frame_gap",
                f"chunk {number} starts at frame {step.number('first_frame')}, not {self.frames}",
            )
        if commit:
            self.chunks.append(step.text("sha256"))
            self.frames += step.number("frames")

    def camera_status(self, step: Step, commit: bool) -> None:
        """``camera.status``: the crew's unit reports its camera; lost while running: void.

        Raises:
            StepError: the exam has ended.
            ExamDayError: another unit signed it.
        """
        self._require(step, ExamPhase.BOARDED, ExamPhase.STARTED, ExamPhase.STOPPED)
        self._require_actor(step, self.crew.unit, "in-car unit")
        if commit:
            self.camera = step.text("state")
            running = self.phase in (ExamPhase.STARTED, ExamPhase.STOPPED)
            if running and self.camera != CAMERA_OK and self.void_reason is None:
                self.void_reason = f"camera {self.camera} at {step.ts} ms"

    def snapshot(self, step: Step, commit: bool) -> None:
        """``snapshot.taken``: the crew's unit photographs the driver, snapshots numbered from 0
        (the audit checks each moment against the draw from the start entry).

        Raises:
            StepError: the exam is not running, or a snapshot is missing before this one.
            ExamDayError: another unit signed it.
        """
        self._require(step, ExamPhase.STARTED, ExamPhase.STOPPED)
        self._require_actor(step, self.crew.unit, "in-car unit")
        if step.number("snapshot") != self.snapshots:
            raise StepError(
                "snapshot_order",
                f"snapshot.taken {self.snapshots}",
                f"snapshot {step.number('snapshot')} of exam {self.exam} after {self.snapshots}",
            )
        if commit:
            self.snapshots += 1

    def seal(self, step: Step, commit: bool) -> None:
        """``video.sealed``: the crew's unit seals the next segment of the exam's chain.

        Raises:
            StepError: the exam has ended, or a segment is missing before this one.
            ExamDayError: another unit signed it, or it breaks the chain (link, times, order).
        """
        self._require(step, ExamPhase.BOARDED, ExamPhase.STARTED, ExamPhase.STOPPED)
        self._require_actor(step, self.crew.unit, "in-car unit")
        seal = Seal.of(step.index, step.actor, step.event)
        if seal.segment > self.video.expected:
            raise StepError(
                "video_gap",
                f"video.sealed segment {self.video.expected}",
                f"segment {seal.segment} of exam {self.exam} after {self.video.expected}",
            )
        broken = self.video.check(seal)
        if broken:
            raise ExamDayError(broken[0].code, broken[0].message)
        if commit:
            self.video.advance(seal)

    def end(self, step: Step, commit: bool) -> None:
        """``exam.ended``: the unit closes the telemetry, every chunk it names logged.

        Raises:
            StepError: the exam has not started or has ended, or chunks are still missing.
            ExamDayError: another unit signed it, or it names fewer chunks than were logged.
        """
        self._require(step, ExamPhase.STARTED, ExamPhase.STOPPED)
        self._require_actor(step, self.crew.unit, "in-car unit")
        count = step.number("chunks")
        if count > len(self.chunks):
            raise StepError(
                "chunks_missing",
                f"telemetry.chunk {len(self.chunks)}",
                f"exam {self.exam} ends after {count} chunks; {len(self.chunks)} are logged",
            )
        if count < len(self.chunks):
            raise ExamDayError(
                "chunk_count", f"exam {self.exam} has {len(self.chunks)} chunks, not {count}"
            )
        segments, head = step.event.get("video_segments"), step.event.get("video_head")
        if segments is not None or self.video.count:
            end = ChainEnd(
                step.index,
                None if segments is None else int(segments),
                None if head is None else bytes.fromhex(str(head)),
            )
            broken = self.video.check_end(self.exam, end)
            if broken:
                raise ExamDayError(broken[0].code, broken[0].message)
        if commit:
            self.phase = ExamPhase.ENDED

    def score(self, step: Step, plan: SessionPlan, commit: bool) -> None:
        """``exam.scored``: over the logged chunks, the session's subject and class, the exam's
        route as its map.

        Raises:
            StepError: the exam's telemetry is not closed yet, or it has its result already.
            ExamDayError: the exam is void (its camera was lost), or the score names other
                chunks, subject or class than the log, a map other than the exam's route
                (``score_route``), or passes a stopped exam.
        """
        self._require(step, ExamPhase.ENDED)
        if self.void_reason is not None:
            raise ExamDayError("exam_void", f"exam {self.exam} is void: {self.void_reason}")
        event = step.event
        if list(event["chunks"]) != self.chunks:
            raise ExamDayError("score_chunks", f"the score of {self.exam} names other chunks")
        if event["map"] != self.route:
            raise ExamDayError(
                "score_route",
                f"the score of {self.exam} has map {event['map']!r}, the exam's route "
                f"{self.route!r}",
            )
        for name, expected in (
            ("subject", plan.subject),
            ("licence_class", plan.licence_class),
        ):
            if event[name] != expected:
                raise ExamDayError(
                    "score_session",
                    f"the score of {self.exam} has {name} {event[name]!r}, "
                    f"the session {expected!r}",
                )
        stopped = self.stop_reason is not None
        if bool(event["stopped"]) != stopped:
            raise ExamDayError(
                "score_stop", f"exam {self.exam} was {'' if stopped else 'not '}stopped"
            )
        if stopped and event["passed"]:
            raise ExamDayError("score_stop", f"stopped exam {self.exam} cannot pass")
        if commit:
            self.phase = ExamPhase.SCORED
            self.passed = bool(event["passed"])
