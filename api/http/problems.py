"""Every failure of the HTTP service as an RFC 9457 problem, from one table and one handler.

A client tells failures apart by the problem's ``type``, which is stable: ``PROBLEMS`` is the
one list of them, with the HTTP status and title of each.  Domain errors raised anywhere below a
route are mapped here and nowhere else (STYLE §3): an ``EntryError`` becomes the problem named
by its code, a ``StepError`` of the exam day a 409 naming the step ``expected``, another
``ExamDayError`` a 422 with its ``code``, a ``TokenError`` a 401, a ``StoreError`` a 503 (the
database or blob store failed; the route checked the request before asking the store).  Routes
that refuse a request themselves raise ``Problem``.  The body is ``application/problem+json``
and never carries a traceback; an ``EntryError``'s stable code rides along as the extension
member ``code``.  What a problem looks like and how the handlers answer with it is shared with
the monitoring centre (``api.problem_details``); the table and the mapping are this service's.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI

from api import problem_details
from api.problem_details import (
    FRAMEWORK_ERRORS,
    PROBLEM_MEDIA_TYPE,
    ProblemType,
    framework_problem,
    problem_body,
    problem_response,
    problem_table,
)
from exam_core.errors import (
    EntryError,
    ExamCoreError,
    ExamDayError,
    StepError,
    StoreError,
    TokenError,
)

log = logging.getLogger("exam_integrity.http")


_TYPES = (
    # Entries (the codes of EntryError, DESIGN §3.1)
    ProblemType("entry-malformed", 400, "The entry is not a well-formed signed note"),
    ProblemType("entry-too-large", 413, "The entry is larger than 65,535 bytes"),
    ProblemType("entry-schema", 422, "The event does not match its type's schema"),
    ProblemType("entry-wrong-log", 422, "The entry names another log"),
    ProblemType("entry-bad-signature", 403, "The actor's signature does not verify"),
    ProblemType("entry-unknown-key", 403, "The signing key is not registered"),
    ProblemType("entry-revoked-key", 403, "The signing key has been revoked"),
    ProblemType("entry-role-forbidden", 403, "The key's role may not sign this event type"),
    ProblemType("entry-bad-seq", 409, "The entry's seq is not the actor's next one"),
    ProblemType("entry-key-exists", 409, "The key is already registered"),
    ProblemType("entry-clock-skew", 422, "The entry's ts is too far from the centre's clock"),
    ProblemType("entry-refused", 422, "The entry was refused"),
    ProblemType("entry-blob-missing", 409, "The entry references a blob not uploaded yet"),
    ProblemType("entry-not-published", 503, "The entry was not published in time"),
    # The exam day
    ProblemType("identity-refused", 422, "The ID card is not valid or its holder is not booked"),
    ProblemType("bundle-malformed", 400, "The body is not an entry bundle of 1-256 entries"),
    # The exam day (its steps are entries; the day refuses them before sequencing)
    ProblemType("day/step-out-of-order", 409, "The step cannot come now; 'expected' says what can"),
    ProblemType("day/exam-day-refused", 422, "The step contradicts the exam day; 'code' says how"),
    ProblemType("day/not-on-duty", 403, "No crew of the session carries this tablet"),
    # Evidence
    ProblemType("evidence/not-sealed", 422, "The file is not sealed video; 'detail' says why"),
    # Blobs
    ProblemType("blob-hash-mismatch", 422, "The blob's SHA-256 is not the one in its path"),
    # Requests
    ProblemType("body-too-large", 413, "The request body is larger than this endpoint accepts"),
    ProblemType("headers-too-large", 431, "The request headers are too large"),
    ProblemType("uri-too-long", 414, "The request's path and query are too long"),
    ProblemType("bad-request", 400, "The request is malformed"),
    ProblemType("request-invalid", 422, "A parameter or the body is invalid"),
    ProblemType("not-found", 404, "No such resource"),
    ProblemType("method-not-allowed", 405, "This method is not allowed here"),
    # Access
    ProblemType("token-missing", 401, "A bearer token is required"),
    ProblemType("token-invalid", 401, "The bearer token is malformed, unknown or revoked"),
    ProblemType("permission-denied", 403, "The token's role may not do this"),
    # The service itself
    ProblemType("store-unavailable", 503, "The centre's database or blob store failed"),
    ProblemType("internal-error", 500, "The request could not be handled"),
)

PROBLEMS: Mapping[str, ProblemType] = problem_table(*_TYPES)
"""Every problem type the service answers with, by name."""

_ENTRY_CODES = {
    "malformed_note": "entry-malformed",
    "malformed_event": "entry-malformed",
    "too_large": "entry-too-large",
    "schema": "entry-schema",
    "unknown_type": "entry-schema",
    "wrong_log": "entry-wrong-log",
    "bad_signature": "entry-bad-signature",
    "unknown_key": "entry-unknown-key",
    "revoked_key": "entry-revoked-key",
    "role_forbidden": "entry-role-forbidden",
    "bad_seq": "entry-bad-seq",
    "key_exists": "entry-key-exists",
    "clock_skew": "entry-clock-skew",
}
"""EntryError code → problem type; a code not listed is ``entry-refused``."""


class Problem(problem_details.Problem):
    """Raised by a route or dependency to answer with a problem of the ``PROBLEMS`` table."""

    table = PROBLEMS


def problem_of(error: Exception) -> Problem:
    """The problem that answers a domain or framework error (the one mapping of the service).

    Raises:
        TypeError: ``error`` is none of the kinds the service maps (a caller's bug).
    """
    if isinstance(error, Problem):
        return error
    if isinstance(error, EntryError):
        name = _ENTRY_CODES.get(error.code, "entry-refused")
        return Problem(name, error.message, extra={"code": error.code})
    if isinstance(error, StepError):
        extra = {"code": error.code, "expected": error.expected}
        return Problem("day/step-out-of-order", error.message, extra=extra)
    if isinstance(error, ExamDayError) and error.code == "not_on_duty":
        return Problem("day/not-on-duty", error.message, extra={"code": error.code})
    if isinstance(error, ExamDayError):
        return Problem("day/exam-day-refused", error.message, extra={"code": error.code})
    if isinstance(error, TokenError):
        return Problem("token-invalid", str(error), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(error, StoreError):
        return Problem("store-unavailable", str(error), headers={"Retry-After": "1"})
    if isinstance(error, ExamCoreError):
        return Problem("bad-request", str(error))
    framework = framework_problem(Problem, error)
    if framework is not None:
        return framework
    raise TypeError(f"no problem mapping for {type(error).__name__}")


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every domain error, framework refusal and ``Problem`` as a problem document."""
    kinds = (Problem, ExamCoreError, *FRAMEWORK_ERRORS)
    problem_details.install_problem_handlers(app, problem_of, kinds, log)


__all__ = [
    "PROBLEMS",
    "PROBLEM_MEDIA_TYPE",
    "Problem",
    "ProblemType",
    "install_problem_handlers",
    "problem_body",
    "problem_of",
    "problem_response",
]
