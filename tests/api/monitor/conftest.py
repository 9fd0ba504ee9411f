"""The monitor served by uvicorn on loopback, over a real migrated database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from api.monitor.app import create_app
from api.monitor.server import BackgroundServer
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - fixtures shared with the domain
    clock,
    monitor,
    monitor_dir,
    open_again,
    tree,
)


@pytest.fixture
def served(monitor: Monitor) -> Iterator[str]:  # noqa: F811 - the shared fixture
    """The base URL of ``monitor``'s app, served on loopback."""
    with BackgroundServer(create_app(monitor)) as server:
        yield server.url


@pytest.fixture
def http(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=30) as client:
        yield client
