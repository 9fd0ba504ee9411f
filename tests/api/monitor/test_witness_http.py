"""tlog-witness over real HTTP: each status of the spec, its content type, and hostile bodies."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest
from starlette.types import Message, Scope

from api.monitor.app import create_app
from exam_core.log.cosignature import add_cosignatures, verified_witnesses
from exam_core.log.cosignature import cosignature_verifier_from_vkey as witness_key
from exam_core.log.note import Ed25519Signer
from exam_core.log.tlog_witness import MAX_REQUEST_BYTES, add_checkpoint_body
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.signed_tree import SignedTree


def post(http: httpx.Client, body: bytes) -> httpx.Response:
    return http.post("/add-checkpoint", content=body)


def test_every_answer_of_the_spec(http: httpx.Client, monitor: Monitor, tree: SignedTree) -> None:
    ok = post(http, tree.request(0))
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain")
    assert ok.content.startswith("— ".encode())
    assert ok.content.endswith(b"\n")
    note = add_cosignatures(tree.checkpoint(), [ok.content])
    assert verified_witnesses(note, tree.signer.verifier, [witness_key(monitor.witness.vkey)])[1]

    tree.grow(5)
    conflict = post(http, add_checkpoint_body(3, [], tree.checkpoint()))
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "text/x.tlog.size"
    assert conflict.content == b"10\n"

    assert post(http, add_checkpoint_body(16, [], tree.checkpoint())).status_code == 400
    assert post(http, b"old 10\n").status_code == 400
    assert post(http, SignedTree.new("x.example/l", 3).grow(1).request(0)).status_code == 404
    forger = SignedTree(Ed25519Signer.from_seed(tree.origin, bytes(32)), tree.leaves)
    assert post(http, forger.request(10)).status_code == 403
    assert post(http, tree.fork(2).request(10)).status_code == 422
    assert post(http, tree.request(10)).status_code == 200
    assert monitor.store.witness_state(tree.origin) is not None


def chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_giant_body_is_refused_unread(
    http: httpx.Client, monitor: Monitor, tree: SignedTree, framing: str
) -> None:
    post(http, tree.request(0))
    before = monitor.store.witness_state(tree.origin)
    giant = b"old 10\n" + b"A" * (MAX_REQUEST_BYTES * 8)
    content: bytes | Iterator[bytes] = giant if framing == "content-length" else chunks(giant)
    answer = http.post("/add-checkpoint", content=content)
    assert answer.status_code == 413
    assert answer.json()["type"] == "urn:exam-integrity:problem:body-too-large"
    assert monitor.store.witness_state(tree.origin) == before


def test_monitors_read_the_newest_cosigned_checkpoint(
    http: httpx.Client, monitor: Monitor, tree: SignedTree
) -> None:
    path = f"/{hashlib.sha256(tree.origin.encode()).hexdigest()}/checkpoint"
    assert http.get(path).status_code == 404
    post(http, tree.request(0))
    served = http.get(path)
    assert served.status_code == 200
    cp, names = verified_witnesses(
        served.content, tree.signer.verifier, [witness_key(monitor.witness.vkey)]
    )
    assert (cp.size, names) == (10, (monitor.witness.name,))
    assert http.get("/" + "0" * 64 + "/checkpoint").status_code == 404
    assert http.get("/not-a-hash/checkpoint").status_code == 404


def test_witness_info_and_openapi(http: httpx.Client, monitor: Monitor) -> None:
    assert http.get("/witness").json() == {
        "name": monitor.witness.name,
        "vkey": monitor.witness.vkey,
    }
    spec = http.get("/openapi.json").json()
    assert {"/add-checkpoint", "/beacon/days/{day}/rounds/{round_number}"} <= set(spec["paths"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/add-checkpoint", None),
        ("PUT", "/add-checkpoint", b"old 0\n\n"),
        ("POST", "/add-checkpoint", b"\x00" * 100),
        ("POST", "/add-checkpoint", "old 0\n\n— ∞ ∞\n".encode()),
        ("POST", "/add-checkpoint", b"old 0\n\nx\n0\n" + base64.b64encode(bytes(32)) + b"\n"),
        ("GET", "/beacon/days/-1/commitment", None),
        ("GET", "/beacon/days/99999999999/commitment", None),
        ("GET", "/beacon/days/1/rounds/0", None),
        ("GET", "/beacon/days/1/rounds/abc", None),
        ("GET", "/beacon/days/" + "9" * 5000 + "/rounds/1", None),
        ("GET", "/nothing/here/at/all", None),
    ],
)
def test_hostile_requests_get_4xx_never_500(
    http: httpx.Client, method: str, path: str, body: bytes | None
) -> None:
    answer = http.request(method, path, content=body)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)


@pytest.mark.parametrize(
    ("declared", "status", "problem"),
    [
        ("²", 400, "bad-request"),
        ("9, 9", 400, "bad-request"),
        ("9" * 5000, 413, "body-too-large"),
        ("0" * 40 + "12", 400, None),  # a length, read as 12: the witness refuses the body
    ],
)
def test_a_declared_length_no_server_passes_is_a_4xx_in_the_app_too(
    monitor: Monitor, declared: str, status: int, problem: str | None
) -> None:
    """uvicorn refuses such a Content-Length itself; the app, served by another server or
    called directly, answers 4xx as well (``int`` refused "²" and 5,000 digits: a 500), by the
    rule of the centre's service (``api.request_body``)."""
    body = b"old 0\n\nx\n"
    answers: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        answers.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/add-checkpoint",
        "raw_path": b"/add-checkpoint",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"monitor"),
            (b"content-length", declared.encode("latin-1", "replace")),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("monitor", 80),
    }
    asyncio.run(create_app(monitor)(scope, receive, send))
    start = next(m for m in answers if m["type"] == "http.response.start")
    assert start["status"] == status
    body = b"".join(m.get("body", b"") for m in answers if m["type"] == "http.response.body")
    if problem is None:
        assert dict(start["headers"])[b"content-type"].startswith(b"text/plain")
    else:
        assert json.loads(body)["type"] == "urn:exam-integrity:problem:" + problem
