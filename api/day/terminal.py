"""The check-in terminal and the supervisor's desk.

The terminal reads the candidate's ID card (a GB 11643-1999 number), has the centre identify the
booked holder (``POST /day/sessions/{s}/identify``: the centre alone holds the keyed-hash secret)
and compares the face with the enrolment photo: a score per mille.  At or above the session's
threshold it signs ``checkin.verified``; below, ``checkin.face_failed`` and the candidate may
try again; after three failures the candidate is locked and only the supervisor's signed
``checkin.decided`` (admit, or refuse — a proxy) decides.  Every attempt is on the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.client import RefusedError, RemoteLog
from api.client.day_reads import DayReads
from exam_core.exam_day.imports import DEFAULT_FACE_THRESHOLD
from exam_core.log.schemas.checkin import MAX_FACE_ATTEMPTS


@dataclass(frozen=True)
class CardRead:
    """What the terminal reads for one person: the card's number and the face-match score of
    each attempt the camera makes (per mille)."""

    id_number: str
    faces: Sequence[int]


@dataclass(frozen=True)
class CheckinOutcome:
    """``checked_in``, ``locked`` (a supervisor must decide) or ``card_refused`` (the centre
    would not identify the card: ``detail`` says why)."""

    state: str
    candidate: str | None
    attempts: int
    detail: str = ""


class CheckinTerminal:
    """One terminal: its key signs check-ins; its token may identify cards."""

    def __init__(
        self, log: RemoteLog, reads: DayReads, threshold: int = DEFAULT_FACE_THRESHOLD
    ) -> None:
        self.log = log
        self.reads = reads
        self.threshold = threshold

    def check_in(self, session: str, card: CardRead) -> CheckinOutcome:
        """Identify the card, then sign one entry per face-match attempt, at most three.

        Raises:
            RefusedError: the centre refused an attempt (out of order: the window closed).
            UnavailableError: the centre stayed unreachable.
        """
        try:
            candidate, id_hash = self.reads.identify(session, card.id_number)
        except RefusedError as e:
            if e.status == 422:
                return CheckinOutcome("card_refused", None, 0, str(e.problem.get("detail", "")))
            raise
        for attempt, face in enumerate(card.faces[:MAX_FACE_ATTEMPTS], start=1):
            passed = face >= self.threshold
            self.log.append(
                "checkin.verified" if passed else "checkin.face_failed",
                {
                    "session": session,
                    "candidate": candidate,
                    "id_hash": id_hash,
                    "face": face,
                    "attempt": attempt,
                },
            )
            if passed:
                return CheckinOutcome("checked_in", candidate, attempt)
        return CheckinOutcome("locked", candidate, min(len(card.faces), MAX_FACE_ATTEMPTS))


class SupervisorDesk:
    """The hall supervisor: decides on a candidate the terminal locked."""

    def __init__(self, log: RemoteLog) -> None:
        self.log = log

    def decide(self, session: str, candidate: str, decision: str, reason: str) -> int:
        """Sign ``checkin.decided`` (``admit`` with ``identity_confirmed``; ``refuse`` with
        ``proxy_suspected``, ``document_mismatch`` or ``candidate_withdrew``); its index.

        Raises:
            RefusedError: the candidate is not locked, or the reason does not fit.
            UnavailableError: the centre stayed unreachable.
        """
        return self.log.append(
            "checkin.decided",
            {"session": session, "candidate": candidate, "decision": decision, "reason": reason},
        )
