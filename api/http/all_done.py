"""Waiting on the event loop for many of the writer's futures with one wake-up, not one each.

Why it exists: ``asyncio.wrap_future`` gives each ``concurrent.futures.Future`` its own
callback, and each callback wakes the event loop from the writer's thread (a write to the
loop's wake-up pipe while the writer holds the interpreter lock).  A bundle of 256 entries
resolved in one batch woke the loop 256 times; ``all_done`` wakes it once, when the last of
them is done, and the route reads their outcomes in order.

It also bounds the wait itself (``timeout``), with a timer on the loop rather than
``asyncio.wait_for`` over ``asyncio.shield``: those wrap the wait in further tasks and futures,
each one more pass of a busy event loop between the writer's answer and the client's — under
the exam day's load, tens of milliseconds of an upload's tail.  Nothing here cancels the
writer's futures: a client that hangs up or times out leaves its entries to be sequenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence
from concurrent.futures import Future


def all_done(futures: Sequence[Future[int]], timeout: float | None = None) -> asyncio.Future[None]:
    """An asyncio future of the running loop, resolved once every one of ``futures`` is done
    (with a result or an exception; read them from the futures themselves); failed with
    ``TimeoutError`` if they are not all done within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    if not futures:
        done.set_result(None)
        return done
    if timeout is not None:
        timer = loop.call_later(timeout, _expire, done)
        done.add_done_callback(lambda _done: timer.cancel())
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


def _expire(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_exception(TimeoutError())


__all__ = ["all_done"]
