"""Bounds on what a request may send, enforced before any route reads it (DESIGN §9).

``RequestLimits`` is plain ASGI middleware: it refuses a path and query longer than 2 KiB
(414), headers that are too many or too large (431), a ``Content-Length`` that is not one
decimal number (400) or is over the endpoint's bound (413, without reading the body), and a
body that grows past the bound while it streams in (the route's read raises
``BodyTooLargeError``, answered 413).  The body rule is the monitoring centre's too
(``api.request_body``); the bounds are this service's, per endpoint: a blob upload may be
megabytes, an entry at most 65,535 bytes, a bundle 256 of them, anything else a little JSON.

``LastResort`` is the outermost guard: an exception no handler claimed is logged with its
traceback on the server and answered with an ``internal-error`` problem that carries none.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import Problem, problem_body
from api.problem_details import framework_problem
from api.request_body import (
    BadContentLengthError,
    BodyTooLargeError,
    bounded_receive,
    check_declared_length,
)
from exam_core.log.entry import MAX_ENTRY_BYTES
from exam_core.log.tiles import ENTRY_BUNDLE_MAX_BYTES

log = logging.getLogger("exam_integrity.http")

DEFAULT_MAX_BLOB_BYTES = 1 << 24
"""16 MiB, the largest blob an event may reference (``telemetry.chunk``'s ``length``)."""
DEFAULT_MAX_VIDEO_BYTES = 1 << 26
"""64 MiB: a few minutes of in-car video checked over HTTP (``examctl evidence verify`` reads a
whole exam's recording from a file)."""
DEFAULT_MAX_HEADER_BYTES = 8 * 1024
DEFAULT_MAX_HEADERS = 64
DEFAULT_MAX_BODY_BYTES = 64 * 1024
DEFAULT_MAX_TARGET_BYTES = 2048
"""The longest path plus query string: a tile path is under 60 bytes, a key name 512."""


@dataclass(frozen=True)
class Limits:
    """The service's bounds; tests shrink them, a centre may raise the blob bound."""

    max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES
    max_video_bytes: int = DEFAULT_MAX_VIDEO_BYTES
    max_entry_bytes: int = MAX_ENTRY_BYTES
    max_bundle_bytes: int = ENTRY_BUNDLE_MAX_BYTES
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_headers: int = DEFAULT_MAX_HEADERS
    max_target_bytes: int = DEFAULT_MAX_TARGET_BYTES
    publish_timeout_s: float = 30.0
    """How long a write waits for its entry to be published before answering 503."""

    def body_limit(self, method: str, path: str) -> int:
        """The largest body the endpoint at ``method path`` accepts."""
        if method == "PUT" and path.startswith("/blobs/"):
            return self.max_blob_bytes
        if method == "POST" and path == "/entries":
            return self.max_entry_bytes
        if method == "POST" and path == "/entries/bundle":
            return self.max_bundle_bytes
        if method == "POST" and path == "/evidence/video":
            return self.max_video_bytes
        return self.max_body_bytes


async def _send_problem(send: Send, problem: Problem, path: str) -> None:
    data = json.dumps(problem_body(problem, path)).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in problem.headers.items()]
    await send({"type": "http.response.start", "status": problem.type.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RequestLimits:
    """ASGI middleware refusing oversized headers and bodies with problem documents."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        target = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b""))
        if target > self.limits.max_target_bytes:
            detail = f"the path and query are {target} bytes; the bound is "
            detail += str(self.limits.max_target_bytes)
            await _send_problem(send, Problem("uri-too-long", detail), path[:100])
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        size = sum(len(k) + len(v) for k, v in headers)
        if len(headers) > self.limits.max_headers or size > self.limits.max_header_bytes:
            detail = (
                f"{len(headers)} headers of {size} bytes; the bounds are "
                f"{self.limits.max_headers} headers and {self.limits.max_header_bytes} bytes"
            )
            await _send_problem(send, Problem("headers-too-large", detail), path)
            return
        limit = self.limits.body_limit(str(scope.get("method", "")), path)
        try:
            check_declared_length(headers, limit)
        except (BadContentLengthError, BodyTooLargeError) as e:
            # Both are framework refusals: answered as the routes' handlers answer them.
            problem = framework_problem(Problem, e) or Problem("bad-request", str(e))
            await _send_problem(send, problem, path)
            return
        await self.app(scope, bounded_receive(receive, limit), send)


class LastResort:
    """ASGI middleware: an unhandled exception is logged and answered without a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                problem = Problem("internal-error", "the request could not be handled")
                await _send_problem(send, problem, str(scope.get("path", "")))


__all__ = ["LastResort", "Limits", "RequestLimits"]
