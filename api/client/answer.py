"""Reading the JSON the centre answers a request with: strictly, as any untrusted input.

Why it exists: a 2xx answer is not proof of a centre — a proxy, a captive portal or a wrong
URL answers 200 with a web page, and a faulty server with JSON of another shape.  Taken on
trust, such an answer ended in ``JSONDecodeError``, ``KeyError`` or ``TypeError``: a traceback
from ``examctl gateway``, or a sender thread that died and left every event waiting.  Here any
answer that is not the JSON expected is an ``UnavailableError``, naming the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from api.client.errors import UnavailableError


def json_object(response: httpx.Response) -> Mapping[str, Any]:
    """The JSON object a 2xx answer holds.

    Raises:
        UnavailableError: the body is not JSON, or not an object.
    """
    try:
        body = response.json()
    except ValueError as e:
        raise UnavailableError(f"{_request(response)}: the answer is not JSON") from e
    if not isinstance(body, dict):
        raise UnavailableError(f"{_request(response)}: the answer is not a JSON object")
    return body


def member(response: httpx.Response, body: Mapping[str, Any], name: str, kind: type) -> Any:
    """``body[name]``, which must be of ``kind`` (an integer is never a bool).

    Raises:
        UnavailableError: the member is missing or of another type.
    """
    value = body.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnavailableError(
            f"{_request(response)}: the answer's {name!r} is not a {kind.__name__}"
        )
    return value


def _request(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


__all__ = ["json_object", "member"]
