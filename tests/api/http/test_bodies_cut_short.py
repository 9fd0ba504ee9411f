"""A client that stops in the middle of its request body: the served centre answers it as the
client's fault, logs no traceback, and keeps nothing of the body.

Uploads (a blob, a video to prove, an entry, a bundle) are read whole before anything is done
with them; a connection closed before its ``Content-Length`` was reached ended as an unhandled
``ClientDisconnect``, logged as an internal error with its traceback on every such request.
"""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

from starlette.requests import ClientDisconnect

from api.http.problems import problem_of as centre_problem_of
from api.monitor.problems import problem_of as monitor_problem_of
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.log.entry import parse_entry
from tests.api.http.served import Served

BODY = b"z" * 100_000
UPLOADS = (
    ("PUT", f"/blobs/{hashlib.sha256(BODY).hexdigest()}"),
    ("POST", "/evidence/video"),
    ("POST", "/entries"),
    ("POST", "/entries/bundle"),
)


def _send_half(host: str, port: int, method: str, path: str, token: str) -> None:
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: centre\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Length: {len(BODY)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head + BODY[:4_000])
        time.sleep(0.2)  # the route is reading the body when the client goes


def test_a_body_cut_short_is_the_client_s_end_not_a_server_error(tmp_path: Path) -> None:
    root = tmp_path / "centre"
    Centre.create(root, "exam.example/c/7").close()
    with Centre.open(root) as centre:
        token = TokenStore(centre.store.engine).issue("admin", "admin/a1")[0]
        size = centre.store.size()
    served = Served(root)
    try:
        host, port = served.url.rsplit("//", 1)[1].rsplit(":", 1)
        for method, path in UPLOADS:
            _send_half(host, int(port), method, path, token)
        time.sleep(0.3)
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert "ClientDisconnect" not in err
    assert "unhandled" not in err
    with Centre.open(root) as centre:
        # Serving registers the service's scorer key; nothing of the cut bodies came in.
        added = centre.store.entries(size, centre.store.size())
        assert [parse_entry(e).type for e in added] == ["key.registered"]
        assert centre.blobs.digests() == []


def test_both_services_answer_a_body_cut_short_as_the_client_s_fault() -> None:
    # The monitoring centre's witness reads its bodies the same way; its catch-all made the
    # disconnect an internal error, logged with its traceback.
    for problem_of in (centre_problem_of, monitor_problem_of):
        problem = problem_of(ClientDisconnect())
        assert (problem.type.name, problem.type.status) == ("bad-request", 400)
