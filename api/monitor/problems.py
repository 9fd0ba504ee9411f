"""Every failure of the monitor's HTTP face, mapped in one place (STYLE §3).

The witness endpoints answer as tlog-witness says — a plain-text reason with the spec's status,
and for 409 the witness's size as ``text/x.tlog.size`` — because any C2SP log, not only ours,
must understand them.  Every other failure is an RFC 9457 problem (``application/problem+json``)
whose ``type`` is stable.  A database that fails is 503; nothing answers 500 with a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from allocation.errors import BeaconError
from api.monitor.request_body import BodyTooLargeError
from exam_core.errors import ExamCoreError, SizeConflictError, StoreError, WitnessError
from exam_core.log.tlog_witness import SIZE_CONTENT_TYPE, size_body

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:exam-integrity:problem:"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"

log = logging.getLogger("exam_integrity.monitor")


def problem(name: str, status: int, title: str, detail: str, path: str) -> JSONResponse:
    """An RFC 9457 problem document with a stable ``type``."""
    body = {
        "type": TYPE_PREFIX + name,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": path,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE)


def _witness_refusal(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, WitnessError):
        raise TypeError("the witness handler is installed for WitnessError only")
    if isinstance(exc, SizeConflictError):
        # Set as a header: Starlette would add "; charset" to a text/* media type.
        return Response(
            size_body(exc.size), status_code=409, headers={"content-type": SIZE_CONTENT_TYPE}
        )
    return Response(f"{exc}\n".encode(), status_code=exc.status, media_type=TEXT_MEDIA_TYPE)


def _too_large(request: Request, exc: Exception) -> Response:
    return problem(
        "body-too-large", 413, "The request body is too large", str(exc), request.url.path
    )


def _beacon(request: Request, exc: Exception) -> Response:
    return problem(
        "beacon-unavailable", 404, "No such beacon value yet", str(exc), request.url.path
    )


def _store(request: Request, exc: Exception) -> Response:
    log.warning("store failure on %s: %s", request.url.path, exc)
    return problem(
        "store-unavailable", 503, "The monitor's database failed", str(exc), request.url.path
    )


def _domain(request: Request, exc: Exception) -> Response:
    return problem("bad-request", 400, "The request is malformed", str(exc), request.url.path)


def _validation(request: Request, exc: Exception) -> Response:
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
        for e in (exc.errors() if isinstance(exc, RequestValidationError) else [])
    )
    return problem("request-invalid", 400, "A parameter is invalid", detail, request.url.path)


def _http(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, StarletteHTTPException) else 400
    names = {404: "not-found", 405: "method-not-allowed"}
    name = names.get(status, "bad-request")
    return problem(
        name, status, name.replace("-", " "), str(getattr(exc, "detail", exc)), request.url.path
    )


def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug: logged here with its traceback, answered without one.
    log.error("unexpected failure on %s", request.url.path, exc_info=exc)
    return problem(
        "internal-error",
        500,
        "The request could not be handled",
        "internal error",
        request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Map every failure a route can raise to its answer."""
    app.add_exception_handler(WitnessError, _witness_refusal)
    app.add_exception_handler(BodyTooLargeError, _too_large)
    app.add_exception_handler(BeaconError, _beacon)
    app.add_exception_handler(StoreError, _store)
    app.add_exception_handler(ExamCoreError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
