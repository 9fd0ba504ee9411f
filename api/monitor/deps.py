"""The monitor app's FastAPI dependencies, as ``Annotated`` aliases in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from exam_core.monitoring.home import Monitor


def get_monitor(request: Request) -> Monitor:
    """The opened monitoring centre the app was created for."""
    monitor: Monitor = request.app.state.monitor
    return monitor


MonitorDep = Annotated[Monitor, Depends(get_monitor)]
