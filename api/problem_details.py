"""RFC 9457 problem details for every HTTP face: the document, its answer and the handlers.

The centre's service (``api.http.problems``) and the monitoring centre (``api.monitor.problems``)
each keep their own table of problem types — a stable name, status and title a client tells
failures apart by — and their own mapping from the errors below their routes to those types.
What a problem looks like on the wire, and how a failure becomes one, is the same for both and
lives here: the body is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and ``instance`` (plus a service's extension members), and never carries a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from api.request_body import BadContentLengthError, BodyTooLargeError

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:exam-integrity:problem:"
MAX_VALIDATION_ERRORS = 5
"""How many of a request's validation errors a problem's ``detail`` names."""
INTERNAL_ERROR_STATUS = 500
"""The one status that means a bug (logged with its traceback); above it, a service's trouble."""


@dataclass(frozen=True)
class ProblemType:
    """One kind of failure: its stable name, HTTP status and short title."""

    name: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return TYPE_PREFIX + self.name


def problem_table(*types: ProblemType) -> Mapping[str, ProblemType]:
    """A service's problem types by name.

    Raises:
        ValueError: two types share a name (their ``type`` URIs would be ambiguous).
    """
    table = {t.name: t for t in types}
    if len(table) != len(types):
        raise ValueError("two problem types share a name")
    return table


class Problem(Exception):  # noqa: N818 — it is the problem document, not a programming error
    """A problem of a service's table; each service subclasses it naming its ``table``."""

    table: ClassVar[Mapping[str, ProblemType]] = {}

    def __init__(
        self,
        name: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.type = self.table[name]
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem_body(problem: Problem, instance: str | None = None) -> dict[str, Any]:
    """The RFC 9457 members of a problem (``type``, ``title``, ``status``, ``detail``, …)."""
    body: dict[str, Any] = {
        "type": problem.type.uri,
        "title": problem.type.title,
        "status": problem.type.status,
        "detail": problem.detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(problem.extra)
    return body


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    """The answer carrying ``problem``: its status, its headers, the problem document."""
    return JSONResponse(
        problem_body(problem, instance),
        status_code=problem.type.status,
        headers=problem.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def validation_detail(error: RequestValidationError) -> str:
    """What was invalid in a request, for a problem's ``detail`` (the first few errors)."""
    parts = []
    for item in error.errors()[:MAX_VALIDATION_ERRORS]:
        where = ".".join(str(p) for p in item.get("loc", ()))
        parts.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is invalid"


P = TypeVar("P", bound=Problem)

FRAMEWORK_PROBLEMS = (
    "request-invalid",
    "bad-request",
    "not-found",
    "method-not-allowed",
    "body-too-large",
)
"""The types every service's table holds for the framework's own refusals."""
FRAMEWORK_ERRORS: tuple[type[Exception], ...] = (
    RequestValidationError,
    StarletteHTTPException,
    ClientDisconnect,
    BodyTooLargeError,
    BadContentLengthError,
)
"""The framework's exceptions that ``framework_problem`` answers: every service handles them."""
_STATUS_PROBLEMS = {404: "not-found", 405: "method-not-allowed"}


def framework_problem(kind: type[P], error: Exception) -> P | None:
    """The problem of ``kind`` for a refusal of FastAPI's own (a request that does not validate,
    no such route or method), a body its client stopped sending, or a body over the endpoint's
    bound or a ``Content-Length`` that is no length (``api.request_body``, the rule of every
    face), or None for any other error.

    A client that closes its connection before the end of the body it announced is the
    client's failure, not the service's: a 400 that nobody reads, and no traceback in the log.
    """
    if isinstance(error, ClientDisconnect):
        return kind("bad-request", "the client went away before the request body was complete")
    if isinstance(error, BodyTooLargeError):
        return kind("body-too-large", str(error))
    if isinstance(error, BadContentLengthError):
        return kind("bad-request", str(error))
    if isinstance(error, RequestValidationError):
        return kind("request-invalid", validation_detail(error))
    if isinstance(error, StarletteHTTPException):
        name = _STATUS_PROBLEMS.get(error.status_code, "bad-request")
        return kind(name, str(error.detail), headers=dict(error.headers or {}))
    return None


def install_problem_handlers(
    app: FastAPI,
    problem_of: Callable[[Exception], Problem],
    kinds: Iterable[type[Exception]],
    log: logging.Logger,
) -> None:
    """Answer every error of ``kinds`` with the problem ``problem_of`` maps it to.

    A 5xx is logged: a 500 (a bug) with its traceback, which the answer never carries; another
    (a store that failed) with its message.
    """

    async def handle(request: Request, error: Exception) -> JSONResponse:
        problem = problem_of(error)
        where = f"{request.method} {request.url.path}"
        if problem.type.status == INTERNAL_ERROR_STATUS:
            log.error("unexpected failure on %s", where, exc_info=error)
        elif problem.type.status > INTERNAL_ERROR_STATUS:
            log.warning("%s: %s", where, problem.detail)
        return problem_response(problem, request.url.path)

    for kind in kinds:
        app.add_exception_handler(kind, handle)


__all__ = [
    "FRAMEWORK_ERRORS",
    "FRAMEWORK_PROBLEMS",
    "PROBLEM_MEDIA_TYPE",
    "TYPE_PREFIX",
    "Problem",
    "ProblemType",
    "framework_problem",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "problem_table",
    "validation_detail",
]
