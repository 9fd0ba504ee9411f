"""``examctl serve``: run a centre's HTTP service under uvicorn (DESIGN §9).

``serve --dir DIR [--host H] [--port P] [--tls-cert F --tls-key F]`` opens the centre with its
sequencer, binds the socket (port 0 picks a free one), prints one line naming the URL it serves,
and answers until SIGINT or SIGTERM.  The centre keeps the exam day: each day step is checked
before it is sequenced, the day is rebuilt from the log as the centre opens, and the day's
scorer runs with the service; then it stops taking requests, publishes what was
submitted and closes the centre.  With a certificate and key it speaks HTTPS only.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from api.cli.log import passphrase, passphrase_option
from api.listen import bind, stop_signals_end_the_run, url_of
from exam_core.errors import StoreError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
MAX_HEADER_EVENT_BYTES = 16 * 1024
"""uvicorn's own bound on a request head; the app refuses more than 8 KiB of headers first."""


def register(commands: Any) -> None:
    """Add ``serve`` to the ``examctl`` parser."""
    serve = commands.add_parser("serve", help="run the centre's HTTP service")
    serve.add_argument("--dir", required=True, type=Path, help="centre directory")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port",
        type=integer(0, 65535),
        default=DEFAULT_PORT,
        help=f"port, 0 for any (default {DEFAULT_PORT})",
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain: serve HTTPS")
    serve.add_argument("--tls-key", type=Path, help="PEM private key of the certificate")
    serve.add_argument(
        "--batch-ms",
        type=integer(0, 60_000),
        help="close a batch this long after its first entry (default: the centre's setting)",
    )
    serve.add_argument(
        "--max-blob-bytes",
        type=integer(1, 1 << 30),
        help="largest blob accepted (default 16 MiB)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn log level",
    )
    passphrase_option(serve)
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit code 0 after a clean stop.

    Raises:
        StoreError: bad options, a port that cannot be bound, or a centre that cannot open.
        KeyFormatError: the log key cannot be read (passphrase).
    """
    # Imported when run: the other commands do not load the web stack.
    import uvicorn  # noqa: PLC0415

    from api.http import Limits, create_app  # noqa: PLC0415
    from exam_core.centre.centre import Centre  # noqa: PLC0415
    from exam_core.exam_day.day_guard import centre_day_guard  # noqa: PLC0415

    if (args.tls_cert is None) != (args.tls_key is None):
        raise StoreError("--tls-cert and --tls-key go together")
    for path in (args.tls_cert, args.tls_key):
        if path is not None and not path.is_file():
            raise StoreError(f"no file {path}")
    limits = Limits() if args.max_blob_bytes is None else Limits(max_blob_bytes=args.max_blob_bytes)
    sock = bind(args.host, args.port)
    try:
        with Centre.open(
            args.dir,
            passphrase=passphrase(args),
            max_age_ms=args.batch_ms,
            guard=centre_day_guard,
        ) as centre:
            config = uvicorn.Config(
                create_app(centre, limits=limits),
                ssl_certfile=args.tls_cert,
                ssl_keyfile=args.tls_key,
                log_level=args.log_level,
                server_header=False,
                # Clients connect directly; behind a proxy, the proxy logs and forwards.
                proxy_headers=False,
                access_log=False,
                h11_max_incomplete_event_size=MAX_HEADER_EVENT_BYTES,
                timeout_graceful_shutdown=10,
            )
            server = uvicorn.Server(config)
            # What opening built (the day replayed from the log, the web stack) lives as long
            # as the service: frozen, full collections no longer walk it — each such walk held
            # every request for 40-80 ms, the upload latency's tail.
            gc.collect()
            gc.freeze()
            scheme = "https" if args.tls_cert is not None else "http"
            print(f"serving {centre.origin} on {url_of(sock, scheme)}", flush=True)
            with stop_signals_end_the_run():
                server.run(sockets=[sock])
    finally:
        sock.close()
    print("stopped", file=sys.stderr, flush=True)
    return 0
