"""The session's state machine: which step of the exam day may come next (DESIGN §4, §5.4, §7).

Why it exists: the centre's service checks every signed step against it before the entry is
sequenced (the HTTP layer turns a ``StepError`` into 409 with the step expected), and a replay
of the log rebuilds it after a restart; it is pure — steps and values in, a domain error out.

    opened ──checkin.* (terminal; booked; ID hash; face) per candidate, until the window closes
      │
      ├─session.sealed (allocator; inside [seal_from, seal_until]; roster = the check-ins)─▶
    sealed ──allocation.committed (the manifest's roster is the sealed roster)──▶
    committed ──allocation.committed again (same manifest, a later round: an abort)──▶ committed
    committed ──allocation.made (the committed manifest and round; cars and routes drawn)──▶
    allocated ──allocation.repaired (no-show, examiner withdrawn; repair k+1; routes kept)──▶
                 allocated
    allocated ──boarding.confirmed (the assigned crew's tablet, the car drawn for its examiner —
                 its own car when the manifest draws none —, the derived exam id)
                 └─▶ each exam: started ▸ telemetry ▸ (stopped) ▸ ended ▸ scored (``exam_flow``),
                     on the route drawn for its candidate — the session's route when none was

Tablets read their assignment (``assignment_for``) only once it is made, and only their own.
Each method checks a step and, with ``commit``, records it: ``check`` before sequencing,
``apply`` once the entry is in the log.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace

from allocation.errors import AllocationError
from allocation.manifest import Manifest, parse_manifest
from exam_core.errors import ExamDayError, StepError
from exam_core.exam_day.checkin import CandidateCheckin, CheckinState
from exam_core.exam_day.exam_flow import ExamFlow
from exam_core.exam_day.plan import Crew, SessionPlan, exam_id, parse_plan
from exam_core.exam_day.steps import GateBoard, Step


class Phase(enum.Enum):
    OPEN = "open"
    SEALED = "sealed"
    COMMITTED = "committed"
    ALLOCATED = "allocated"


_NEXT = {
    Phase.OPEN: "checkin.verified, checkin.face_failed, checkin.decided or session.sealed",
    Phase.SEALED: "allocation.committed",
    Phase.COMMITTED: "allocation.made",
    Phase.ALLOCATED: "boarding.confirmed, allocation.repaired or the steps of an exam",
}


class SessionFlow:
    """One session, from its ``session.opened`` on.

    ``id_hashes`` (candidate → keyed hash of their ID number, from the centre's database) lets
    the live service check that the ID card read at check-in is the candidate's; a replay that
    has no database (the auditor's) passes None and skips that check.
    """

    def __init__(
        self,
        opened: Step,
        origin: str,
        *,
        gates: GateBoard | None = None,
        id_hashes: Mapping[str, str] | None = None,
    ) -> None:
        if opened.type != "session.opened":
            raise RuntimeError("a session flow starts from its session.opened step")
        self.plan: SessionPlan = parse_plan(opened.fields(), origin)
        self.opened_index = opened.index
        self.gates = gates if gates is not None else GateBoard()
        self._id_hashes = id_hashes
        self.phase = Phase.OPEN
        self.checkins = {c: CandidateCheckin(c) for c in sorted(self.plan.booked)}
        self.roster: tuple[str, ...] = ()
        self.examiners: tuple[str, ...] = tuple(sorted(c.examiner for c in self.plan.crews))
        self.manifest: Manifest | None = None
        self.manifest_sha256: str | None = None
        self.round: int | None = None
        self.commits = 0
        self.assignment: dict[str, str] = {}
        self.vehicles: dict[str, str] = {}
        """Examiner → the car the allocation drew for them (a version-2 manifest's draw)."""
        self.routes: dict[str, str] = {}
        """Candidate → the approved route the allocation drew for them (a version-2 manifest's
        draw); a repair keeps it."""
        self.no_shows: set[str] = set()
        self.withdrawn: set[str] = set()
        self.repairs = 0
        self.exams: dict[str, ExamFlow] = {}
        self._handlers: dict[str, Callable[[Step, bytes | None, bool], None]] = {
            "checkin.verified": lambda s, _m, c: self._attempt(s, True, c),
            "checkin.face_failed": lambda s, _m, c: self._attempt(s, False, c),
            "checkin.decided": lambda s, _m, c: self._decided(s, c),
            "session.sealed": lambda s, _m, c: self._sealed(s, c),
            "allocation.committed": self._committed,
            "allocation.made": lambda s, _m, c: self._made(s, c),
            "allocation.repaired": lambda s, _m, c: self._repaired(s, c),
            "boarding.confirmed": lambda s, _m, c: self._boarded(s, c),
            "exam.started": lambda s, _m, c: self._exam(s).start(
                s, self.plan, self.gates.latest(self.plan.room), c
            ),
            "exam.stopped": lambda s, _m, c: self._exam(s).stop(s, c),
            "telemetry.chunk": lambda s, _m, c: self._exam(s).chunk(s, c),
            "exam.ended": lambda s, _m, c: self._exam(s).end(s, c),
            "video.sealed": lambda s, _m, c: self._exam(s).seal(s, c),
            "camera.status": lambda s, _m, c: self._exam(s).camera_status(s, c),
            "snapshot.taken": lambda s, _m, c: self._exam(s).snapshot(s, c),
            "exam.scored": lambda s, _m, c: self._exam(s).score(s, self.plan, c),
        }

    # --- the door ------------------------------------------------------------------------------

    @property
    def session(self) -> str:
        return self.plan.session

    def handles(self, step_type: str) -> bool:
        return step_type in self._handlers

    def check(self, step: Step, manifest: bytes | None = None) -> None:
        """Whether ``step`` may come next; ``manifest`` is the blob an ``allocation.committed``
        names.

        Raises:
            StepError: the step is out of order; ``expected`` names what may come.
            ExamDayError: the step contradicts the session (not booked, another crew's tablet,
                a roster other than the check-ins, ...).
            RuntimeError: the step is of a type sessions do not handle, or an
                ``allocation.committed`` came without its manifest (caller bugs).
        """
        self._dispatch(step, manifest, commit=False)

    def apply(self, step: Step, manifest: bytes | None = None) -> None:
        """Check ``step`` and record it (for an entry now in the log).

        Raises:
            StepError: as ``check``; nothing is recorded then.
            ExamDayError: as ``check``; nothing is recorded then.
            RuntimeError: as ``check`` (a caller bug); nothing is recorded then.
        """
        self._dispatch(step, manifest, commit=True)

    def _dispatch(self, step: Step, manifest: bytes | None, commit: bool) -> None:
        handler = self._handlers.get(step.type)
        if handler is None:
            raise RuntimeError(f"a session does not take {step.type} steps")
        if step.event.get("session", self.session) != self.session:
            raise RuntimeError(
                f"{step.type} of session {step.event['session']} sent to {self.session}"
            )
        handler(step, manifest, commit)

    # --- reading -------------------------------------------------------------------------------

    def checked_in(self) -> tuple[str, ...]:
        """The candidates checked in so far, ascending: the roster a seal must name."""
        return tuple(c for c, s in self.checkins.items() if s.state is CheckinState.CHECKED_IN)

    def sealed_fields(self) -> dict[str, object]:
        """The fields of the ``session.sealed`` that would seal the roster now.

        Raises:
            StepError: the session is sealed already.
        """
        self._require_phase("session.sealed", Phase.OPEN)
        return {
            "session": self.session,
            "candidates": list(self.checked_in()),
            "examiners": list(self.examiners),
        }

    def assignment_for(self, tablet: str) -> tuple[tuple[str, str], ...]:
        """(candidate, exam id) assigned to the examiner carrying ``tablet``, for that tablet.

        Raises:
            ExamDayError: (``not_on_duty``) no crew of this session carries ``tablet``.
            StepError: the allocation is not made yet.
        """
        crew = self.plan.crew_with_tablet(tablet)
        if crew is None:
            raise ExamDayError("not_on_duty", f"no crew of session {self.session} carries {tablet}")
        self._require_phase("assignment", Phase.ALLOCATED)
        return tuple(
            (candidate, exam_id(self.session, candidate))
            for candidate, examiner in sorted(self.assignment.items())
            if examiner == crew.examiner
        )

    # --- the steps -----------------------------------------------------------------------------

    def _require_phase(self, what: str, *phases: Phase) -> None:
        if self.phase not in phases:
            raise StepError(
                "out_of_order",
                _NEXT[self.phase],
                f"{what} cannot come while session {self.session} is {self.phase.value}",
            )

    def _checkin_open(self, step: Step) -> CandidateCheckin:
        self._require_phase(step.type, Phase.OPEN)
        if step.ts >= self.plan.seal_until_ms:
            raise StepError(
                "checkin_closed",
                "session.sealed",
                f"check-in for {self.session} closed at {self.plan.seal_until_ms}",
            )
        candidate = step.text("candidate")
        checkin = self.checkins.get(candidate)
        if checkin is None:
            raise ExamDayError("not_booked", f"{candidate} is not booked for {self.session}")
        return checkin

    def _attempt(self, step: Step, passed: bool, commit: bool) -> None:
        checkin = self._checkin_open(step)
        if self._id_hashes is not None and self._id_hashes.get(checkin.candidate) != step.text(
            "id_hash"
        ):
            raise ExamDayError(
                "identity_mismatch",
                f"the ID card read is not the one {checkin.candidate} enrolled with",
            )
        checkin.attempt(
            passed, step.number("face"), step.number("attempt"), self.plan.face_threshold, commit
        )

    def _decided(self, step: Step, commit: bool) -> None:
        self._checkin_open(step).decide(step.text("decision"), step.text("reason"), commit)

    def _sealed(self, step: Step, commit: bool) -> None:
        self._require_phase(step.type, Phase.OPEN)
        plan = self.plan
        if step.ts < plan.seal_from_ms:
            raise StepError(
                "too_early",
                f"session.sealed at or after {plan.seal_from_ms}",
                f"the roster window of {self.session} opens at {plan.seal_from_ms}",
            )
        if step.ts > plan.seal_until_ms:
            raise StepError(
                "window_missed",
                "no step: the roster window has passed",
                f"the roster window of {self.session} closed at {plan.seal_until_ms}",
            )
        # (DESIGN §4.1) the roster is exactly the check-ins the log shows, and the crews on duty.
        roster = self.checked_in()
        named = tuple(step.event["candidates"])
        if named != roster:
            missing = sorted(set(roster) - set(named))
            extra = sorted(set(named) - set(roster))
            raise ExamDayError(
                "roster_mismatch",
                f"the roster must be the {len(roster)} candidates checked in, "
                f"ascending (missing {missing}, not checked in {extra})",
            )
        if tuple(step.event["examiners"]) != self.examiners:
            raise ExamDayError(
                "roster_mismatch", "the examiners must be the crews on duty, ascending"
            )
        if commit:
            self.phase = Phase.SEALED
            self.roster = roster

    def _committed(self, step: Step, manifest: bytes | None, commit: bool) -> None:
        self._require_phase(step.type, Phase.SEALED, Phase.COMMITTED)
        if manifest is None:
            raise RuntimeError("allocation.committed is checked with the manifest it names")
        sha = hashlib.sha256(manifest).hexdigest()
        if sha != step.text("manifest_sha256") or len(manifest) != step.number("manifest_len"):
            raise ExamDayError("manifest_mismatch", "the manifest is not the one the entry names")
        try:
            parsed = parse_manifest(manifest)
        except AllocationError as e:
            raise ExamDayError("manifest", f"the manifest does not parse: {e}") from e
        if parsed.session != self.session:
            raise ExamDayError("manifest", f"the manifest is of session {parsed.session}")
        if tuple(sorted(c.id for c in parsed.roster.candidates)) != self.roster:
            raise ExamDayError("manifest", "the manifest's candidates are not the sealed roster")
        if tuple(sorted(e.id for e in parsed.roster.examiners)) != self.examiners:
            raise ExamDayError("manifest", "the manifest's examiners are not the crews on duty")
        cars = {c.vehicle for c in self.plan.crews}
        if parsed.roster.vehicles and {v.id for v in parsed.roster.vehicles} != cars:
            raise ExamDayError("manifest", "the manifest's cars are not the crews' cars")
        approved = set(self.plan.approved_routes)
        if parsed.routes is not None and set(parsed.roster.routes) != approved:
            raise ExamDayError(
                "manifest", "the manifest's routes are not the session's approved routes"
            )
        if parsed.routes is None and len(approved) > 1:
            # A session that approves several routes has each candidate's drawn, never chosen.
            raise ExamDayError("manifest", "the session's approved routes must be drawn")
        for name, value in (
            ("round", parsed.beacon.round),
            ("beacon_kind", parsed.beacon.kind),
            ("vrf_key", parsed.vrf_key.hex()),
        ):
            if step.event[name] != value:
                raise ExamDayError("manifest", f"{name} differs from the manifest's")
        if self.phase is Phase.COMMITTED and not self._same_but_later(parsed):
            # (DESIGN §4.7) an abort re-commits the same manifest, for a later round only.
            raise StepError(
                "recommit",
                "allocation.made, or the same manifest for a later round",
                "a re-commit must keep the manifest and aim at a later beacon round",
            )
        if commit:
            self.phase = Phase.COMMITTED
            self.manifest = parsed
            self.manifest_sha256 = sha
            self.round = parsed.beacon.round
            self.commits += 1

    def _same_but_later(self, manifest: Manifest) -> bool:
        """Whether ``manifest`` is the committed one but for a later beacon round."""
        committed = self.manifest
        if committed is None or manifest.beacon.round <= committed.beacon.round:
            return False
        return replace(manifest, beacon=committed.beacon) == committed

    def _same_manifest(self, step: Step) -> None:
        if step.text("manifest_sha256") != self.manifest_sha256:
            raise ExamDayError("manifest_mismatch", f"{step.type} names another manifest")

    def _made(self, step: Step, commit: bool) -> None:
        self._require_phase(step.type, Phase.COMMITTED)
        self._same_manifest(step)
        if step.number("round") != self.round:
            raise ExamDayError("round", f"the draw must use the committed round {self.round}")
        pairs = [(str(c), str(e)) for c, e in step.event["assignment"]]
        candidates = [c for c, _ in pairs]
        if sorted(candidates) != list(self.roster) or any(
            e not in self.examiners for _, e in pairs
        ):
            raise ExamDayError(
                "assignment",
                "the assignment must pair each sealed candidate once, with an examiner on duty",
            )
        drawn = self._drawn_vehicles(step)
        routes = self._drawn_routes(step)
        if commit:
            self.phase = Phase.ALLOCATED
            self.assignment = dict(pairs)
            self.vehicles = drawn
            self.routes = routes

    def _drawn_vehicles(self, step: Step) -> dict[str, str]:
        """The ``vehicles`` of ``allocation.made``: each examiner on duty one of the crews' cars,
        no car twice ({} when the manifest draws no cars: each crew keeps its own).

        Raises:
            ExamDayError: (``vehicles``) a draw that is not that.
        """
        drawn = {str(e): str(v) for e, v in step.event.get("vehicles", ())}
        if not drawn:
            return drawn
        cars = {c.vehicle for c in self.plan.crews}
        if (
            sorted(drawn) != list(self.examiners)
            or len(step.event["vehicles"]) != len(drawn)
            or len(set(drawn.values())) != len(drawn)
            or not set(drawn.values()) <= cars
        ):
            raise ExamDayError(
                "vehicles", "the draw must give each examiner on duty one of the crews' cars"
            )
        return drawn

    def _drawn_routes(self, step: Step) -> dict[str, str]:
        """The ``routes`` of ``allocation.made``: when the committed manifest draws routes,
        each sealed candidate once, on one of the session's approved routes ({} when it draws
        none: every exam is on the session's route).

        Raises:
            ExamDayError: (``routes``) a draw that is not that, or routes the manifest does not
                draw.
        """
        pairs = [(str(c), str(r)) for c, r in step.event.get("routes", ())]
        drawn = dict(pairs)
        manifest = self.manifest
        if manifest is None or manifest.routes is None:
            if pairs:
                raise ExamDayError("routes", "the committed manifest draws no routes")
            return drawn
        if (
            len(drawn) != len(pairs)
            or sorted(drawn) != list(self.roster)
            or not set(drawn.values()) <= set(self.plan.approved_routes)
        ):
            raise ExamDayError(
                "routes",
                "the draw must give each sealed candidate once one of the session's approved "
                "routes",
            )
        return drawn

    def route_of(self, candidate: str) -> str:
        """The route ``candidate`` is examined on: the one drawn for them, else the session's."""
        return self.routes.get(candidate, self.plan.route)

    def crew_for(self, examiner: str) -> Crew | None:
        """``examiner``'s crew as it examines today: their tablet, and the car the allocation
        drew for them with that car's in-car unit (the plan's own car when none was drawn)."""
        crew = self.plan.crew_of(examiner)
        car = self.vehicles.get(examiner)
        if crew is None or car is None or car == crew.vehicle:
            return crew
        owner = next(c for c in self.plan.crews if c.vehicle == car)
        return replace(crew, vehicle=car, unit=owner.unit)

    def _repaired(self, step: Step, commit: bool) -> None:
        self._require_phase(step.type, Phase.ALLOCATED)
        self._same_manifest(step)
        if step.number("repair") != self.repairs + 1:
            raise StepError(
                "repair_number",
                f"allocation.repaired number {self.repairs + 1}",
                f"repair {step.number('repair')} after {self.repairs}",
            )
        absent, withdrawn = set(self.no_shows), set(self.withdrawn)
        for change in step.event["changes"]:
            subject = str(change["subject"])
            if change["kind"] == "no_show":
                if subject not in self.assignment or subject in absent:
                    raise ExamDayError("repair", f"no-show {subject} is not in the assignment")
                if self._exam_of(subject) is not None:
                    raise ExamDayError("repair", f"{subject} boarded: not a no-show")
                absent.add(subject)
            else:
                if subject not in self.examiners or subject in withdrawn:
                    raise ExamDayError("repair", f"{subject} is not an examiner on duty")
                if any(f.crew.examiner == subject and f.running for f in self.exams.values()):
                    raise StepError(
                        "examiner_busy", "exam.ended", f"examiner {subject} has an exam running"
                    )
                withdrawn.add(subject)
        new = {str(c): str(e) for c, e in step.event["assignment"]}
        if set(new) != set(self.assignment) - absent:
            raise ExamDayError("repair", "the repaired assignment must keep every other candidate")
        for candidate, examiner in new.items():
            if examiner in withdrawn or examiner not in self.examiners:
                raise ExamDayError(
                    "repair", f"{candidate} is given to {examiner}, who is not on duty"
                )
            flow = self._exam_of(candidate)
            if flow is not None and flow.running and flow.crew.examiner != examiner:
                raise ExamDayError("repair", f"{candidate} is in an exam with {flow.crew.examiner}")
        if commit:
            self.assignment = new
            self.no_shows = absent
            self.withdrawn = withdrawn
            self.repairs += 1

    def _exam_of(self, candidate: str) -> ExamFlow | None:
        return self.exams.get(exam_id(self.session, candidate))

    def _boarded(self, step: Step, commit: bool) -> None:
        self._require_phase(step.type, Phase.ALLOCATED)
        candidate, examiner = step.text("candidate"), step.text("examiner")
        crew = self.crew_for(examiner)
        if crew is None or examiner in self.withdrawn:
            raise ExamDayError("not_on_duty", f"{examiner} is not on duty in {self.session}")
        if step.actor != crew.tablet:
            raise ExamDayError("wrong_actor", f"{examiner}'s boarding is signed by {crew.tablet}")
        if candidate in self.no_shows:
            raise ExamDayError("no_show", f"{candidate} was repaired away as a no-show")
        if self.assignment.get(candidate) != examiner:
            raise ExamDayError("not_assigned", f"{candidate} is not assigned to {examiner}")
        if step.text("vehicle") != crew.vehicle:
            raise ExamDayError("wrong_vehicle", f"{examiner} examines in {crew.vehicle}")
        exam = exam_id(self.session, candidate)
        if step.text("exam") != exam:
            raise ExamDayError("exam_id", f"the exam of {candidate} in {self.session} is {exam}")
        if exam in self.exams:
            raise StepError("boarded_already", "exam.started", f"{candidate} boarded already")
        if any(f.crew.examiner == examiner and f.running for f in self.exams.values()):
            raise StepError("crew_busy", "exam.ended", f"{examiner}'s car has an exam running")
        if commit:
            self.exams[exam] = ExamFlow(exam, candidate, crew, step.index, self.route_of(candidate))

    def _exam(self, step: Step) -> ExamFlow:
        flow = self.exams.get(step.text("exam"))
        if flow is None:
            raise StepError(
                "not_boarded", "boarding.confirmed", f"exam {step.text('exam')} has not boarded"
            )
        return flow
