"""A "centre" (or monitor, or witness) served over real HTTP that answers what no server should.

``HostileCentre`` answers each path with the bytes given to it — a web page, JSON of another
shape — or floods it: a body longer than its reader takes, with an honest ``Content-Length``,
chunked without end, under a ``Content-Length`` that says less than is sent, or compressed (a
few bytes that decode to hundreds of megabytes).  Every HTTP
client of the project is held to these answers.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Framing = Literal["honest", "chunked", "lying", "gzip"]

FLOOD_CHUNK = b"x" * 65536
ENDLESS = 1 << 30
"""As good as endless: a client that reads it all has no bound (and the test would time out)."""


@functools.cache
def gzipped_zeros(size: int) -> bytes:
    """``size`` zero bytes gzipped, twice (``Content-Encoding: gzip, gzip``): under a kilobyte
    for 256 MiB, which a reader that decodes gets whole from any piece of it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    once = b"".join(
        packer.compress(zeros[: min(len(zeros), size - done)])
        for done in range(0, size, len(zeros))
    )
    return gzip.compress(once + packer.flush(), 9)


class HostileCentre:
    """Answers ``GET``/``POST`` of each path with the bytes in ``answers``, with the status in
    ``statuses`` (200 by default), or floods it as set in ``floods``."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}
        self.statuses: dict[str, int] = {}
        self.floods: dict[str, tuple[Framing, int]] = {}
        answers, statuses, floods = self.answers, self.statuses, self.floods

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.split("?")[0]
                if path in floods:
                    self.close_connection = True
                    # the client hanging up mid-flood is what a bounded reader does
                    with contextlib.suppress(OSError):
                        self._flood(*floods[path])
                    return
                body = answers.get(path, b"{}")
                self.send_response(statuses.get(path, 200))
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _flood(self, framing: Framing, size: int) -> None:
                """``size`` bytes of ``x`` under ``framing``; a lying length declares 100; gzip
                sends ``size`` zero bytes, compressed twice."""
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if framing == "gzip":
                    body = gzipped_zeros(size)
                    self.send_header("Content-Encoding", "gzip, gzip")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if framing == "chunked":
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(size if framing == "honest" else 100))
                self.end_headers()
                sent = 0
                while sent < size:
                    chunk = FLOOD_CHUNK[: size - sent]
                    if framing == "chunked":
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    else:
                        self.wfile.write(chunk)
                    sent += len(chunk)
                if framing == "chunked":
                    self.wfile.write(b"0\r\n\r\n")

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, path: str, body: object) -> None:
        self.answers[path] = body if isinstance(body, bytes) else json.dumps(body).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
