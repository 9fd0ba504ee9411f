"""How long a request body may be, on every HTTP face: one rule for both servers.

Why it exists: the centre's service (``api.http.limits``, middleware with a bound per endpoint)
and the monitoring centre (``api.monitor``, a bound per route) refuse an oversized body by the
same rule, so the rule is written once, here:

1. the ``Content-Length`` header, if any, is one value of ASCII decimal digits (leading zeros
   allowed); anything else — two values, a sign, "²", a list — is ``BadContentLengthError``
   (answered 400 ``bad-request``): ``str.isdigit`` passes "²" and ``int`` refuses it, and
   refuses more than 4,300 digits, so neither is let near ``int``;
2. a declared length over the bound is ``BodyTooLargeError`` before any of the body is read (a
   length of more than 18 significant digits is over any bound, without ``int``);
3. a body is counted as it streams in — chunked, or longer than it declared — and is
   ``BodyTooLargeError`` as soon as the count passes the bound, so a giant body never reaches
   memory.

Both are framework refusals (``api.problem_details.framework_problem``): each server answers
them with a problem of its own table, ``body-too-large`` (413) or ``bad-request`` (400).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from starlette.types import Message, Receive

MAX_LENGTH_DIGITS = 18
"""The most significant digits of a declared length read as a number (under 10^18 bytes)."""


class BodyTooLargeError(Exception):
    """A request body longer than the endpoint accepts, declared or streamed (answered 413)."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        if declared is None:
            message = f"the request body is larger than {limit} bytes"
        else:
            message = f"the body is {declared} bytes; this endpoint accepts {limit}"
        super().__init__(message)
        self.limit = limit
        self.declared = declared


class BadContentLengthError(Exception):
    """A ``Content-Length`` that is not one decimal number (answered 400)."""

    def __init__(self) -> None:
        super().__init__("Content-Length must be one decimal number")


def check_declared_length(headers: Iterable[tuple[bytes, bytes]], limit: int) -> None:
    """Refuse a request whose raw ASGI ``headers`` declare a body over ``limit`` bytes (rules 1
    and 2 of the module docstring); a request without ``Content-Length`` passes.

    Raises:
        BadContentLengthError: the header is repeated or is not ASCII decimal digits.
        BodyTooLargeError: the declared length is over ``limit``.
    """
    declared = [value for name, value in headers if name.lower() == b"content-length"]
    if not declared:
        return
    text = declared[0].strip(b" \t")
    if len(declared) > 1 or not text or not (text.isascii() and text.isdigit()):
        raise BadContentLengthError
    digits = text.lstrip(b"0")
    if len(digits) > MAX_LENGTH_DIGITS:
        raise BodyTooLargeError(limit)
    length = int(digits or b"0")
    if length > limit:
        raise BodyTooLargeError(limit, length)


class BodyCount:
    """The bytes of one body received so far, refused past ``limit`` (rule 3)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0

    def add(self, chunk: bytes) -> None:
        """Count ``chunk``.

        Raises:
            BodyTooLargeError: the body is now longer than ``limit``.
        """
        self.received += len(chunk)
        if self.received > self.limit:
            raise BodyTooLargeError(self.limit)


def bounded_receive(receive: Receive, limit: int) -> Receive:
    """``receive`` of an ASGI request that raises ``BodyTooLargeError`` (in the reading route)
    as soon as the body it delivers passes ``limit`` bytes."""
    count = BodyCount(limit)

    async def receive_bounded() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            count.add(message.get("body", b""))
        return message

    return receive_bounded


async def read_bounded_body(request: Request, limit: int) -> bytes:
    """The body of ``request``, refused by the rule of this module as soon as it is over
    ``limit`` bytes (declared: before anything is read).

    Raises:
        BadContentLengthError: the ``Content-Length`` is not one decimal number.
        BodyTooLargeError: the body is, or is declared to be, longer than ``limit``.
    """
    check_declared_length(request.headers.raw, limit)
    count = BodyCount(limit)
    chunks: list[bytes] = []
    async for chunk in request.stream():
        count.add(chunk)
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = [
    "MAX_LENGTH_DIGITS",
    "BadContentLengthError",
    "BodyCount",
    "BodyTooLargeError",
    "bounded_receive",
    "check_declared_length",
    "read_bounded_body",
]
