"""The exam day's reads: what they show, and precise 4xx answers to hostile requests."""

from __future__ import annotations

from urllib.parse import quote

from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.plan import exam_id
from tests.api.http.conftest import AppClient, bearer
from tests.api.http.day_fixture import ROUTE, ServedDay, register_day_keys
from tests.exam_core.exam_day import day_script as ds

PROBLEM = "urn:exam-integrity:problem:"
SESSION = quote(ds.SESSION, safe="/")


def test_a_tablet_reads_its_assignment_only_once_made(
    client: AppClient, served_centre: Centre, tokens: TokenStore, clock: list[int]
) -> None:
    script = ServedDay(clock=clock, signers=register_day_keys(served_centre))
    script.attach(served_centre)
    script.open_session()
    tablet = tokens.issue("tablet", ds.tablet("E1"))[0]
    early = client.get(f"/day/sessions/{SESSION}/assignment", headers=bearer(tablet))
    assert early.status_code == 409
    assert early.json()["type"] == PROBLEM + "day/step-out-of-order"
    assert early.json()["expected"] == "allocation.made"
    stranger = tokens.issue("tablet", f"{ds.ORIGIN}/tablet/T-none")[0]
    off = client.get(f"/day/sessions/{SESSION}/assignment", headers=bearer(stranger))
    assert off.status_code == 403
    assert off.json()["type"] == PROBLEM + "day/not-on-duty"
    script.allocate()
    mine = client.get(f"/day/sessions/{SESSION}/assignment", headers=bearer(tablet))
    assert mine.status_code == 200
    flow = script.day.sessions[ds.SESSION]
    assert mine.json()["exams"] == [
        {"candidate": c, "exam": exam_id(ds.SESSION, c), "route": ROUTE}
        for c, e in sorted(flow.assignment.items())
        if e == "E1"
    ]
    other = quote(ds.tablet("E2"), safe="")
    peek = client.get(f"/day/sessions/{SESSION}/assignment?tablet={other}", headers=bearer(tablet))
    assert peek.status_code == 403
    assert peek.json()["type"] == PROBLEM + "permission-denied"


def test_the_session_view_follows_the_log(
    client: AppClient, day: ServedDay, admin_token: str
) -> None:
    view = client.get(f"/day/sessions/{SESSION}", headers=bearer(admin_token)).json()
    flow = day.day.sessions[ds.SESSION]
    assert view["phase"] == "allocated"
    assert view["roster"] == list(flow.roster)
    assert view["checked_in"] == list(flow.checked_in())
    assert view["manifest_sha256"] == flow.manifest_sha256
    [exam] = view["exams"]
    assert (exam["candidate"], exam["phase"], exam["result"]) == (day.first(), "boarded", None)
    gate = client.get(f"/day/rooms/{ds.ROOM}/gate", headers=bearer(admin_token)).json()
    assert (gate["allowed"], gate["exam"]) == (True, exam["exam"])


def test_hostile_reads_get_precise_answers(
    client: AppClient, day: ServedDay, admin_token: str, tokens: TokenStore
) -> None:
    headers = bearer(admin_token)
    for path, status, name in (
        ("/day/sessions/no-such-session", 404, "not-found"),
        ("/day/sessions/-bad", 422, "request-invalid"),
        ("/day/sessions/" + "s" * 65, 422, "request-invalid"),
        ("/day/sessions/" + "s" * 3000, 414, "uri-too-long"),
        ("/day/exams/zz", 422, "request-invalid"),
        ("/day/exams/" + "0" * 32, 404, "not-found"),
        ("/day/rooms/no-room/gate", 404, "not-found"),
        (f"/day/sessions/{SESSION}/assignment", 422, "request-invalid"),
        (f"/day/sessions/{SESSION}/assignment?tablet=a%20b", 422, "request-invalid"),
    ):
        answer = client.get(path, headers=headers)
        assert (answer.status_code, answer.json()["type"]) == (status, PROBLEM + name), path
    # A crew's unit reads its own exam, not another crew's.
    flow = day.day.sessions[ds.SESSION]
    exam = exam_id(ds.SESSION, day.first())
    other = next(c.unit for c in flow.plan.crews if c.examiner != flow.assignment[day.first()])
    stranger = tokens.issue("vehicle", other)[0]
    answer = client.get(f"/day/exams/{exam}", headers=bearer(stranger))
    assert (answer.status_code, answer.json()["type"]) == (403, PROBLEM + "permission-denied")
