"""Logs served from memory in the C2SP tlog-tiles layout by a real uvicorn, with faults to order.

Each log is served under ``/<name>/`` (``checkpoint``, ``tile/…``), from the files the audit's
own bundle writer makes (``bundle_files``), so the mirror reads exactly what a C2SP log would
serve.  A test can replace a log's files (a rewritten, truncated or forked history), make one
path answer something hostile, slow every entry bundle down, and count every request.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from exam_core.log.merkle import MerkleFrontier, leaf_hash
from exam_core.log.tiles import bundle_files
from tests.exam_core.audit.bundle_factory import LogBuilder

Fault = Callable[[bytes], Response]


class StaticLogs:
    """The logs one server serves, by name."""

    def __init__(self) -> None:
        self.files: dict[str, dict[str, bytes]] = {}
        self.requests: Counter[tuple[str, str]] = Counter()
        self.faults: dict[tuple[str, str], Fault] = {}
        self.bundle_delay_s = 0.0
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.add_route("/{name}/{path:path}", self._serve)

    def publish(self, name: str, log: LogBuilder, size: int | None = None) -> bytes:
        """Serve the first ``size`` entries of ``log`` (all by default) under a new checkpoint."""
        entries = log.entries if size is None else log.entries[:size]
        kept = log.entries
        log.entries = list(entries)
        log._frontier = _frontier(entries)
        note = log.checkpoint()
        log.entries = kept
        log._frontier = _frontier(kept)
        self.files[name] = {"checkpoint": note, **bundle_files(entries)}
        return note

    def count(self, name: str, prefix: str = "") -> int:
        with self._lock:
            return sum(
                n
                for (log, path), n in self.requests.items()
                if log == name and path.startswith(prefix)
            )

    async def _serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = request.path_params["path"]
        with self._lock:
            self.requests[(name, path)] += 1
        if path.startswith("tile/entries/") and self.bundle_delay_s:
            await asyncio.sleep(self.bundle_delay_s)
        data = self.files.get(name, {}).get(path)
        fault = self.faults.get((name, path))
        if fault is not None:
            return fault(data or b"")
        if data is None:
            return Response(b"not found\n", status_code=404)
        return Response(data, media_type="application/octet-stream")


def _frontier(entries: list[bytes]) -> MerkleFrontier:
    frontier = MerkleFrontier()
    frontier.extend([leaf_hash(e) for e in entries])
    return frontier
