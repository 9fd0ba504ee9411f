"""The listening socket of a service examctl runs, and the line that names it.

``examctl serve`` (the centre) and ``examctl monitor serve`` (the monitoring centre) both bind
their socket before the app starts and print the URL they serve.  ``--port 0`` asks the OS for
any free port: the printed URL must name the port the socket actually holds, read back from it,
since whoever started the process reads that line to connect.  Both services also stop the same
way: uvicorn finishes the requests in flight on SIGINT or SIGTERM, then the caller closes what it
opened and exits 0.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from exam_core.errors import StoreError


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (port 0: any free port), not yet listening.

    Raises:
        StoreError: the address is not a host name, or cannot be resolved or bound (in use,
            not ours, no permission).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise StoreError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    except UnicodeError as e:
        # The resolver encodes a name as IDNA first: a label over 63 characters, an empty one
        # ("a..b") or argv bytes that are not UTF-8 fail there, before any OSError.
        raise StoreError(f"cannot listen on {host}:{port}: not a host name ({e})") from e
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise StoreError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def url_of(sock: socket.socket, scheme: str = "http") -> str:
    """The URL ``sock`` serves: the host and port it is bound to (an IPv6 host in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


@contextmanager
def stop_signals_end_the_run() -> Iterator[None]:
    """While inside, SIGINT and SIGTERM only end uvicorn's run, not the process.

    uvicorn shuts down gracefully on SIGINT or SIGTERM, then raises the signal again under the
    handlers it found: with these, that ends ``Server.run`` and the caller closes what it opened
    (a centre's sequencer drained, a monitor's database) instead of the process dying first.
    """
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignore(_sig: int, _frame: object) -> None:
    return None
