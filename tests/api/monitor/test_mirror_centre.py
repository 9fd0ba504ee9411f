"""The mirror against a real centre: its HTTP service served by uvicorn on loopback, growing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from api.http import create_app
from api.monitor.mirror_client import http_sources
from api.monitor.server import BackgroundServer
from exam_core.centre.centre import Centre
from exam_core.log.schemas.types import DEMO
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    SecondsClock,
    clock,
    monitor_dir,
    open_again,
)

ORIGIN = "exam.example/c/370100-09"


def test_a_real_centre_is_mirrored_as_it_grows(
    tmp_path: Path,
    open_again: Callable[[], Monitor],  # noqa: F811
    clock: SecondsClock,  # noqa: F811
) -> None:
    centre = Centre.create(tmp_path / "centre", ORIGIN, max_age_ms=2)
    monitor = open_again()
    try:
        device = centre.register_key("d1", DEMO)
        with BackgroundServer(create_app(centre)) as server, httpx.Client(timeout=10) as client:
            monitor.add_log(centre.log_vkey, server.url, clock.now * 1000)
            sizes = []
            for count in (3, 250, 520):
                for n in range(count):
                    centre.submit(device, "demo.event", {"n": n})
                centre.append(device, "demo.event", {"n": count})
                clock.now += 3600
                [outcome] = monitor.mirror.pull_all_due(http_sources(client))
                assert outcome.findings == []
                assert not outcome.refused
                assert outcome.entries_size == outcome.tree_size == centre.store.size()
                sizes.append(outcome.entries_size)
            assert sizes == sorted(sizes)
            assert sizes[-1] - sizes[0] == 250 + 520 + 2
            held = monitor.mirror.store.entries(ORIGIN, 0, sizes[-1])
            assert held == centre.store.entries(0, sizes[-1])
            assert monitor.mirror.cosigned_checkpoint(ORIGIN) is not None
    finally:
        centre.close()
