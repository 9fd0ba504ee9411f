"""Every failure of the monitor's HTTP face, mapped in one place (STYLE §3).

The witness endpoints answer as tlog-witness says — a plain-text reason with the spec's status,
and for 409 the witness's size as ``text/x.tlog.size`` — because any C2SP log, not only ours,
must understand them.  Every other failure is an RFC 9457 problem of ``PROBLEMS``
(``application/problem+json``, built and answered by ``api.problem_details`` as the centre's
service does) whose ``type`` is stable.  A database that fails is 503; a bug is logged with its
traceback and answered ``internal-error`` without one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.responses import Response

from allocation.errors import BeaconError
from api import problem_details
from api.problem_details import FRAMEWORK_ERRORS, ProblemType, framework_problem, problem_table
from exam_core.errors import ExamCoreError, SizeConflictError, StoreError, WitnessError
from exam_core.log.tlog_witness import SIZE_CONTENT_TYPE, size_body

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"

log = logging.getLogger("exam_integrity.monitor")

PROBLEMS: Mapping[str, ProblemType] = problem_table(
    ProblemType("body-too-large", 413, "The request body is too large"),
    ProblemType("beacon-unavailable", 404, "No such beacon value yet"),
    ProblemType("store-unavailable", 503, "The monitor's database failed"),
    ProblemType("bad-request", 400, "The request is malformed"),
    ProblemType("request-invalid", 400, "A parameter is invalid"),
    ProblemType("not-found", 404, "not found"),
    ProblemType("method-not-allowed", 405, "method not allowed"),
    ProblemType("internal-error", 500, "The request could not be handled"),
)
"""Every problem type the monitor answers with, by name."""


class MonitorProblem(problem_details.Problem):
    """A problem of the monitor's ``PROBLEMS`` table."""

    table = PROBLEMS


def problem_of(error: Exception) -> MonitorProblem:
    """The problem that answers an error below a route (witness refusals excepted); an error
    of no known kind is a bug, answered ``internal-error``."""
    if isinstance(error, BeaconError):
        return MonitorProblem("beacon-unavailable", str(error))
    if isinstance(error, StoreError):
        return MonitorProblem("store-unavailable", str(error))
    if isinstance(error, ExamCoreError):
        return MonitorProblem("bad-request", str(error))
    framework = framework_problem(MonitorProblem, error)
    if framework is not None:
        return framework
    return MonitorProblem("internal-error", "internal error")


def _witness_refusal(_request: Request, exc: Exception) -> Response:
    if not isinstance(exc, WitnessError):
        raise TypeError("the witness handler is installed for WitnessError only")
    if isinstance(exc, SizeConflictError):
        # Set as a header: Starlette would add "; charset" to a text/* media type.
        return Response(
            size_body(exc.size), status_code=409, headers={"content-type": SIZE_CONTENT_TYPE}
        )
    return Response(f"{exc}\n".encode(), status_code=exc.status, media_type=TEXT_MEDIA_TYPE)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every failure a route can raise to its answer: tlog-witness text for the witness's
    refusals, a problem for everything else (``Exception`` too: no traceback leaves)."""
    app.add_exception_handler(WitnessError, _witness_refusal)
    kinds: tuple[type[Exception], ...] = (BeaconError, ExamCoreError, *FRAMEWORK_ERRORS, Exception)
    problem_details.install_problem_handlers(app, problem_of, kinds, log)
