"""Entry signature checks for the audit, shared between this process and worker processes.

Re-verifying every actor's Ed25519 signature is most of an audit's cost (tlog.md §5.2: about
6,000 verifications per second per core), and it needs no order: which key is the registered
one at each point is decided later by the ordered registry pass.  So the audit hands chunks of
entries to worker processes and consumes their answers in log order
(``exam_core.audit.SignatureCheck``).

The auditing process is busy too — it parses every entry, runs the registry and rebuilds the
tree — so it keeps a share of the chunks and verifies those itself in the ordered pass (the
check yields None for them, and the registry then verifies as ingest does).  With one worker
per remaining core, every core is busy and the ordered pass never waits for a worker that is
still starting: the first chunk is always its own.

A fixed share cannot know what else the machine runs, so the ordered pass never simply waits:
when the answer it needs is not in yet, it takes back the next chunk no worker has started and
verifies it itself.  Whichever side is slower, both stay busy until the last chunk.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from exam_core.audit_signatures import signing_keys
from exam_core.errors import BundleError

__all__ = ["ProcessSignatureCheck", "local_share_for"]

DEFAULT_CHUNK = 512
"""Entries per task: pickling is cheap next to verifying them, and answers come back early."""

VERIFY_COST = 110
"""Relative cost of one signature check (µs, measured by ``bench/audit_throughput.py``)."""
ORDERED_COST = 25
"""Relative cost of the ordered pass per entry (parse, schema, registry, leaf hash)."""


def local_share_for(workers: int) -> float:
    """The share of chunks the auditing process verifies itself so that all processes finish
    together: ``ORDERED + share·VERIFY = (1 − share)·VERIFY / workers``."""
    if workers < 1:
        return 1.0
    per_worker = VERIFY_COST / workers
    return max(0.0, (per_worker - ORDERED_COST) / (VERIFY_COST + per_worker))


class ProcessSignatureCheck:
    """A ``SignatureCheck`` backed by ``workers`` processes; use it as a context manager.

    Enter it early (before reading the bundle) so the workers start while the disk is read.
    """

    def __init__(
        self, workers: int, chunk: int = DEFAULT_CHUNK, local_share: float | None = None
    ) -> None:
        if workers < 1 or chunk < 1:
            raise RuntimeError("a signature pool needs at least one worker and one entry a task")
        self._workers = workers
        self._chunk = chunk
        self._local_share = local_share_for(workers) if local_share is None else local_share
        if not 0.0 <= self._local_share < 1.0:
            raise RuntimeError("the local share of the chunks is in [0, 1)")
        self._executor: ProcessPoolExecutor | None = None
        self.taken_back = 0
        """Entries this process verified itself rather than wait for a worker."""

    def __enter__(self) -> ProcessSignatureCheck:
        # "spawn": the workers share nothing with the auditing process but what they are sent.
        self._executor = ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn")
        )
        # Start them now rather than at the first task.
        for _ in range(self._workers):
            self._executor.submit(int)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _is_local(self, i: int) -> bool:
        # Spread the local chunks evenly, chunk 0 first (Bresenham on the share).
        share = self._local_share
        return math.ceil((i + 1) * share) > math.ceil(i * share)

    def __call__(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
    ) -> Iterator[bytes | None]:
        if self._executor is None:
            raise RuntimeError("use ProcessSignatureCheck as a context manager")
        key_table = dict(keys)
        plan: list[_Chunk] = []
        for n, i in enumerate(range(0, len(entries), self._chunk)):
            chunk = list(entries[i : i + self._chunk])
            if self._is_local(n):
                plan.append(_Chunk(chunk, None))
            else:
                plan.append(_Chunk(chunk, self._executor.submit(signing_keys, chunk, key_table)))
        return self._in_order(plan, key_table)

    def _in_order(
        self, plan: list[_Chunk], keys: Mapping[str, frozenset[bytes]]
    ) -> Iterator[bytes | None]:
        ahead = 0  # chunks before this one have been considered for taking back
        for i, step in enumerate(plan):
            if step.future is None:
                yield from (None,) * len(step.entries)  # the registry verifies these in order
                continue
            # Rather than wait for a worker, verify the next chunk no worker has started: both
            # sides stay busy whatever else the machine runs, and since that chunk comes soon
            # in the log, the ordered pass never falls behind the workers.
            ahead = max(ahead, i + 1)
            while step.keys is None and not step.future.done() and ahead < len(plan):
                spare = plan[ahead]
                ahead += 1
                if spare.future is not None and spare.keys is None and spare.future.cancel():
                    spare.keys = signing_keys(spare.entries, keys)
                    self.taken_back += len(spare.entries)
            if step.keys is None:
                try:
                    step.keys = step.future.result()
                except BrokenProcessPool as e:
                    raise BundleError(f"signature workers stopped: {e}") from e
            yield from step.keys
            plan[i] = _Chunk([], None)  # let the answered chunk go


class _Chunk:
    """Entries sent to a worker (``future``) or left to the ordered pass (``future`` None)."""

    def __init__(self, entries: list[bytes], future: Future[list[bytes | None]] | None) -> None:
        self.entries = entries
        self.future = future
        self.keys: list[bytes | None] | None = None
        """The answer, when this process took the chunk back from the workers."""
