"""The served centre examines each 科目三 candidate on the route drawn for them.

A session approves two routes (two shipped maps, ``route_day``); the allocation draws one per
candidate.  Each tablet reads, with its assignment, every candidate's route; the exam view
names the exam's route; and the centre's scorer scores each exam on its own route, so that two
candidates of one session are scored on two maps, each result naming its map and each score the
one the engine gives on that map.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.day_scorer import DayScorer
from exam_core.exam_day.plan import exam_id
from exam_core.log.entry import parse_entry
from exam_core.scoring.course import course_by_version
from exam_core.scoring.engine import score_chunks
from exam_core.scoring.events import chunk_fields
from exam_core.scoring.rules import load_rule_table
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import make_chunks
from tests.api.http.conftest import AppClient, bearer
from tests.api.http.day_fixture import ServedDay, register_day_keys
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.route_day import ROUTE, ROUTES, RouteDraw

SESSION = quote(ds.SESSION, safe="/")
EXAM_SPACING_MS = 45 * 60_000


@dataclass
class ServedRouteDay(RouteDraw, ServedDay):
    """The served day of a 科目三 session that draws each candidate's route."""

    def drive(self, candidate: str, base: int) -> tuple[str, list[bytes]]:
        """Board, start, log the telemetry of a clean drive on the candidate's route, end."""
        assert self.centre is not None
        route = self.drawn()[candidate]
        exam = self.board(candidate, ts=base)
        self.start(candidate, exam, ts=base + 2_000)
        unit = self.signers[ds.unit(self.assignment[candidate])]
        run = simulate(course_by_version(route), seed=3)
        blobs = make_chunks(unit, bytes.fromhex(exam), run.frames)
        for n, blob in enumerate(blobs):
            self.centre.blobs.put(blob)
            self.do(
                "telemetry.chunk",
                ds.unit(self.assignment[candidate]),
                base + 3_000 + n,
                **chunk_fields(blob),
            )
        self.do(
            "exam.ended",
            ds.unit(self.assignment[candidate]),
            base + 20 * 60_000,
            exam=exam,
            chunks=len(blobs),
        )
        return exam, blobs


def test_each_exam_is_read_and_scored_on_the_route_drawn_for_it(
    client: AppClient, served_centre: Centre, tokens: TokenStore, clock: list[int]
) -> None:
    script = ServedRouteDay(clock=clock, signers=register_day_keys(served_centre))
    script.attach(served_centre)
    script.open_session()
    script.allocate()
    drawn = script.drawn()
    assert sorted(set(drawn.values())) == ROUTES
    admin = tokens.issue("admin", "admin/reader")[0]
    view = client.get(f"/day/sessions/{SESSION}", headers=bearer(admin)).json()
    assert (view["route"], view["routes"]) == (ROUTE, ROUTES)

    # Each tablet reads each of its candidates' routes (the session's route stays in the view).
    listed: dict[str, str] = {}
    for examiner in ds.EXAMINERS:
        token = tokens.issue("tablet", ds.tablet(examiner))[0]
        mine = client.get(f"/day/sessions/{SESSION}/assignment", headers=bearer(token))
        assert mine.status_code == 200, mine.text
        assert mine.json()["route"] == ROUTE
        for item in mine.json()["exams"]:
            assert item["exam"] == exam_id(ds.SESSION, item["candidate"])
            listed[item["candidate"]] = item["route"]
    assert listed == drawn

    guard = served_centre.guard
    assert isinstance(guard, DayGuard)
    scorer = DayScorer(served_centre, guard, script.signers[ds.SCORER])
    on_other = script.moved()
    on_session = next(c for c, r in sorted(drawn.items()) if r == ROUTE)
    for n, candidate in enumerate((on_other, on_session)):
        route = drawn[candidate]
        base = ds.START + n * EXAM_SPACING_MS
        exam, blobs = script.drive(candidate, base)
        clock[0] = base + 20 * 60_000 + 5_000
        index = scorer.score(exam)
        assert index is not None
        scored = parse_entry(client.get(f"/entries/{index}").content)
        assert (scored.type, scored.event["exam"]) == ("exam.scored", exam)
        assert scored.event["map"] == route
        unit = script.signers[ds.unit(script.assignment[candidate])]
        expected = score_chunks(
            blobs, course_by_version(route), load_rule_table(), "C1", verifier=unit.verifier
        )
        assert scored.event["score"] == expected.score
        exam_view = client.get(f"/day/exams/{exam}", headers=bearer(admin)).json()
        assert (exam_view["route"], exam_view["phase"]) == (route, "scored")
        assert exam_view["result"]["score"] == expected.score
