"""The scripted day as a 科目三 session with two approved routes, drawn per candidate.

The shipped maps hold one 科目三 route family (``k3-route-a``); its versions 2 and 3 are
different maps (version 3 adds a bend, a yellow grid and a no-stopping area), so the session
approves those two as its routes: the scorer finds both, and a score on the wrong one differs.
``RouteDraw`` overrides only the opening, the manifest (its roster names the approved routes,
so the manifest is version 2 and draws one per candidate) and the score (subject 3, on the
exam's route); everything else is the day script's.
"""

from __future__ import annotations

from typing import Any

from allocation import (
    BeaconTarget,
    Candidate,
    CandidateId,
    Examiner,
    ExaminerId,
    Roster,
    RouteId,
    SchoolId,
    encode_manifest,
    prepare_manifest,
    vrf_public_key,
)
from tests.exam_core.exam_day import day_script as ds

ROUTE = "k3-route-a/3"
"""The session's route: an exam is on it when the allocation draws none."""
ROUTES = ["k3-route-a/2", "k3-route-a/3"]
"""The session's approved routes."""
OPENED_FIELDS: dict[str, Any] = ds.OPENED_FIELDS | {
    "subject": 3,
    "route": ROUTE,
    "routes": ROUTES,
}


def scored_on(
    exam: str, route: str, chunks: int, *, passed: bool = True, stopped: bool = False
) -> dict[str, Any]:
    """The day script's ``exam.scored`` fields, for 科目三 on ``route``."""
    return ds.scored(exam, chunks, passed=passed, stopped=stopped) | {"subject": 3, "map": route}


class RouteDraw(ds.DayScript):
    """The day script for a 科目三 session whose manifest draws each candidate's route."""

    def open_session(self) -> None:
        self.do("room.configured", ds.ADMIN, ds.CHECKIN - 10_000, **ds.ROOM_FIELDS)
        self.do("session.opened", ds.ADMIN, ds.CHECKIN - 5_000, **OPENED_FIELDS)

    def prepare(self, round_number: int = ds.ROUND) -> bytes:
        flow = self.day.sessions[ds.SESSION]
        roster = Roster(
            ds.SESSION,
            tuple(
                Candidate(CandidateId(c), "C1", SchoolId("school-1"))
                for c in (flow.roster or flow.checked_in())
            ),
            tuple(Examiner(ExaminerId(e), frozenset({"C1"})) for e in ds.EXAMINERS),
            routes=tuple(RouteId(r) for r in ROUTES),
        )
        self.manifest = prepare_manifest(
            roster,
            scale=1000,
            cap=1000,
            beacon=BeaconTarget("dev", ds.BEACON.commitment_text, round_number),
            vrf_key=vrf_public_key(ds.VRF_SECRET),
        )
        self.manifest_bytes = encode_manifest(self.manifest)
        return self.manifest_bytes

    def drawn(self) -> dict[str, str]:
        """Candidate → the route the allocation drew for them."""
        assert self.allocation is not None
        return dict(self.allocation.routes)

    def moved(self) -> str:
        """A sealed candidate drawn onto a route other than the session's ``route``."""
        return next(c for c, r in sorted(self.drawn().items()) if r != ROUTE)

    def score(self, exam: str, chunks: int, *, passed: bool = True, stopped: bool = False) -> Any:
        route = self.day.sessions[ds.SESSION].exams[exam].route
        return self.do(
            "exam.scored",
            ds.SCORER,
            ds.START + 70_000,
            **scored_on(exam, route, chunks, passed=passed, stopped=stopped),
        )


__all__ = ["OPENED_FIELDS", "ROUTE", "ROUTES", "RouteDraw", "scored_on"]
