"""Reading the exam day (DESIGN §5.4, §7): sessions, a tablet's assignment, exams, gates.

The day is the one the centre's writer keeps (``exam_core.exam_day.day_guard``): every step
the log holds, in order, so what these routes show is what the log says — read under the day's
lock, between two entries.  Writes are signed entries (``POST /entries``).

- ``GET /day/sessions`` and ``/day/sessions/{session}``: each session's plan, phase,
  check-ins, sealed roster, committed manifest and exams;
- ``GET /day/sessions/{session}/assignment``: a tablet reads its own examiner's candidates,
  each with the route drawn for them, and the car drawn for it, once the allocation is made
  (409 ``day/step-out-of-order`` before, 403 ``day/not-on-duty`` for a tablet of no crew);
  an inspector names the tablet with ``?tablet=``;
- ``GET /day/exams/{exam}``: an exam's phase, chunks and result — for the tablet and in-car
  unit of its crew, and for inspectors;
- ``GET /day/rooms/{room}/gate``: the room's latest gate decision.

Who may read what is the permission table's (``day.*``); a crew's own exam or assignment is
matched against the token's actor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from api.http.day_schemas import (
    AssignedExam,
    AssignmentView,
    DeductionView,
    ExamView,
    GateView,
    ResultView,
    SessionList,
    SessionView,
)
from api.http.deps import Caller, CentreDep, Permit, ServiceDep, day_of
from api.http.permissions import Permission, permits
from api.http.problems import Problem
from api.http.schemas import ProblemDocument
from exam_core.centre.centre import Centre
from exam_core.errors import StepError, StoreError
from exam_core.exam_day.checkin import CheckinState
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.exam_flow import ExamFlow
from exam_core.exam_day.session_flow import SessionFlow

router = APIRouter(tags=["exam day"])

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$"
SessionId = Annotated[
    str, Path(max_length=64, pattern=_ID, description="a session's pseudonymous id")
]
RoomId = Annotated[str, Path(max_length=64, pattern=_ID, description="a room's or field's id")]
ExamId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="an exam id (16 bytes hex)")]
TabletKey = Annotated[
    str | None,
    Query(
        max_length=255,
        pattern=r"^[^\s+]+$",
        description="the tablet's key name (inspectors; a tablet reads its own)",
    ),
]

DayReader = Annotated[Caller, Depends(Permit(Permission.DAY_READ))]
AssignmentReader = Annotated[Caller, Depends(Permit(Permission.DAY_ASSIGNMENT))]
ExamReader = Annotated[Caller, Depends(Permit(Permission.DAY_EXAM))]

_PROBLEM: dict[str, Any] = {
    "model": ProblemDocument,
    "content": {"application/problem+json": {}},
}
_READ_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: _PROBLEM,
    403: _PROBLEM,
    404: _PROBLEM,
    422: _PROBLEM,
}


def _key(centre: Centre, name: str) -> str | None:
    """``name`` as a full key name of this centre, or None when it cannot be one."""
    try:
        return centre.key_name(name)
    except StoreError:
        return None


def _exam_view(day: DayGuard, flow: SessionFlow, exam: ExamFlow) -> ExamView:
    scored = day.results.get(exam.exam)
    result = (
        None
        if scored is None
        else ResultView(
            passed=scored.passed,
            score=scored.score,
            deductions=[DeductionView(code=c, points=p, frame=f) for c, p, f in scored.deductions],
            index=scored.index,
        )
    )
    return ExamView(
        exam=exam.exam,
        session=flow.session,
        candidate=exam.candidate,
        examiner=exam.crew.examiner,
        vehicle=exam.crew.vehicle,
        route=exam.route,
        phase=exam.phase.value,
        chunks=len(exam.chunks),
        void=exam.void_reason,
        result=result,
        stop_reason=exam.stop_reason,
        boarded_index=exam.boarded_index,
        gate=exam.gate,
        scoring_error=day.scoring_errors.get(exam.exam),
    )


def _session_view(day: DayGuard, flow: SessionFlow) -> SessionView:
    plan = flow.plan

    def in_state(state: CheckinState) -> list[str]:
        return [c for c, s in flow.checkins.items() if s.state is state]

    return SessionView(
        session=plan.session,
        subject=plan.subject,
        licence_class=plan.licence_class,
        room=plan.room,
        route=plan.route,
        routes=list(plan.approved_routes),
        phase=flow.phase.value,
        start_ms=plan.start_ms,
        seal_from_ms=plan.seal_from_ms,
        seal_until_ms=plan.seal_until_ms,
        booked=sorted(plan.booked),
        checked_in=list(flow.checked_in()),
        locked=in_state(CheckinState.LOCKED),
        roster=list(flow.roster),
        manifest_sha256=flow.manifest_sha256,
        exams=[_exam_view(day, flow, e) for _, e in sorted(flow.exams.items())],
        opened_index=flow.opened_index,
        refused=in_state(CheckinState.REFUSED),
        no_shows=sorted(flow.no_shows),
    )


def _session(day: DayGuard, session: str) -> SessionFlow:
    flow = day.day.sessions.get(session)
    if flow is None:
        raise Problem("not-found", f"no session {session} has been opened")
    return flow


@router.get(
    "/day/sessions",
    response_model=SessionList,
    summary="Every session opened in the log, with its check-ins, roster and exams",
    responses=_READ_PROBLEMS,
)
def sessions(centre: CentreDep, _caller: DayReader) -> SessionList:
    day = day_of(centre)
    with day.lock:
        views = [_session_view(day, f) for _, f in sorted(day.day.sessions.items())]
    return SessionList(sessions=views)


# Declared before the session itself: a session id may hold '/', so this one matches first.
@router.get(
    "/day/sessions/{session:path}/assignment",
    response_model=AssignmentView,
    summary="A tablet's assignment: its examiner's candidates, once the allocation is made",
    responses={**_READ_PROBLEMS, 409: _PROBLEM},
)
def assignment(
    session: SessionId, centre: CentreDep, caller: AssignmentReader, tablet: TabletKey = None
) -> AssignmentView:
    own = _key(centre, caller.actor)
    if tablet is None:
        if permits(caller.role, Permission.DAY_ASSIGNMENT_ANY):
            raise Problem("request-invalid", "name the tablet: ?tablet=<its key name>")
        key = own
    else:
        key = _key(centre, tablet)
        if key != own and not permits(caller.role, Permission.DAY_ASSIGNMENT_ANY):
            raise Problem("permission-denied", "a tablet reads its own assignment only")
    day = day_of(centre)
    with day.lock:
        flow = _session(day, session)
        planned = None if key is None else flow.plan.crew_with_tablet(key)
        crew = None if planned is None else flow.crew_for(planned.examiner)
        if crew is None:
            raise Problem("day/not-on-duty", f"no crew of session {session} carries {key}")
        try:
            exams = [
                AssignedExam(candidate=c, exam=e, route=flow.route_of(c))
                for c, e in flow.assignment_for(crew.tablet)
            ]
        except StepError as e:
            raise Problem(
                "day/step-out-of-order",
                f"session {session} is {flow.phase.value}: no assignment before allocation.made",
                extra={"code": e.code, "expected": "allocation.made"},
            ) from e
    return AssignmentView(
        session=session,
        tablet=crew.tablet,
        examiner=crew.examiner,
        vehicle=crew.vehicle,
        unit=crew.unit,
        route=flow.plan.route,
        exams=exams,
    )


@router.get(
    "/day/sessions/{session:path}",
    response_model=SessionView,
    summary="One session: its plan, phase, check-ins, roster, manifest and exams",
    responses=_READ_PROBLEMS,
)
def session_view(session: SessionId, centre: CentreDep, _caller: DayReader) -> SessionView:
    day = day_of(centre)
    with day.lock:
        return _session_view(day, _session(day, session))


@router.get(
    "/day/exams/{exam}",
    response_model=ExamView,
    summary="One exam: its crew, phase, telemetry, and its result once scored",
    responses=_READ_PROBLEMS,
)
async def exam_view(exam: ExamId, service: ServiceDep, caller: ExamReader) -> JSONResponse:
    # Polled by every tablet once a second: one dependency for the service (the token check
    # shares it), and the view dumped once rather than validated again by FastAPI.
    centre = service.centre
    day = day_of(centre)
    with day.lock:
        flow = day.day.session_of_exam(exam)
        if flow is None:
            raise Problem("not-found", f"no exam {exam} has boarded")
        found = flow.exams[exam]
        if not permits(caller.role, Permission.DAY_EXAM_ANY) and _key(centre, caller.actor) not in (
            found.crew.tablet,
            found.crew.unit,
        ):
            raise Problem("permission-denied", "a crew's devices read their own exams only")
        view = _exam_view(day, flow, found)
    return JSONResponse(view.model_dump(mode="json"))


@router.get(
    "/day/rooms/{room:path}/gate",
    response_model=GateView,
    summary="The room's latest gate decision",
    responses=_READ_PROBLEMS,
)
def gate(room: RoomId, centre: CentreDep, _caller: DayReader) -> GateView:
    day = day_of(centre)
    with day.lock:
        latest = day.day.gates.latest(room)
    if latest is None:
        raise Problem("not-found", f"room {room} has no gate decision in the log")
    return GateView(index=latest.index, ts=latest.ts, allowed=latest.allowed, exam=latest.exam)
