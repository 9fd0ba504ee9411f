"""The centre's HTTP service: one FastAPI app over one open centre (DESIGN §9).

``create_app`` assembles it: the routes (public log, writes, blobs, access), the problem
handlers that answer every failure as RFC 9457 problem details, and two pieces of middleware —
``RequestLimits`` (header and body bounds, before a route reads anything) and, outermost,
``LastResort`` (an exception nobody handled is logged and answered without a traceback).  The
app does not open or close the centre: whoever runs it (``examctl serve``, a test) owns it.

When the centre keeps the exam day (opened with ``centre_day_guard``), the app's lifespan runs
the day's scorer (``exam_core.exam_day.day_scorer``): started with the app, stopped with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from api.http.deps import Service
from api.http.limits import LastResort, Limits, RequestLimits
from api.http.problems import install_problem_handlers
from api.http.routes import access, blobs, day, entries, evidence, identify, public_log
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.day_guard import DayGuard
from exam_core.exam_day.day_scorer import DayScorer

API_VERSION = "1"


def create_app(
    centre: Centre,
    tokens: TokenStore | None = None,
    limits: Limits | None = None,
    *,
    score: bool = True,
) -> FastAPI:
    """The HTTP service of ``centre`` (its tokens live in the centre's database by default);
    with ``score``, and a centre that keeps the exam day, its lifespan runs the day's scorer.

    The caller owns the centre: it opens it before and closes it after serving.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scorer = None
        if score and isinstance(centre.guard, DayGuard):
            scorer = DayScorer(centre, centre.guard)
            await run_in_threadpool(scorer.start)
        try:
            yield
        finally:
            if scorer is not None:
                await run_in_threadpool(scorer.close)

    app = FastAPI(
        lifespan=lifespan,
        title=f"exam-integrity centre {centre.origin}",
        version=API_VERSION,
        description=(
            "The exam centre's log service. Writes are signed entries (the signature "
            "authenticates them); the log is public in the C2SP tlog-tiles layout; other "
            "reads need a bearer token. Errors are RFC 9457 problem details."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = Service(
        centre=centre,
        tokens=tokens if tokens is not None else TokenStore(centre.store.engine),
        limits=limits if limits is not None else Limits(),
    )
    # The day's hot routes first (uploads, entries, exam polls): a request is matched against
    # the routes in order, and the methods of any two routes of one path differ.
    for module in (entries, blobs, day, public_log, access, identify, evidence):
        app.include_router(module.router)
    install_problem_handlers(app)
    # Added last = outermost: LastResort sees whatever RequestLimits or a route let escape.
    app.add_middleware(RequestLimits, limits=app.state.service.limits)
    app.add_middleware(LastResort)
    return app


__all__ = ["create_app"]
