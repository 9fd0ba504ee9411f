"""Waiting on the event loop for many of the writer's futures with one wake-up, not one each.

Why it exists: ``asyncio.wrap_future`` gives each ``concurrent.futures.Future`` its own
callback, and each callback wakes the event loop from the writer's thread (a write to the
loop's wake-up pipe while the writer holds the interpreter lock).  A bundle of 256 entries
resolved in one batch woke the loop 256 times; ``all_done`` wakes it once, when the last of
them is done, and the route reads their outcomes in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from concurrent.futures import Future


def all_done(futures: Sequence[Future[int]]) -> asyncio.Future[None]:
    """An asyncio future of the running loop, resolved once every one of ``futures`` is done
    (with a result or an exception; read them from the futures themselves)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    if not futures:
        done.set_result(None)
        return done
    remaining = [len(futures)]
    lock = threading.Lock()

    def resolve() -> None:
        if not done.done():
            done.set_result(None)

    def one_done(_future: Future[int]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            # A loop closed while the writer finished has nobody waiting on it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(resolve)

    for future in futures:
        future.add_done_callback(one_done)
    return done


__all__ = ["all_done"]
