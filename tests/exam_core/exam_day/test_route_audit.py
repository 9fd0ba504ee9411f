"""The audit holds each exam to the route drawn for its candidate.

The day's replayer (``ExamDayReplayer``) follows the same session flow as the service, so a
score signed on another route than the one ``allocation.made`` drew for the candidate — the
session's own route, say, by a scorer that ignored the draw — is a finding at that score, and
so is a draw that names a route the session never approved.  Every bundle is whole and signed
(``signed_day``): only the exam day's logic can tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exam_core.audit.check import AuditReport
from exam_core.findings import ERROR
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.route_day import ROUTE, RouteDraw
from tests.exam_core.exam_day.signed_day import SignedDay, Tamper


@dataclass
class SignedRouteDay(RouteDraw, SignedDay):
    """The signed day of a 科目三 session that draws each candidate's route."""

    def morning(self, candidate: str | None = None) -> str:
        """Open, allocate and examine ``candidate`` (by default one drawn off the session's
        route) from boarding to score; their exam id."""
        self.log.checkpoint()
        self.open_session()
        self.allocate()
        candidate = candidate or self.moved()
        exam = self.board(candidate)
        self.start(candidate, exam)
        self.chunk(candidate, exam, 0)
        self.end(candidate, exam, 1)
        self.score(exam, 1)
        self.log.checkpoint()
        return exam


def _audit(tamper: Tamper | None = None) -> tuple[SignedRouteDay, str, AuditReport]:
    day = SignedRouteDay(tamper=tamper, strict=tamper is None)
    exam = day.morning()
    return day, exam, day.audit()


def test_a_day_scored_on_the_drawn_routes_passes() -> None:
    day, exam, report = _audit()
    assert report.ok, report.findings
    assert not report.findings
    flow = day.day.sessions[ds.SESSION]
    assert flow.exams[exam].route != ROUTE
    assert flow.exams[exam].passed is True


def test_an_exam_scored_on_another_route_than_drawn_is_a_finding() -> None:
    def on_the_sessions_route(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "exam.scored":
            return actor, fields | {"map": ROUTE}
        return actor, fields

    day, exam, report = _audit(on_the_sessions_route)
    errors = [f for f in report.findings if f.severity == ERROR]
    assert [(f.index, f.code) for f in errors] == [
        (day.index_of("exam.scored", exam=exam), "day_refused")
    ]
    drawn = day.drawn()[day.day.sessions[ds.SESSION].exams[exam].candidate]
    assert f"score_route: the score of {exam} has map {ROUTE!r}" in errors[0].message
    assert f"the exam's route {drawn!r}" in errors[0].message


def test_a_draw_of_a_route_never_approved_is_a_finding_at_the_draw() -> None:
    def unapproved(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        if kind == "allocation.made":
            routes = [[c, "k3-route-a/1"] for c, _ in fields["routes"]]
            return actor, fields | {"routes": routes}
        return actor, fields

    day, _exam, report = _audit(unapproved)
    errors = [f for f in report.findings if f.severity == ERROR]
    made = day.index_of("allocation.made")
    assert (errors[0].index, errors[0].code) == (made, "day_refused")
    assert "routes: the draw must give each sealed candidate" in errors[0].message
