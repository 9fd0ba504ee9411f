"""The permission matrix: every token role, and no token, against every endpoint.

The expected outcomes are written out here by hand — not derived from the service's table — so
that a change to who may read what shows up as a failing test.  A route added to the app
without a row here fails ``test_the_matrix_covers_every_route``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from fastapi import FastAPI

from api.http.permissions import TOKEN_ROLES
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.evidence.video_chain import GENESIS, Seal, sealed_fields
from exam_core.exam_day.plan import Crew, exam_id
from exam_core.log.tiles import encode_entry_bundle
from tests.api.http.conftest import Actor, AppClient, bearer
from tests.api.http.day_fixture import ROUTE, ServedDay
from tests.exam_core.exam_day import day_script as ds

PROBLEM = "urn:exam-integrity:problem:"
BLOB = b"telemetry chunk bytes"
BLOB_SHA = hashlib.sha256(BLOB).hexdigest()
SEGMENT = b"five seconds of in-car video"
EVERY_ROLE = frozenset(
    {"admin", "allocator", "auditor", "demo", "gateway", "investigator", "monitor", "scorer"}
    | {"supervisor", "tablet", "terminal", "vehicle"}
)


DAY_READERS = frozenset(
    {"admin", "allocator", "auditor", "gateway", "scorer", "supervisor", "tablet", "terminal"}
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    route: str
    """The route's path template, as the app declares it."""
    allowed: frozenset[str] | None
    """Roles whose tokens may call it; None: public, no token needed."""


ENDPOINTS = (
    Endpoint("GET", "/checkpoint", None),
    Endpoint("GET", "/tile/{tile_path}", None),
    Endpoint("GET", "/proof/inclusion", None),
    Endpoint("GET", "/proof/consistency", None),
    Endpoint("GET", "/receipt/{index}", None),
    Endpoint("GET", "/entries/{index}", None),
    Endpoint("GET", "/vkey", None),
    Endpoint("GET", "/policy", None),
    Endpoint("GET", "/seq", None),
    Endpoint("GET", "/health", None),
    Endpoint("POST", "/entries", None),  # the entry's signature is the authentication
    Endpoint("POST", "/entries/bundle", None),
    Endpoint(
        "PUT",
        "/blobs/{sha256}",
        frozenset(
            {"admin", "allocator", "scorer", "gateway", "vehicle", "tablet", "terminal", "demo"}
        ),
    ),
    Endpoint(
        "GET",
        "/blobs/{sha256}",
        frozenset({"admin", "auditor", "monitor", "scorer", "investigator", "supervisor"}),
    ),
    Endpoint("GET", "/whoami", EVERY_ROLE),
    Endpoint(
        "GET", "/keys", frozenset({"admin", "auditor", "monitor", "allocator", "investigator"})
    ),
    Endpoint("GET", "/tokens", frozenset({"admin"})),
    Endpoint("DELETE", "/tokens/{token_id}", frozenset({"admin"})),
    Endpoint("POST", "/day/sessions/{session}/identify", frozenset({"admin", "terminal"})),
    Endpoint("GET", "/day/sessions", DAY_READERS),
    Endpoint("GET", "/day/sessions/{session}", DAY_READERS),
    Endpoint(
        "GET",
        "/day/sessions/{session}/assignment",
        frozenset({"admin", "auditor", "supervisor", "tablet"}),
    ),
    Endpoint(
        "GET",
        "/day/exams/{exam}",
        frozenset({"admin", "auditor", "supervisor", "scorer", "tablet", "vehicle"}),
    ),
    Endpoint("GET", "/day/rooms/{room}/gate", DAY_READERS),
    Endpoint("GET", "/evidence/receipt/{exam}", None),
    Endpoint(
        "POST",
        "/evidence/video",
        frozenset({"admin", "auditor", "investigator", "monitor", "supervisor"}),
    ),
)
PASSED_THE_DOOR = {"POST /day/sessions/{session}/identify": 422}
"""Endpoints whose request here has no subject to succeed on: the status a caller who passed the
permission check gets (no session has bookings in this fixture: the card is refused)."""


def test_tokens_are_made_for_every_role_of_the_matrix() -> None:
    assert frozenset(TOKEN_ROLES) == EVERY_ROLE


def test_the_matrix_covers_every_route(app: FastAPI) -> None:
    declared = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert declared == {(e.method, e.route) for e in ENDPOINTS}


Call = Callable[[AppClient, dict[str, str]], int]


def calls(
    client: AppClient, centre: Centre, tokens: TokenStore, demo: Actor, day: ServedDay
) -> dict[str, Call]:
    """One concrete request per endpoint, returning its status (each may run many times)."""
    centre.blobs.put(BLOB)
    crew = crew_of_the_boarded(day)
    session = quote(ds.SESSION, safe="/")
    exam = finish_with_video(day)

    def post_entry(c: AppClient, headers: dict[str, str]) -> int:
        return c.post("/entries", content=demo.entry(), headers=headers).status_code

    def post_bundle(c: AppClient, headers: dict[str, str]) -> int:
        body = encode_entry_bundle([demo.entry(), demo.entry()])
        return c.post("/entries/bundle", content=body, headers=headers).status_code

    def revoke(c: AppClient, headers: dict[str, str]) -> int:
        _, victim = tokens.issue("auditor", "victim")
        return c.delete(f"/tokens/{victim.token_id}", headers=headers).status_code

    def get(path: str) -> Call:
        return lambda c, headers: c.get(path, headers=headers).status_code

    return {
        "GET /checkpoint": get("/checkpoint"),
        "GET /tile/{tile_path}": get("/tile/0/000.p/2"),
        "GET /proof/inclusion": get("/proof/inclusion?index=0"),
        "GET /proof/consistency": get("/proof/consistency?from=1&to=2"),
        "GET /receipt/{index}": get("/receipt/1"),
        "GET /entries/{index}": get("/entries/0"),
        "GET /vkey": get("/vkey"),
        "GET /policy": get("/policy"),
        "GET /seq": get("/seq?actor=x"),
        "GET /health": get("/health"),
        "POST /entries": post_entry,
        "POST /entries/bundle": post_bundle,
        "PUT /blobs/{sha256}": lambda c, headers: (
            c.put(f"/blobs/{BLOB_SHA}", content=BLOB, headers=headers).status_code
        ),
        "GET /blobs/{sha256}": get(f"/blobs/{BLOB_SHA}"),
        "GET /whoami": get("/whoami"),
        "GET /keys": get("/keys"),
        "GET /tokens": get("/tokens"),
        "DELETE /tokens/{token_id}": revoke,
        "POST /day/sessions/{session}/identify": lambda c, headers: (
            c.post(
                "/day/sessions/s-1/identify",
                json={"id_number": "11010519491231002X"},
                headers=headers,
            ).status_code
        ),
        "GET /day/sessions": get("/day/sessions"),
        "GET /day/sessions/{session}": get(f"/day/sessions/{session}"),
        # Inspectors name the tablet; a tablet's own name is allowed too.
        "GET /day/sessions/{session}/assignment": get(
            f"/day/sessions/{session}/assignment?tablet={quote(crew.tablet, safe='')}"
        ),
        "GET /day/exams/{exam}": get(f"/day/exams/{exam_id(ds.SESSION, day.first())}"),
        "GET /day/rooms/{room}/gate": get(f"/day/rooms/{ds.ROOM}/gate"),
        "GET /evidence/receipt/{exam}": get(f"/evidence/receipt/{exam}"),
        "POST /evidence/video": lambda c, headers: (
            c.post("/evidence/video", content=SEGMENT, headers=headers).status_code
        ),
    }


def finish_with_video(day: ServedDay) -> str:
    """The boarded exam seals one video segment, runs, ends and is scored: its exam id."""
    now = day.clock[0]
    candidate = day.first()
    exam = exam_id(ds.SESSION, candidate)
    fields = sealed_fields(
        exam, segment=0, prev=GENESIS, data=SEGMENT, start_ms=ds.START, end_ms=ds.START + 5_000
    )
    unit = ds.unit(day.assignment[candidate])
    seal = day.do("video.sealed", unit, ds.START + 1_500, **fields)
    day.start(candidate, exam)
    day.chunk(candidate, exam, 0)
    head = Seal.of(seal.index, unit, seal.event).link
    ended = {"exam": exam, "chunks": 1, "video_segments": 1, "video_head": head.hex()}
    day.do("exam.ended", unit, ds.START + 60_000, **ended)
    day.do("exam.scored", ds.SCORER, ds.START + 70_000, **(ds.scored(exam, 1) | {"map": ROUTE}))
    day.clock[0] = now
    return exam


def crew_of_the_boarded(day: ServedDay) -> Crew:
    """The crew of the scripted day's boarded exam: its tablet's and unit's tokens may read it."""
    flow = day.day.sessions[ds.SESSION]
    crew = flow.plan.crew_of(flow.assignment[day.first()])
    assert crew is not None
    return crew


def actor_of(role: str, crew: Crew) -> str:
    """The actor a token of ``role`` is made for: the crew's devices, or someone."""
    return {"tablet": crew.tablet, "vehicle": crew.unit}.get(role, f"someone/{role}")


def test_every_role_and_no_token_against_every_endpoint(
    client: AppClient, served_centre: Centre, tokens: TokenStore, day: ServedDay, demo: Actor
) -> None:
    requests = calls(client, served_centre, tokens, demo, day)
    crew = crew_of_the_boarded(day)
    role_tokens = {role: tokens.issue(role, actor_of(role, crew))[0] for role in TOKEN_ROLES}
    revoked, revoked_record = tokens.issue("admin", "someone/former")
    tokens.revoke(revoked_record.token_id)
    unknown = "eit_0123456789abcdef_" + "A" * 43
    failures = []
    for endpoint in ENDPOINTS:
        call = requests[f"{endpoint.method} {endpoint.route}"]
        for role, token in [*role_tokens.items(), ("(no token)", None)]:
            headers = {} if token is None else bearer(token)
            status = call(client, headers)
            key = f"{endpoint.method} {endpoint.route}"
            if endpoint.allowed is None or role in endpoint.allowed:
                ok = 200 <= status < 300 or status == PASSED_THE_DOOR.get(key)
            else:
                ok = status == (401 if token is None else 403)
            if not ok:
                failures.append(f"{endpoint.method} {endpoint.route} as {role}: {status}")
        for name, token in (("revoked", revoked), ("unknown", unknown), ("garbage", "x y")):
            status = call(client, bearer(token))
            expected_ok = endpoint.allowed is None
            if expected_ok != (200 <= status < 300) or (not expected_ok and status != 401):
                failures.append(f"{endpoint.method} {endpoint.route} with {name} token: {status}")
    assert failures == []


@pytest.mark.parametrize(
    ("headers", "name"),
    [
        ({}, "token-missing"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "token-missing"),
        ({"Authorization": "Bearer"}, "token-missing"),
        ({"Authorization": "Bearer eit_short"}, "token-invalid"),
        ({"Authorization": "Bearer " + "eit_0123456789abcdef_" + "B" * 43}, "token-invalid"),
    ],
)
def test_refused_tokens_are_401_problems_with_a_bearer_challenge(
    client: AppClient, headers: dict[str, str], name: str
) -> None:
    answer = client.get("/whoami", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["type"] == PROBLEM + name


def test_a_wrong_secret_with_a_real_id_is_refused(client: AppClient, tokens: TokenStore) -> None:
    token, record = tokens.issue("admin", "boss")
    forged = f"eit_{record.token_id}_{'C' * 43}"
    assert client.get("/whoami", headers=bearer(token)).status_code == 200
    assert client.get("/whoami", headers=bearer(forged)).status_code == 401


def test_whoami_names_the_role_actor_and_permissions(client: AppClient, tokens: TokenStore) -> None:
    token, record = tokens.issue("vehicle", "exam.example/c/370100-01/vehicle/V1")
    assert client.get("/whoami", headers=bearer(token)).json() == {
        "token_id": record.token_id,
        "role": "vehicle",
        "actor": "exam.example/c/370100-01/vehicle/V1",
        "permissions": ["blob.write", "day.exam", "whoami"],
    }


def test_a_revoked_token_stops_working_at_once(client: AppClient, tokens: TokenStore) -> None:
    admin, _ = tokens.issue("admin", "boss")
    reader, record = tokens.issue("auditor", "inspector")
    assert client.get("/keys", headers=bearer(reader)).status_code == 200
    answer = client.delete(f"/tokens/{record.token_id}", headers=bearer(admin))
    assert answer.status_code == 200
    assert answer.json()["revoked_ms"] is not None
    assert client.get("/keys", headers=bearer(reader)).status_code == 401
    listed = {t["token_id"]: t for t in client.get("/tokens", headers=bearer(admin)).json()}
    assert listed[record.token_id]["revoked_ms"] is not None
    assert "secret" not in str(listed)
    missing = client.delete("/tokens/00000000000000ff", headers=bearer(admin))
    assert missing.status_code == 404
