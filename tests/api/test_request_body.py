"""The one rule on request bodies (``api.request_body``), and both servers answering it alike.

The centre's service applies it in its middleware, the monitoring centre in its routes; the
servers' own tests send hostile lengths over HTTP.  Here: the rule itself, on raw ASGI headers
and messages, and the problem each server's table makes of its two refusals.
"""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message

from api.http.problems import Problem as CentreProblem
from api.monitor.problems import MonitorProblem
from api.problem_details import framework_problem
from api.request_body import (
    BadContentLengthError,
    BodyTooLargeError,
    bounded_receive,
    check_declared_length,
)


def _length(*values: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"centre"), *((b"Content-Length", v) for v in values)]


@pytest.mark.parametrize(
    "values",
    [
        (b"3, 3",),  # a list: a request-smuggling shape
        (b"3", b"3"),  # the header twice
        ("²".encode("latin-1"),),  # a digit to str.isdigit, not to int
        (b"-1",),
        (b"+3",),
        (b"0x10",),
        (b"",),
    ],
)
def test_a_content_length_that_is_no_length_is_refused(values: tuple[bytes, ...]) -> None:
    with pytest.raises(BadContentLengthError, match="one decimal number"):
        check_declared_length(_length(*values), 1024)


def test_a_declared_length_over_the_bound_is_refused_unread() -> None:
    check_declared_length(_length(b"1024"), 1024)
    check_declared_length(_length(b"0" * 40 + b"1024"), 1024)  # zeros first: still 1,024
    check_declared_length(_length(), 1024)  # no length: the body is counted as it comes
    with pytest.raises(BodyTooLargeError) as over:
        check_declared_length(_length(b"1025"), 1024)
    assert (over.value.limit, over.value.declared) == (1024, 1025)
    assert str(over.value) == "the body is 1025 bytes; this endpoint accepts 1024"
    # More digits than any length: too large, without int() (which refuses 4,300 digits).
    with pytest.raises(BodyTooLargeError) as huge:
        check_declared_length(_length(b"9" * 5000), 1024)
    assert huge.value.declared is None


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_bound() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"x" * 600, "more_body": True},
        {"type": "http.request", "body": b"x" * 424, "more_body": True},
        {"type": "http.request", "body": b"x", "more_body": True},
        {"type": "http.request", "body": b"never read", "more_body": False},
    ]
    read: list[Message] = []

    async def receive() -> Message:
        message = messages.pop(0)
        read.append(message)
        return message

    async def drain() -> None:
        bounded = bounded_receive(receive, 1024)
        while True:
            await bounded()

    with pytest.raises(BodyTooLargeError, match="larger than 1024 bytes"):
        asyncio.run(drain())
    assert len(read) == 3  # the chunk that passed the bound, and nothing after it


@pytest.mark.parametrize("problem", [CentreProblem, MonitorProblem])
def test_each_server_answers_the_refusals_from_its_own_table(
    problem: type[CentreProblem] | type[MonitorProblem],
) -> None:
    too_large = framework_problem(problem, BodyTooLargeError(1024, 2048))
    assert too_large is not None
    assert (too_large.type.name, too_large.type.status) == ("body-too-large", 413)
    assert too_large.detail == "the body is 2048 bytes; this endpoint accepts 1024"
    bad = framework_problem(problem, BadContentLengthError())
    assert bad is not None
    assert (bad.type.name, bad.type.status) == ("bad-request", 400)
