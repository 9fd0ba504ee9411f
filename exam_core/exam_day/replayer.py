"""The audit of the exam day: the day's state machine replayed over the admitted log.

Why it exists: the centre's service refuses a step out of order before sequencing it, but an
auditor trusts no service.  ``ExamDayReplayer`` feeds every admitted entry of the day, in log
order, to the same pure ``ExamDay`` the service checks with — without the centre's database, so
the ID card read at check-in is not compared with the enrolment (``id_hashes`` None) — and
reports what it refuses, with the refused entry's index:

- ``day_out_of_order`` (the step cannot come now: ``StepError``, the message names what may
  come) and ``day_refused`` (the step contradicts the day: not booked, another crew's tablet
  or car, a roster other than the check-ins, a score that passes a stopped exam, a room
  configured with a gateway that was not a registered, unrevoked gateway key there, ...:
  ``ExamDayError``, its code in the message).  Hence the roster is the check-ins (the seal must
  name exactly the candidates checked in, the committed manifest exactly the sealed roster),
  whoever boarded is who the draw or its repair assigned (examiner, car, tablet), and every
  exam started on the room's latest gate decision, allowing it, fresh.
  A refusal holds back what depends on it: a session stuck before its seal refuses every later
  step of that session, an exam whose boarding was refused every step of that exam.  Those
  consequences are counted, not listed one by one (``day_unchecked``, a warning at the end).
- ``day_gate_standard``: a gate decision whose ``requires`` fall short of the room's
  ``room.configured`` in force (``gate_standard``): an error when it allowed, a warning when it
  refused; ``day_start_gate_standard``: an exam started on such a decision, or on one taken
  while the room had no configuration.
- ``day_no_result``: at the end of the log, an exam that started and has neither a result
  (``exam.scored``) nor a stop (``exam.stopped``, then ``exam.ended``) nor a void (its camera
  lost: never scored, on purpose).  Still running when the log ends: a warning while the log
  ends within ``PLAUSIBLE_EXAM_MS`` of its start (the exam may be under way), an error after.
  Ended and unscored: a warning within ``SCORING_GRACE_MS`` of its end (the scorer runs as
  soon as the end is logged), an error after.  ``day_not_started``: a warning for a candidate
  who boarded and whose exam never started.
- warnings that list what a person decided over the machines: ``day_face_override`` (a
  supervisor admitted a candidate the face match failed three times), ``day_checkin_refused``
  (a supervisor refused one: a proxy, most often), ``day_identity_opened`` (an investigator
  had a keyed hash opened to the ID number behind it).

A log that predates the exam day's steps (its allocations and exams name no session opened by
``session.opened``) is not judged by them: until the log's first ``session.opened``, the steps
of sessions and exams are passed over.  From it on, every step of the day must belong to an
opened session (a refused opening holds its session back); rooms and gate decisions are always
followed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from allocation.manifest import MAX_MANIFEST_BYTES
from exam_core.audit.history import AuditHistory
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.errors import BlobError, ExamDayError, StepError
from exam_core.exam_day.day import ExamDay
from exam_core.exam_day.exam_flow import ExamFlow, ExamPhase
from exam_core.exam_day.gate_standard import weaker_than_configured
from exam_core.exam_day.plan import exam_id
from exam_core.exam_day.steps import Step
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.entry import Entry

BY_EXAM = frozenset(
    {
        "telemetry.chunk",
        "exam.stopped",
        "exam.ended",
        "exam.scored",
        "video.sealed",
        "camera.status",
        "snapshot.taken",
    }
)
"""The steps that name only their exam (the in-car unit's, the scorer's)."""
BY_SESSION = frozenset(
    {
        "checkin.verified",
        "checkin.face_failed",
        "checkin.decided",
        "session.sealed",
        "allocation.committed",
        "allocation.made",
        "allocation.repaired",
        "boarding.confirmed",
        "exam.started",
    }
)
"""The steps that name their session."""
EXAM_STEPS = BY_EXAM | {"boarding.confirmed", "exam.started"}
"""The steps whose refusal holds back one exam rather than its whole session."""
DAY_TYPES = BY_EXAM | BY_SESSION | {"room.configured", "device.gate", "session.opened"}
KEY_TYPES = frozenset({"key.registered", "key.revoked"})
"""What the day learns the keys from: a room's gateway must be a registered gateway key."""
IDENTITY_OPENED = "identity.opened"

PLAUSIBLE_EXAM_MS = 2 * 3_600_000
"""How long after its start an exam may still be running when the log ends: a 科目三 road exam
takes well under an hour, so a car not back after two is lost, not late."""
SCORING_GRACE_MS = 10 * 60_000
"""How long after its end an exam may still be unscored: the service scores on the end."""


@dataclass
class _Held:
    """A refusal that holds back a session or an exam, and the later refusals it explains."""

    index: int
    what: str
    consequences: list[int] = field(default_factory=list)


@dataclass
class _ExamTimes:
    started: tuple[int, int] | None = None
    """(index, ts) of ``exam.started``."""
    ended: tuple[int, int] | None = None
    """(index, ts) of ``exam.ended``."""


class ExamDayReplayer(RebuiltFromHistory):
    """A ``Replayer`` (and ``Concluding``) for the exam day's steps (see the module docstring)."""

    def __init__(self) -> None:
        self._start(None)

    def _start(self, history: AuditHistory | None) -> None:
        self._history = history
        self._last = -1
        self._day: ExamDay | None = None
        self._begun = False
        """Whether the log has had a ``session.opened``: the exam day's steps have begun."""
        self._derived: dict[str, str] = {}
        """Exam id of every candidate a ``session.opened`` booked → that session."""
        self._held: dict[str, _Held] = {}
        """``session:<id>`` or ``exam:<id>`` → the refusal that holds it back."""
        self._gates: dict[int, str] = {}
        """Gate decision index → why it was not taken under the room's configuration."""
        self._times: dict[str, _ExamTimes] = {}

    @property
    def event_types(self) -> frozenset[str]:
        return DAY_TYPES | KEY_TYPES | {IDENTITY_OPENED}

    @property
    def reads(self) -> frozenset[str]:
        # Its own types: a resumed audit (``--since``) rebuilds the day from the entries an
        # earlier audit judged, as the audit kept them.
        return self.event_types

    # --- each entry ----------------------------------------------------------------------------

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        if history is not self._history or index <= self._last:
            self._catch_up(history, index)
        return self._judge(index, entry, history)

    def _catch_up(self, history: AuditHistory, stop: int) -> None:
        """Start the day again for another audit.  A resumed audit (``--since``) starts after
        entries an earlier one judged: the day is rebuilt from those before ``stop`` (their
        findings were that audit's).  A full audit has none."""
        self._start(history)
        for earlier, old in history.earlier(self.event_types, stop):
            self._judge(earlier, old, history)

    def _judge(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        self._last = index
        if entry.type == IDENTITY_OPENED:
            return [_identity_opened(index, entry)]
        if self._day is None:
            self._day = ExamDay(str(entry.event["log"]))
        day = self._day
        step = Step.of(index, entry)
        if not self._judged(step):
            return []
        session, exam = self._scope(day, step)
        manifest: bytes | None = None
        if step.type == "allocation.committed":
            try:
                manifest = history.blob(step.text("manifest_sha256"), MAX_MANIFEST_BYTES)
            except BlobError as e:
                why = self._refusal(step, session, exam, f"manifest: {e}")
                return [Finding(index, "day_refused", why)]
            if manifest is None:
                absent = "its manifest is absent: the roster it commits cannot be checked"
                return [Finding(index, "day_refused", self._refusal(step, session, exam, absent))]
        try:
            day.apply(step, manifest)
        except StepError as e:
            if self._consequence(step, session, exam):
                return []
            return [Finding(index, "day_out_of_order", self._refusal(step, session, exam, str(e)))]
        except ExamDayError as e:
            return [Finding(index, "day_refused", self._refusal(step, session, exam, str(e)))]
        return self._accepted(day, step, session)

    def _scope(self, day: ExamDay, step: Step) -> tuple[str | None, str | None]:
        """The session and the exam ``step`` belongs to, as far as the log tells so far."""
        if step.type in BY_EXAM:
            exam = step.text("exam")
            flow = day.session_of_exam(exam)
            return (flow.session if flow is not None else self._derived.get(exam)), exam
        if step.type == "session.opened":
            return step.text("session"), None
        if step.type in BY_SESSION:
            session = step.text("session")
            if step.type == "boarding.confirmed":
                return session, exam_id(session, step.text("candidate"))
            return session, step.text("exam") if step.type == "exam.started" else None
        return None, None

    def _judged(self, step: Step) -> bool:
        """Whether the day's rules apply to ``step``: to rooms and gates always, to the steps of
        sessions and exams once the log has a ``session.opened`` (before it, the log predates
        the exam day's steps)."""
        if step.type == "session.opened":
            self._begun = True
            booked = step.event.get("booked")
            for candidate in booked if isinstance(booked, list) else ():
                self._derived.setdefault(
                    exam_id(step.text("session"), str(candidate)), step.text("session")
                )
        return self._begun or step.type not in BY_EXAM | BY_SESSION

    @staticmethod
    def _keys(step: Step, session: str | None, exam: str | None) -> tuple[list[str], str | None]:
        """The scopes ``step`` belongs to, and the one its refusal holds back."""
        keys = [f"exam:{exam}"] if exam is not None else []
        keys += [f"session:{session}"] if session is not None else []
        scope = keys[0] if keys and step.type in EXAM_STEPS else (keys[-1] if keys else None)
        return keys, scope

    def _consequence(self, step: Step, session: str | None, exam: str | None) -> bool:
        """Whether a step out of order follows from an earlier refusal (then it is counted
        there, not listed)."""
        keys, scope = self._keys(step, session, exam)
        held = next((self._held[k] for k in keys if k in self._held), None)
        if held is None and step.type == "boarding.confirmed":
            held = self._busy_with_held(step, session)
        if held is None:
            return False
        held.consequences.append(step.index)
        if scope is not None:
            self._held.setdefault(scope, held)
        return True

    def _refusal(self, step: Step, session: str | None, exam: str | None, why: str) -> str:
        """The message of a refused step, whose scope it now holds back."""
        _, scope = self._keys(step, session, exam)
        if scope is not None and scope not in self._held:
            self._held[scope] = _Held(step.index, scope.replace(":", " ", 1))
        where = f"exam {exam}" if exam is not None and step.type in EXAM_STEPS else None
        where = where or (f"session {session}" if session is not None else None)
        named = f"{step.type} of {where}" if where else step.type
        if step.type == "exam.started" and session is not None:
            why += self._latest_gate(session)
        return f"{named} by {step.actor} refused: {why}"

    def _busy_with_held(self, step: Step, session: str | None) -> _Held | None:
        """The hold of the exam that keeps a boarding's crew busy: an exam whose own steps
        were refused never ends, and its crew's next boarding is its consequence."""
        flow = None if self._day is None or session is None else self._day.sessions.get(session)
        if flow is None:
            return None
        examiner = step.text("examiner")
        for exam, run in flow.exams.items():
            held = self._held.get(f"exam:{exam}")
            if held is not None and run.running and run.crew.examiner == examiner:
                return held
        return None

    def _latest_gate(self, session: str) -> str:
        """What the room of ``session`` had as its latest gate decision, for a refused start."""
        flow = None if self._day is None else self._day.sessions.get(session)
        if flow is None:
            return ""
        room = flow.plan.room
        gate = flow.gates.latest(room)
        if gate is None:
            return f"; room {room} has no gate decision in the log"
        verdict = "allowing" if gate.allowed else "refusing"
        return (
            f"; the latest gate decision of room {room} is entry {gate.index}, "
            f"{verdict}, for {'exam ' + gate.exam if gate.exam else 'no exam'}, at {gate.ts}"
        )

    def _accepted(self, day: ExamDay, step: Step, session: str | None) -> list[Finding]:
        if step.type == "device.gate":
            return self._gate(day, step)
        if step.type == "exam.started":
            self._times.setdefault(step.text("exam"), _ExamTimes()).started = (step.index, step.ts)
            return self._start_gate(day, step)
        if step.type == "exam.ended":
            self._times.setdefault(step.text("exam"), _ExamTimes()).ended = (step.index, step.ts)
        elif step.type == "checkin.decided" and session is not None:
            return [_decided(day, step, session)]
        return []

    def _gate(self, day: ExamDay, step: Step) -> list[Finding]:
        room = step.text("room")
        configured = day.rooms.get(room)
        if configured is None:
            self._gates[step.index] = f"room {room} had no room.configured in force"
            return []
        config, at = configured
        short = weaker_than_configured(config, step.event.get("requires"))
        if not short:
            return []
        why = f"requirements short of room {room}'s configuration (entry {at}): " + "; ".join(short)
        self._gates[step.index] = why
        allowed = step.event.get("allowed") is True
        return [
            Finding(
                step.index,
                "day_gate_standard",
                f"gate decision of room {room} ({'allowed' if allowed else 'refused'}) "
                f"taken under {why}",
                ERROR if allowed else WARNING,
            )
        ]

    def _start_gate(self, day: ExamDay, step: Step) -> list[Finding]:
        gate = step.number("gate")
        why = self._gates.get(gate)
        if why is None:
            return []
        return [
            Finding(
                step.index,
                "day_start_gate_standard",
                f"exam {step.text('exam')} started on gate decision {gate}, taken under {why}",
            )
        ]

    # --- the end of the log --------------------------------------------------------------------

    def conclude(self, history: AuditHistory, size: int) -> list[Finding]:
        """Every exam that started has its outcome; the refusals' consequences, counted."""
        if history is not self._history:
            self._catch_up(history, size)
        if self._day is None:
            return []
        latest = history.latest_signed_before(size)
        end_ts = latest[2] if latest is not None else 0
        findings: list[Finding] = []
        for flow in self._day.sessions.values():
            for exam, run in flow.exams.items():
                if f"exam:{exam}" not in self._held:
                    findings += self._outcome(run, self._times.get(exam, _ExamTimes()), end_ts)
        for held in {id(h): h for h in self._held.values()}.values():
            if held.consequences:
                first, last = held.consequences[0], held.consequences[-1]
                findings.append(
                    Finding(
                        first,
                        "day_unchecked",
                        f"{len(held.consequences)} later steps of {held.what} (entries {first} "
                        f"to {last}) were refused in consequence of entry {held.index}, and are "
                        "not listed",
                        WARNING,
                    )
                )
        return findings

    @staticmethod
    def _outcome(run: ExamFlow, times: _ExamTimes, end_ts: int) -> list[Finding]:
        exam = run.exam
        if run.phase is ExamPhase.BOARDED:
            why = f"candidate {run.candidate} boarded at entry {run.boarded_index} and exam {exam}"
            return [Finding(run.boarded_index, "day_not_started", f"{why} never started", WARNING)]
        if run.phase is ExamPhase.SCORED or times.started is None:
            return []
        at, started_ts = times.started
        if run.phase is ExamPhase.ENDED:
            if run.stop_reason is not None or run.void_reason is not None or times.ended is None:
                return []  # a stop, or a void on the record: no score is due
            ended_at, ended_ts = times.ended
            late = end_ts - ended_ts
            late_ok = late <= SCORING_GRACE_MS
            message = (
                f"exam {exam} (started at entry {at}) ended at entry {ended_at} and has no "
                f"result: the log ends {late} ms later, the scorer is given {SCORING_GRACE_MS}"
            )
            return [Finding(ended_at, "day_no_result", message, WARNING if late_ok else ERROR)]
        running = end_ts - started_ts
        state = "stopped, never ended" if run.phase is ExamPhase.STOPPED else "still running"
        message = (
            f"exam {exam} started at entry {at} is {state} when the log ends, {running} ms after "
            f"its start (an exam may take {PLAUSIBLE_EXAM_MS})"
        )
        severity = WARNING if running <= PLAUSIBLE_EXAM_MS else ERROR
        return [Finding(at, "day_no_result", message, severity)]


def _decided(day: ExamDay, step: Step, session: str) -> Finding:
    flow = day.sessions[session]
    candidate = step.text("candidate")
    failures = flow.checkins[candidate].failures
    reason = step.text("reason")
    if step.text("decision") == "admit":
        return Finding(
            step.index,
            "day_face_override",
            f"supervisor {step.actor} admitted {candidate} to session {session} after "
            f"{failures} failed face matches (reason: {reason})",
            WARNING,
        )
    return Finding(
        step.index,
        "day_checkin_refused",
        f"supervisor {step.actor} refused {candidate} at check-in for session {session} after "
        f"{failures} failed face matches (reason: {reason})",
        WARNING,
    )


def _identity_opened(index: int, entry: Entry) -> Finding:
    event = entry.event
    return Finding(
        index,
        "day_identity_opened",
        f"{entry.actor} had the keyed hash {str(event['id_hash'])[:16]}… opened to the ID number "
        f"behind it (case {event['case']}, basis {event['basis']})",
        WARNING,
    )
