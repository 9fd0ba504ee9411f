"""The dashboard's routes: the page, its live fragment and script, and their JSON twins.

HTML (for people):

- ``GET /dashboard``: centres and their log heads, open warnings by level, live exams, device
  health per room, pass rates by examiner and warnings over time;
- ``GET /dashboard/panels``: the same panels as a fragment, which the page's script swaps in
  when ``/dashboard/api/state`` says the state changed;
- ``GET /dashboard/warnings/{id}``: one warning's evidence — its signals and every entry they
  cite, decoded, each proved in the mirror's checkpoint (``prove_entry``);
- ``GET /dashboard/entries/{sha256(origin) hex}/{index}``: one entry with its proof.

JSON (for machines and the script; in ``/openapi.json``): ``/dashboard/api/state``,
``/dashboard/api/warnings/{id}`` and ``/dashboard/api/entries/{log}/{index}``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api.monitor.dashboard_page import CSP, entry_page, origin_hash, page, panels, warning_page
from api.monitor.dashboard_script import SCRIPT
from exam_core.monitoring.entry_proof import EntryProof, prove_entry
from exam_core.monitoring.overview import Overview
from exam_core.monitoring.warnings import GradedWarning

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

_NO_STORE = {"Cache-Control": "no-store", "Content-Security-Policy": CSP}
MAX_EVIDENCE_ENTRIES = 100
"""Entries of one warning proved on its page (the rest are listed by index)."""
WarningId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
LogHash = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
EntryIndex = Annotated[int, Path(ge=0, le=2**63 - 1)]


def get_overview(request: Request) -> Overview:
    overview: Overview = request.app.state.overview
    return overview


OverviewDep = Annotated[Overview, Depends(get_overview)]


class CentreOut(BaseModel):
    origin: str
    url: str | None
    tree_size: int
    root_hash: str
    entries: int
    mirror_cosigned: int | None
    witness_cosigned: int | None
    last_contact_ms: int | None
    findings: int
    newest_finding: str | None


class LiveExamOut(BaseModel):
    centre: str
    exam: str
    session: str
    tablet: str
    started_ms: int
    started_index: int


class DeviceOut(BaseModel):
    device: str
    kind: str
    link: str
    state: str
    alarms: list[str]
    last_index: int
    last_ms: int


class RoomOut(BaseModel):
    centre: str
    room: str
    gate_allowed: bool | None
    gate_reasons: list[str]
    gate_index: int | None
    devices: list[DeviceOut]


class SignalOut(BaseModel):
    id: str
    source: str
    at_ms: int
    entries: list[int]
    message: str
    examiner: str | None
    vehicle: str | None


class WarningOut(BaseModel):
    id: str
    level: str
    points: int
    status: str
    kind: str
    centre: str
    name: str
    entries: list[int]
    signals: list[SignalOut]


class PassBandOut(BaseModel):
    examiner: str
    examined: int
    passed: int
    rate: float
    expected_rate: float
    low: float
    high: float
    outside: bool


class StateOut(BaseModel):
    version: str
    """Changes whenever anything the page shows changes."""
    now_ms: int
    open_by_level: dict[str, int]
    centres: list[CentreOut]
    live_exams: list[LiveExamOut]
    rooms: list[RoomOut]
    warnings: list[WarningOut]
    timeline: list[dict[str, int]]
    pass_bands: list[PassBandOut]


class EntryProofOut(BaseModel):
    origin: str
    index: int
    event: dict[str, Any] | None
    leaf_hash: str | None
    checkpoint: str | None
    tree_size: int | None
    proof: list[str]
    verified: bool
    problem: str | None


class WarningEvidenceOut(BaseModel):
    warning: WarningOut
    entries: list[EntryProofOut]


def _warning_out(w: GradedWarning) -> WarningOut:
    return WarningOut(
        id=w.id,
        level=w.level,
        points=w.points,
        status=w.status,
        kind=w.subject.kind,
        centre=w.subject.centre,
        name=w.subject.name,
        entries=list(w.entries),
        signals=[
            SignalOut(
                id=s.id,
                source=s.source,
                at_ms=s.at_ms,
                entries=list(s.entries),
                message=s.message,
                examiner=s.examiner,
                vehicle=s.vehicle,
            )
            for s in w.signals
        ],
    )


def _proof_out(p: EntryProof) -> EntryProofOut:
    return EntryProofOut(
        origin=p.origin,
        index=p.index,
        event=None if p.event is None else dict(p.event),
        leaf_hash=p.leaf_hash,
        checkpoint=p.checkpoint,
        tree_size=p.tree_size,
        proof=list(p.proof),
        verified=p.verified,
        problem=p.problem,
    )


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers=_NO_STORE)


def _warning(overview: Overview, warning_id: str) -> GradedWarning:
    for w in overview.warnings():
        if w.id == warning_id:
            return w
    raise HTTPException(404, f"no warning {warning_id} now (closed, aged out, or never)")


def _proofs(overview: Overview, w: GradedWarning) -> list[EntryProof]:
    log = overview.monitor.store.log(w.subject.centre)
    if log is None:
        return []
    store = overview.monitor.mirror.store
    return [prove_entry(store, log.origin, log.vkey, i) for i in w.entries[:MAX_EVIDENCE_ENTRIES]]


def _proof(overview: Overview, log_hash: str, index: int) -> EntryProof:
    for log in overview.monitor.store.logs():
        if origin_hash(log.origin) == log_hash:
            return prove_entry(overview.monitor.mirror.store, log.origin, log.vkey, index)
    raise HTTPException(404, "the monitoring centre watches no log with that hash")


@router.get("", response_class=HTMLResponse, summary="the dashboard (HTML)")
def dashboard(overview: OverviewDep) -> HTMLResponse:
    return _html(page(overview.snapshot()))


@router.get("/panels", response_class=HTMLResponse, summary="the dashboard's panels (HTML)")
def dashboard_panels(overview: OverviewDep) -> HTMLResponse:
    return _html(panels(overview.snapshot()))


@router.get("/dashboard.js", response_class=Response, summary="the dashboard's script")
def dashboard_script() -> Response:
    return Response(
        SCRIPT, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


@router.get(
    "/warnings/{warning_id}",
    response_class=HTMLResponse,
    summary="one warning's evidence (HTML)",
    responses={404: {"description": "no such warning now"}},
)
def warning_evidence_page(warning_id: WarningId, overview: OverviewDep) -> HTMLResponse:
    w = _warning(overview, warning_id)
    log = overview.monitor.store.log(w.subject.centre)
    return _html(warning_page(w, _proofs(overview, w), None if log is None else log.url))


@router.get(
    "/entries/{log_hash}/{index}",
    response_class=HTMLResponse,
    summary="one mirrored entry, decoded and proved (HTML)",
    responses={404: {"description": "no such log"}},
)
def entry_evidence_page(
    log_hash: LogHash, index: EntryIndex, overview: OverviewDep
) -> HTMLResponse:
    proof = _proof(overview, log_hash, index)
    log = overview.monitor.store.log(proof.origin)
    return _html(entry_page(proof, None if log is None else log.url))


@router.get("/api/state", summary="everything the dashboard shows, with its version")
def state(overview: OverviewDep) -> StateOut:
    s = overview.snapshot()
    return StateOut(
        version=s.version,
        now_ms=s.now_ms,
        open_by_level=s.open_by_level,
        centres=[CentreOut(**c.__dict__) for c in s.centres],
        live_exams=[
            LiveExamOut(
                centre=origin,
                exam=x.exam,
                session=x.session,
                tablet=x.examiner_tablet,
                started_ms=x.started_ms,
                started_index=x.started_index,
            )
            for origin, survey in s.surveys.items()
            for x in survey.live
        ],
        rooms=[
            RoomOut(
                centre=origin,
                room=r.room,
                gate_allowed=r.gate_allowed,
                gate_reasons=list(r.gate_reasons),
                gate_index=r.gate_index,
                devices=[
                    DeviceOut(
                        device=d.device,
                        kind=d.kind,
                        link=d.link,
                        state=d.state,
                        alarms=sorted(d.alarms),
                        last_index=d.last_index,
                        last_ms=d.last_ms,
                    )
                    for d in r.devices.values()
                ],
            )
            for origin, survey in s.surveys.items()
            for r in survey.rooms
        ],
        warnings=[_warning_out(w) for w in s.warnings],
        timeline=[{k: int(v) for k, v in day.items()} for day in s.timeline],
        pass_bands=[
            PassBandOut(
                examiner=b.examiner,
                examined=b.examined,
                passed=b.passed,
                rate=b.rate,
                expected_rate=b.expected_rate,
                low=b.low,
                high=b.high,
                outside=b.outside,
            )
            for b in s.bands
        ],
    )


@router.get(
    "/api/warnings/{warning_id}",
    summary="one warning with its entries, decoded and proved",
    responses={404: {"description": "no such warning now"}},
)
def warning_evidence(warning_id: WarningId, overview: OverviewDep) -> WarningEvidenceOut:
    w = _warning(overview, warning_id)
    return WarningEvidenceOut(
        warning=_warning_out(w), entries=[_proof_out(p) for p in _proofs(overview, w)]
    )


@router.get(
    "/api/entries/{log_hash}/{index}",
    summary="prove one mirrored entry in the mirror's checkpoint",
    responses={404: {"description": "no such log"}},
)
def entry_evidence(log_hash: LogHash, index: EntryIndex, overview: OverviewDep) -> EntryProofOut:
    return _proof_out(_proof(overview, log_hash, index))
