"""Entry signature checks for the audit, spread over worker processes.

Re-verifying every actor's Ed25519 signature is nearly all of an audit's cost (tlog.md §5.2:
about 6,000 verifications per second per core), and it needs no order: which key is the
registered one at each point is decided later by the ordered registry pass.  So the audit
hands the entries to this pool in chunks, recomputes the tree while the workers verify, and then
consumes their answers in log order (``exam_core.audit.SignatureCheck``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType

from exam_core.audit import signing_keys
from exam_core.errors import BundleError

__all__ = ["ProcessSignatureCheck"]

DEFAULT_CHUNK = 2048
"""Entries per task: large enough that pickling is cheap next to verifying, small enough that
the ordered pass can start early."""


class ProcessSignatureCheck:
    """A ``SignatureCheck`` backed by a process pool; use it as a context manager."""

    def __init__(self, workers: int, chunk: int = DEFAULT_CHUNK) -> None:
        if workers < 1 or chunk < 1:
            raise RuntimeError("a signature pool needs at least one worker and one entry a task")
        self._workers = workers
        self._chunk = chunk
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessSignatureCheck:
        # "spawn": the workers share nothing with the auditing process but what they are sent.
        self._executor = ProcessPoolExecutor(
            max_workers=self._workers, mp_context=multiprocessing.get_context("spawn")
        )
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

    def __call__(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
    ) -> Iterator[bytes | None]:
        if self._executor is None:
            raise RuntimeError("use ProcessSignatureCheck as a context manager")
        key_table = dict(keys)
        futures = [
            self._executor.submit(signing_keys, list(entries[i : i + self._chunk]), key_table)
            for i in range(0, len(entries), self._chunk)
        ]
        return _in_order(futures)


def _in_order(futures: list[Future[list[bytes | None]]]) -> Iterator[bytes | None]:
    for future in futures:
        try:
            yield from future.result()
        except BrokenProcessPool as e:
            raise BundleError(f"signature workers stopped: {e}") from e
