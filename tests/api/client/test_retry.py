"""The client's retry rule: link and server failures are retried with growing waits; a refusal
(a problem document) never is.  The server's answers are scripted at httpx's transport seam, so
the waits and the number of attempts are exact; the real server is in tests/api/http."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.client import CentreClient, RefusedError, RetryPolicy, UnavailableError


def scripted(answers: list[httpx.Response | Exception]) -> tuple[httpx.MockTransport, list[str]]:
    sent: list[str] = []
    pending: Iterator[httpx.Response | Exception] = iter(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.content.decode())
        answer = next(pending)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), sent


def policy(waits: list[float], attempts: int | None = 4) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, base_s=0.1, max_s=0.3, sleep=waits.append, uniform=lambda low, high: high
    )


def test_backoff_doubles_up_to_its_ceiling() -> None:
    waits: list[float] = []
    assert list(policy(waits, attempts=6).delays()) == [0.1, 0.2, 0.3, 0.3, 0.3]
    assert list(policy(waits, attempts=1).delays()) == []
    jittered = RetryPolicy(attempts=3, base_s=1.0, max_s=10.0)
    for ceiling, delay in zip((1.0, 2.0), jittered.delays(), strict=True):
        assert ceiling / 2 <= delay <= ceiling


def test_a_lost_answer_is_resubmitted_with_the_same_bytes() -> None:
    accepted = httpx.Response(200, json={"index": 7, "duplicate": True, "receipt": None})
    transport, sent = scripted(
        [httpx.ConnectError("refused"), httpx.ReadTimeout("lost"), httpx.Response(503), accepted]
    )
    waits: list[float] = []
    with CentreClient("http://centre", transport=transport, retry=policy(waits)) as client:
        answer = client.append(b"the entry")
    assert (answer.index, answer.duplicate) == (7, True)
    assert sent == ["the entry"] * 4
    assert waits == [0.1, 0.2, 0.3]


def test_a_refusal_is_not_retried() -> None:
    problem = {"type": "urn:exam-integrity:problem:entry-bad-seq", "code": "bad_seq", "detail": "x"}
    transport, sent = scripted([httpx.Response(409, json=problem)])
    waits: list[float] = []
    client = CentreClient("http://centre", transport=transport, retry=policy(waits))
    with client, pytest.raises(RefusedError) as refused:
        client.append(b"e")
    assert (refused.value.status, refused.value.name, refused.value.code) == (
        409,
        "entry-bad-seq",
        "bad_seq",
    )
    assert len(sent) == 1
    assert waits == []


def test_giving_up_says_what_failed_last() -> None:
    transport, sent = scripted([httpx.Response(503)] * 2 + [httpx.ConnectError("down")] * 2)
    waits: list[float] = []
    client = CentreClient("http://centre", transport=transport, retry=policy(waits))
    with client, pytest.raises(UnavailableError, match="ConnectError"):
        client.health()
    assert len(sent) == 4


def test_a_500_or_a_non_problem_answer_is_a_refusal_with_its_text() -> None:
    transport, _ = scripted([httpx.Response(500, text="oops")])
    client = CentreClient("http://centre", transport=transport)
    with client, pytest.raises(RefusedError) as refused:
        client.health()
    assert refused.value.status == 500
    assert refused.value.problem["detail"] == "oops"
