"""The centre's scorer: a result appears in the log with nobody asking for it (DESIGN §6).

Why it exists: an exam ends when its in-car unit logs ``exam.ended``; the service must then
score the exam's logged telemetry and sign ``exam.scored``, in the background, and must not
forget an exam because it was stopped or killed in between.  ``DayScorer`` is told of every
exam that ends (``DayGuard.on_ended``); when it starts it also queues every exam the log shows
ended and not scored — so a restart scores what a crash left.

For each exam it waits until the ``exam.ended`` is published, then reads, under the day's lock,
what the score must be over — the chunks the log holds, the session's class, the exam's route
(the one drawn for its candidate, else the session's) as its map, the crew's in-car unit,
whether the examiner stopped it, the examiner's calls — fetches the chunks from the blob
store, scores them (``exam_core.scoring``) and appends ``exam.scored`` signed with
the centre's scorer key, through the same door as every other entry (the day checks it too).
A void exam is not scored (``ExamFlow``).  An exam that cannot be scored (a chunk missing
from the store, telemetry that does not verify) is logged and its reason kept for the readers
(``DayGuard.scoring_errors``); nothing is signed for it.

The scorer key is the centre's: a registered ``scorer`` key whose private half the centre
holds, or ``scorer/service`` registered on first start.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from exam_core.centre.centre import Centre
from exam_core.errors import EntryError, ExamCoreError, KeyFormatError, StoreError
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.exam_flow import ExamPhase
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import SCORER
from exam_core.scoring.course import course_by_version, subject_of
from exam_core.scoring.engine import ExaminerCall, examiner_deductions, score_chunks
from exam_core.scoring.events import scored_fields
from exam_core.scoring.rules import RuleTable, load_rule_table

logger = logging.getLogger(__name__)

SCORER_KEY = "scorer/service"
PUBLISH_WAIT_S = 30.0
_STOP = ("", -1)


@dataclass(frozen=True)
class _Job:
    """What one exam's score is over, read from the day under its lock."""

    exam: str
    licence_class: str
    route: str
    subject: int
    unit: str
    chunks: tuple[str, ...]
    frames: int
    stopped: bool
    calls: tuple[tuple[str, str, int], ...]
    """(rule table, code, frame) of each examiner's call."""


def scorer_signer(centre: Centre) -> Ed25519Signer:
    """The centre's scorer key: ``scorer/service``, another registered scorer key whose private
    half the centre holds, or ``scorer/service`` registered now.

    Raises:
        StoreError: the key cannot be registered.
        EntryError: ingest refused its registration.
    """
    registry = centre.sequencer.registry_view.registry
    preferred = centre.key_name(SCORER_KEY)
    names = sorted(
        (n for n, r in registry.keys.items() if r.role == SCORER and not r.revoked),
        key=lambda n: (n != preferred, n),
    )
    for name in names:
        try:
            return centre.signer(name)
        except (KeyFormatError, StoreError):
            continue
    return centre.register_key(SCORER_KEY, SCORER)


def _valid_calls(
    calls: tuple[tuple[str, str, int], ...], table: RuleTable, subject: int, frames: int
) -> list[ExaminerCall]:
    """The calls a score counts (the audit's rule): the score's rule table, an examiner-judged
    rule of it for the subject, a frame of the recording."""
    valid = []
    for rules, code, frame in calls:
        call = ExaminerCall(code, frame)
        if rules != table.version:
            continue
        try:
            examiner_deductions([call], table, subject, frames)
        except ExamCoreError:
            continue
        valid.append(call)
    return valid


class DayScorer:
    """A background thread that scores each exam once it has ended."""

    def __init__(self, centre: Centre, day: DayGuard, signer: Ed25519Signer | None = None) -> None:
        self._centre = centre
        self._day = day
        self._signer = signer
        self._queue: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.scored = 0
        """How many results this scorer signed."""

    def start(self) -> None:
        """Take the key, listen for exams that end, queue those the log left unscored, run.

        Raises:
            RuntimeError: it runs already.
            StoreError: the scorer key cannot be registered.
            EntryError: ingest refused the key's registration.
        """
        if self._thread is not None:
            raise RuntimeError("the scorer runs already")
        if self._signer is None:
            self._signer = scorer_signer(self._centre)
        self._day.on_ended(self._ended)
        with self._day.lock:
            pending = [
                (exam, flow.boarded_index)
                for session in self._day.day.sessions.values()
                for exam, flow in session.exams.items()
                if flow.phase is ExamPhase.ENDED and flow.void_reason is None
            ]
        for item in pending:
            self._queue.put(item)
        self._thread = threading.Thread(target=self._run, name="day-scorer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Finish the exam being scored, then stop (the rest is scored at the next start)."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def _ended(self, exam: str, index: int) -> None:
        self._queue.put((exam, index))

    def _run(self) -> None:
        while True:
            exam, index = self._queue.get()
            if (exam, index) == _STOP:
                return
            try:
                self._centre.sequencer.wait_published(index, PUBLISH_WAIT_S)
                self.score(exam)
            except Exception as e:
                # The thread must outlive one exam's failure; the reason is kept for readers.
                logger.warning("exam %s was not scored: %s", exam, e)
                with self._day.lock:
                    self._day.scoring_errors[exam] = str(e)

    def _job(self, exam: str) -> _Job | None:
        with self._day.lock:
            session = self._day.day.session_of_exam(exam)
            flow = None if session is None else session.exams.get(exam)
            if session is None or flow is None:
                return None
            if flow.phase is not ExamPhase.ENDED or flow.void_reason is not None:
                return None
            plan = session.plan
            return _Job(
                exam=exam,
                licence_class=plan.licence_class,
                route=flow.route,
                subject=plan.subject,
                unit=flow.crew.unit,
                chunks=tuple(flow.chunks),
                frames=flow.frames,
                stopped=flow.stop_reason is not None,
                calls=tuple((c.rules, c.code, c.frame) for c in self._day.calls.get(exam, [])),
            )

    def score(self, exam: str) -> int | None:
        """Score ``exam`` if it is ended, not void and not scored; the ``exam.scored`` index.

        Raises:
            ScoringError: the telemetry cannot be scored (or the map is not shipped).
            StoreError: a chunk is not in the blob store, or the log cannot be written.
            EntryError: ingest refused the result.
            ExamDayError: the day refused it.
        """
        job = self._job(exam)
        if job is None or self._signer is None:
            return None
        blobs = [self._centre.blobs.get(sha) for sha in job.chunks]
        course = course_by_version(job.route)
        table = load_rule_table()
        verifier = self._centre.sequencer.registry_view.registry.verifier_of(job.unit)
        if verifier is None:
            raise EntryError("unknown_key", f"the in-car unit {job.unit} has no registered key")
        result = score_chunks(
            blobs,
            course,
            table,
            job.licence_class,
            verifier=verifier,
            exam_id=bytes.fromhex(exam),
            stopped=job.stopped,
            examiner_calls=_valid_calls(job.calls, table, subject_of(course), job.frames),
        )
        fields = scored_fields(
            bytes.fromhex(exam),
            job.licence_class,
            course,
            table,
            blobs,
            result=result,
            stopped=job.stopped,
        )
        index = self._centre.append(self._signer, "exam.scored", fields)
        with self._day.lock:
            self._day.scoring_errors.pop(exam, None)
        self.scored += 1
        return index


__all__ = ["SCORER_KEY", "DayScorer", "scorer_signer"]
