"""The mirror's loop: pull every due centre, sleep a little, again (``examctl monitor serve``).

Each round schedules newly watched centres and pulls due ones until none is due; which process
pulls which centre is decided by the database's row locks (``MirrorStore.claim``), so any
number of monitor processes may run this loop over one PostgreSQL database.  A failing database
is logged and retried after a pause; it never stops the witness or the beacon served beside it.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import httpx

from api.monitor.mirror_client import http_sources, mirror_client
from exam_core.errors import StoreError
from exam_core.monitoring.mirror import Mirror, PullOutcome

__all__ = ["MirrorLoop"]

IDLE_S = 1.0
"""How often an idle loop looks for a due centre."""
FAILURE_PAUSE_S = 5.0

log = logging.getLogger("exam_integrity.monitor.mirror")


class MirrorLoop:
    """Runs ``mirror`` until ``stop`` is called, in the caller's thread or a daemon thread."""

    def __init__(
        self,
        mirror: Mirror,
        client: httpx.Client | None = None,
        *,
        workers: int = 0,
        tokens: Mapping[str, str] | None = None,
    ) -> None:
        """``workers`` processes verify entry signatures beside this one (0: none); ``tokens``
        (by origin) read each centre's blobs."""
        self._mirror = mirror
        self._tokens = dict(tokens or {})
        self._client = client or mirror_client()
        self._pool = (
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            if workers > 0
            else None
        )
        mirror.signatures = self._pool
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> list[PullOutcome]:
        """Pull every centre that is due now.

        Raises:
            StoreError: the database failed.
        """
        outcomes = self._mirror.pull_all_due(http_sources(self._client, self._tokens))
        for o in outcomes:
            for f in o.findings:
                log.warning("%s: %s %s", o.origin, f.finding.code, f.finding.message)
        return outcomes

    def run(self) -> None:
        """Pull due centres until stopped."""
        while not self._stop.is_set():
            try:
                self.round()
            except StoreError as e:
                log.error("mirror round failed: %s", e)
                self._stop.wait(FAILURE_PAUSE_S)
                continue
            self._stop.wait(IDLE_S)

    def start(self) -> MirrorLoop:
        """Run the loop in a daemon thread; returns at once."""
        self._thread = threading.Thread(target=self.run, name="mirror", daemon=True)
        self._thread.start()
        return self

    def request_stop(self) -> None:
        """Ask ``run`` to return after the pull under way (safe in a signal handler)."""
        self._stop.set()

    def stop(self) -> None:
        """Stop the loop and wait for it, then close the client and the worker processes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._client.close()
        if self._pool is not None:
            self._mirror.signatures = None
            self._pool.shutdown(cancel_futures=True)
