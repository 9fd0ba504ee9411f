"""The monitoring centre's FastAPI app: witness, mirror, beacon and dashboard (DESIGN §10).

``create_app`` assembles the routes over an opened ``Monitor`` and the one table of failure
answers (``problems``).  OpenAPI is served at ``/openapi.json``.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.monitor import beacon_routes, dashboard_routes, mirror_routes, witness_routes
from api.monitor.problems import install_problem_handlers
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.overview import Overview


def create_app(monitor: Monitor) -> FastAPI:
    """The monitor's app over ``monitor`` (which the caller opens and closes)."""
    app = FastAPI(
        title="exam-integrity monitoring centre",
        description=(
            "C2SP tlog-witness (POST /add-checkpoint), the mirror's cosigned checkpoints and "
            "findings (/mirror), the hash-chain beacon, and the dashboard (/dashboard, its "
            "JSON under /dashboard/api). Witness "
            "refusals follow tlog-witness; other errors are RFC 9457 problem details."
        ),
        version="1",
    )
    app.state.monitor = monitor
    app.state.overview = Overview(monitor)
    install_problem_handlers(app)
    app.include_router(beacon_routes.router)
    app.include_router(witness_routes.router)
    app.include_router(mirror_routes.router)
    app.include_router(dashboard_routes.router)

    @app.get("/healthz", summary="liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
