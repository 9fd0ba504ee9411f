"""One candidate's check-in: face-match attempts, the lock after three, a supervisor's decision.

Why it exists: DESIGN §7 and research/domain.md §3.2 — the terminal compares the candidate's
face with the enrolment photo and reports a score (per mille); below the session's threshold
the candidate may try again; after ``MAX_FACE_ATTEMPTS`` failures the terminal locks, and only a
supervisor's signed decision (admit, or refuse) unlocks it.  A refused candidate — a proxy, most
often — stays refused, on the record.

    booked ──verified──▶ checked in
      │ face_failed (1, 2)
      ▼
    retrying ──verified──▶ checked in
      │ face_failed (3)
      ▼
    locked ──decided: admit──▶ checked in (by a supervisor: a warning in the audit)
      └──────decided: refuse──▶ refused

Each method checks the step and, with ``commit``, records it; a step that cannot come now
raises ``StepError`` naming what may come instead.
"""

from __future__ import annotations

import enum

from exam_core.errors import ExamDayError, StepError
from exam_core.log.schemas.checkin import ADMIT_REASONS, MAX_FACE_ATTEMPTS, REFUSE_REASONS

VERIFIED = "checkin.verified"
FACE_FAILED = "checkin.face_failed"
DECIDED = "checkin.decided"


class CheckinState(enum.Enum):
    BOOKED = "booked"
    LOCKED = "locked"
    CHECKED_IN = "checked in"
    REFUSED = "refused"


class CandidateCheckin:
    """The check-in of one booked candidate."""

    def __init__(self, candidate: str) -> None:
        self.candidate = candidate
        self.state = CheckinState.BOOKED
        self.failures = 0
        self.admitted_by_supervisor = False

    def _not_now(self, step_type: str) -> StepError:
        if self.state is CheckinState.LOCKED:
            return StepError(
                "checkin_locked",
                DECIDED,
                f"{self.candidate} is locked after {self.failures} "
                "failed face matches until a supervisor decides",
            )
        if self.state is CheckinState.CHECKED_IN:
            return StepError(
                "checked_in", "session.sealed", f"{self.candidate} is checked in already"
            )
        if self.state is CheckinState.REFUSED:
            return StepError(
                "checkin_refused", "no step: refused", f"{self.candidate} was refused at check-in"
            )
        return StepError(
            "not_locked",
            f"{VERIFIED} or {FACE_FAILED}",
            f"{step_type}: {self.candidate} is not locked",
        )

    def attempt(self, passed: bool, face: int, attempt: int, threshold: int, commit: bool) -> None:
        """A face-match attempt: ``passed`` for ``checkin.verified``, else ``face_failed``.

        Raises:
            StepError: the candidate is locked, checked in or refused, or the attempt number is
                not the next one.
            ExamDayError: (``face_score``) the score contradicts the type of the step.
        """
        step_type = VERIFIED if passed else FACE_FAILED
        if self.state is not CheckinState.BOOKED:
            raise self._not_now(step_type)
        if attempt != self.failures + 1:
            raise StepError(
                "attempt_number",
                f"{step_type} with attempt {self.failures + 1}",
                f"attempt {attempt} of {self.candidate} after {self.failures} failures",
            )
        if passed and face < threshold:
            raise ExamDayError("face_score", f"score {face} is below the threshold {threshold}")
        if not passed and face >= threshold:
            raise ExamDayError(
                "face_score", f"score {face} reaches the threshold {threshold}: a {VERIFIED}"
            )
        if not commit:
            return
        if passed:
            self.state = CheckinState.CHECKED_IN
            return
        self.failures += 1
        if self.failures >= MAX_FACE_ATTEMPTS:
            self.state = CheckinState.LOCKED

    def decide(self, decision: str, reason: str, commit: bool) -> None:
        """A supervisor's decision on a locked candidate.

        Raises:
            StepError: the candidate is not locked.
            ExamDayError: (``decision_reason``) the reason does not go with the decision.
        """
        if self.state is not CheckinState.LOCKED:
            raise self._not_now(DECIDED)
        reasons = ADMIT_REASONS if decision == "admit" else REFUSE_REASONS
        if reason not in reasons:
            raise ExamDayError(
                "decision_reason", f"{decision} goes with one of {sorted(reasons)}, not {reason}"
            )
        if not commit:
            return
        if decision == "admit":
            self.state = CheckinState.CHECKED_IN
            self.admitted_by_supervisor = True
        else:
            self.state = CheckinState.REFUSED
