"""A machine's network link that can drop: an httpx transport that can be switched off.

An in-car unit drives through places without coverage; while its link is down every request
fails as a dropped connection would (``httpx.ConnectError``), and the client's retries wait it
out.  The demonstration drops one car's link mid-exam and the tests drop it on purpose; the
unit's queue (``api.client.RemoteLog``) must then lose nothing and duplicate nothing.
"""

from __future__ import annotations

import threading

import httpx


class DroppableLink(httpx.BaseTransport):
    """An HTTP transport with a switch: ``drop()`` and ``restore()``."""

    def __init__(self, inner: httpx.BaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else httpx.HTTPTransport()
        self._up = threading.Event()
        self._up.set()
        self.refused_while_down = 0

    @property
    def up(self) -> bool:
        return self._up.is_set()

    def drop(self) -> None:
        self._up.clear()

    def restore(self) -> None:
        self._up.set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self._up.is_set():
            self.refused_while_down += 1
            raise httpx.ConnectError("no coverage: the link is down", request=request)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
