"""Running the monitor's app with uvicorn on an already bound socket: in the foreground
(``examctl monitor serve``, which prints the URL the socket holds first) or in a background
thread (tests and the demo, on loopback)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from api.listen import stop_signals_end_the_run, url_of

STARTUP_TIMEOUT_S = 10.0


def serve(app: FastAPI, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` (bound by ``api.listen.bind``) until SIGINT or SIGTERM; returns
    once uvicorn has shut down (the app's shutdown handlers run), so the caller can close what
    it opened."""
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    with stop_signals_end_the_run():
        uvicorn.Server(config).run(sockets=[sock])


class BackgroundServer:
    """``app`` served by uvicorn in a daemon thread on ``host`` (port 0: any free port)."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> None:
        self._socket = socket.create_server((host, port))
        self.url = url_of(self._socket)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> BackgroundServer:
        """Start serving; returns once the server accepts connections.

        Raises:
            RuntimeError: the server did not start within ``STARTUP_TIMEOUT_S``.
        """
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop accepting, finish the requests in flight, and release the port."""
        self._server.should_exit = True
        self._thread.join()
        self._socket.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
