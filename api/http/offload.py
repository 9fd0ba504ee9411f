"""Blocking calls of the service's routes, run in the service's own worker threads.

Why it exists: a route that must wait on a file or the database (a token lookup, a blob's
fsync, a receipt) cannot do it on the event loop, which serves every other request.  Starlette's
``run_in_threadpool`` goes through anyio's capacity limiter, cancel scope and context copy on
each call — about as much CPU as the token lookup itself on the hot routes, each of which makes
one or two such trips a request.  ``in_thread`` hands the call to a plain thread pool with the
loop's ``run_in_executor`` instead: the same thread hop, a fraction of the bookkeeping.

As with anyio's worker threads, the interpreter waits at exit for the calls in flight (each
ends by its own timeout: a receipt's wait is bounded by the publication timeout).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WORKERS = 40
"""As many threads as anyio's default limiter allows: waits for a receipt may hold some."""

_pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="http-io")


async def in_thread(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``call(*args, **kwargs)`` in a worker thread, awaited on the running loop."""
    loop = asyncio.get_running_loop()
    if kwargs:
        return await loop.run_in_executor(_pool, lambda: call(*args, **kwargs))
    return await loop.run_in_executor(_pool, call, *args)


__all__ = ["in_thread"]
