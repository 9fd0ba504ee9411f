"""The JSON bodies of the exam day's reads (``api.http.routes.day``), as pydantic models."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DeductionView(BaseModel):
    code: str
    points: int
    frame: int


class ResultView(BaseModel):
    passed: bool
    score: int
    deductions: list[DeductionView]
    index: int = Field(description="the exam.scored entry")


class ExamView(BaseModel):
    exam: str
    session: str
    candidate: str
    examiner: str
    vehicle: str
    route: str = Field(description="the map the exam is driven and scored on")
    phase: str = Field(description="boarded, started, stopped, ended or scored")
    chunks: int = Field(description="telemetry chunks logged")
    void: str | None = Field(description="why the exam is void (never scored), or null")
    result: ResultView | None
    stop_reason: str | None = Field(default=None, description="the examiner's emergency stop")
    boarded_index: int = Field(description="the boarding.confirmed entry")
    gate: int | None = Field(default=None, description="the device.gate the exam started on")
    scoring_error: str | None = Field(
        default=None, description="why the service's scorer could not score the exam, if so"
    )


class SessionView(BaseModel):
    session: str
    subject: int
    licence_class: str
    room: str
    route: str
    routes: list[str] = Field(
        default_factory=list, description="the approved routes a 科目三 candidate's is drawn from"
    )
    phase: str = Field(description="open, sealed, committed or allocated")
    start_ms: int
    seal_from_ms: int
    seal_until_ms: int
    booked: list[str]
    checked_in: list[str]
    locked: list[str] = Field(description="locked after three failed face matches")
    roster: list[str] = Field(description="the sealed roster (empty before sealing)")
    manifest_sha256: str | None
    exams: list[ExamView]
    opened_index: int = Field(description="the session.opened entry")
    refused: list[str] = Field(default_factory=list, description="refused at check-in")
    no_shows: list[str] = Field(default_factory=list)


class SessionList(BaseModel):
    sessions: list[SessionView]


class AssignedExam(BaseModel):
    candidate: str
    exam: str
    route: str = Field(
        description="the route the allocation drew for the candidate, else the session's"
    )


class AssignmentView(BaseModel):
    session: str
    tablet: str
    examiner: str
    vehicle: str
    unit: str
    route: str = Field(description="the session's route (each exam names its own: ``exams``)")
    exams: list[AssignedExam]


class GateView(BaseModel):
    index: int
    ts: int
    allowed: bool
    exam: str | None
