"""The monitor's failures as answers: tlog-witness text for the witness, problems otherwise.

The problem documents are built and answered by ``api.problem_details``, as the centre's
service's are; these tests hold the monitor's own table and mapping to what its clients and
docs/monitoring.md rely on: the ``type`` names, their statuses, and no traceback anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import anyio.from_thread
import httpx
import pytest
from fastapi import FastAPI

from allocation.errors import BeaconError
from api import problem_details
from api.http.problems import PROBLEMS as CENTRE_PROBLEMS
from api.monitor.problems import PROBLEMS, install_problem_handlers
from api.request_body import BadContentLengthError, BodyTooLargeError
from exam_core.errors import ExamCoreError, SizeConflictError, StoreError, UnknownLogError

PROBLEM = "urn:exam-integrity:problem:"


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    raised: dict[str, Exception] = {
        "too-large": BodyTooLargeError(1024),
        "bad-length": BadContentLengthError(),
        "beacon": BeaconError("round 7 is not out yet"),
        "store": StoreError("the database is gone"),
        "domain": ExamCoreError("no such thing"),
        "unknown-log": UnknownLogError("this witness has cosigned no checkpoint of that log"),
        "size": SizeConflictError(12, "old size 3, witness at 12"),
        "bug": ZeroDivisionError("secret internals"),
    }

    @app.get("/raise/{what}")
    def raise_(what: str) -> None:
        raise raised[what]

    @app.get("/number/{n}")
    def number(n: int) -> dict[str, int]:
        return {"n": n}

    return app


Get = Callable[[str], httpx.Response]


@pytest.fixture
def get() -> Iterator[Get]:
    # A real ASGI exchange; an unhandled error is answered, as a server would, not re-raised.
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url="http://monitor.test")
        yield lambda path: portal.call(client.get, path)
        portal.call(client.aclose)


@pytest.mark.parametrize(
    ("path", "status", "name"),
    [
        ("/raise/too-large", 413, "body-too-large"),
        ("/raise/bad-length", 400, "bad-request"),
        ("/raise/beacon", 404, "beacon-unavailable"),
        ("/raise/store", 503, "store-unavailable"),
        ("/raise/domain", 400, "bad-request"),
        ("/number/x", 400, "request-invalid"),
        ("/nowhere", 404, "not-found"),
        ("/raise/bug", 500, "internal-error"),
    ],
)
def test_each_failure_is_its_problem(
    get: Get, path: str, status: int, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "exam_integrity.monitor"):
        answer = get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == PROBLEM + name
    assert body["status"] == status
    assert body["title"] == PROBLEMS[name].title
    assert body["instance"] == path
    assert "Traceback" not in answer.text
    assert "secret internals" not in answer.text
    if status == 500:
        assert "ZeroDivisionError" in caplog.text  # logged for the operator, with its traceback


def test_witness_refusals_stay_tlog_witness_text(get: Get) -> None:
    unknown = get("/raise/unknown-log")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "text/plain; charset=utf-8"
    conflict = get("/raise/size")
    assert conflict.status_code == 409
    assert conflict.headers["content-type"] == "text/x.tlog.size"
    assert conflict.content == b"12\n"


def test_each_service_keeps_its_own_types_in_one_format() -> None:
    assert PROBLEMS["request-invalid"].status == 400
    assert CENTRE_PROBLEMS["request-invalid"].status == 422
    assert "beacon-unavailable" not in CENTRE_PROBLEMS
    assert PROBLEMS["store-unavailable"].title != CENTRE_PROBLEMS["store-unavailable"].title
    for table in (PROBLEMS, CENTRE_PROBLEMS):
        assert set(problem_details.FRAMEWORK_PROBLEMS) <= set(table)
    with pytest.raises(ValueError, match="share a name"):
        problem_details.problem_table(PROBLEMS["not-found"], PROBLEMS["not-found"])
