"""The mirror's reads of a centre, a few requests ahead of the checks.

A pull's CPU is mostly its checks (``exam_core.monitoring.mirror``), and on a real network each
request waits a round trip: ``FetchAhead`` keeps ``FETCHES_IN_FLIGHT`` tile or bundle requests
in flight on a small thread pool, in order, while the pull checks what came before, so the
round trips overlap each other and the checks.  It hands out what it fetched in the order
asked, and never requests more than that many beyond what the pull has taken: a pull that stops
at a refused bundle leaves at most that many unread.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future

from exam_core.log.tiles import TilePath
from exam_core.monitoring.mirror_source import LogSource

__all__ = ["FETCHES_IN_FLIGHT", "FetchAhead"]

FETCHES_IN_FLIGHT = 4
"""Requests to a centre in flight at once, in order, while the mirror checks what came before:
the round trips overlap each other and the checks (a pull's CPU is mostly the checks)."""


class FetchAhead:
    """A pull's reads of its ``source``: tiles and bundles fetched a few at a time on ``pool``."""

    def __init__(self, pool: Executor, source: LogSource) -> None:
        self.pool = pool
        self.source = source

    def in_order(self, paths: Iterable[TilePath]) -> Iterator[tuple[TilePath, Future[bytes]]]:
        """Each of ``paths`` with its fetch, in order, ``FETCHES_IN_FLIGHT`` requested ahead of
        the one handed out; a consumer that stops early leaves at most that many unread (the
        rest are never requested)."""
        ahead: deque[tuple[TilePath, Future[bytes]]] = deque()
        try:
            for path in paths:
                ahead.append((path, self.pool.submit(self.source.tile, path)))
                if len(ahead) >= FETCHES_IN_FLIGHT:
                    yield ahead.popleft()
            while ahead:
                yield ahead.popleft()
        finally:
            for _, fetch in ahead:
                fetch.cancel()
