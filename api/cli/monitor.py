"""``examctl monitor``: the monitoring centre (DESIGN §10) — its directory, its logs, its server.

- ``monitor init --dir DIR [--name NAME] [--database-url URL]``: create the directory, the
  witness, mirror and beacon keys (distinct names under NAME) and the beacon secret; print the
  three public keys (the witness vkey is what centres name with ``examctl witness add``);
- ``monitor add-centre --dir DIR URL VKEY [--token TOKEN]``: watch a centre's log — its
  checkpoints are cosigned only for logs added here (tlog-witness: 404 for any other origin);
  ``TOKEN`` (a centre token of role ``monitor``) lets the mirror fetch its manifests, kept in
  ``DIR/centre-tokens.json`` (mode 0600);
- ``monitor serve --dir DIR [--host H] [--port P]``: bind the socket (port 0 picks a free
  one), print the URL it serves (the port it bound), serve the witness, the mirror's
  checkpoints and findings, and the beacon over HTTP (OpenAPI at ``/openapi.json``), and run
  the mirror loop beside them, until SIGINT or SIGTERM (then close the monitor, exit 0); every
  pull feeds the warnings (``exam_core.monitoring.mirror_feed``);
- ``monitor mirror --dir DIR [--once] [--workers N]``: run the mirror loop alone (another
  process sharing the centres through the database), or pull every due centre once and print
  what it did; ``N`` processes verify entry signatures beside it.  Each pull feeds the
  warnings, as under ``serve``.
- ``monitor warnings``, ``monitor ack``, ``monitor close``: the graded warnings
  (``api.cli.monitor_warnings``).
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from typing import Any

from api.cli import monitor_warnings
from api.cli.arguments import integer
from api.cli.log import passphrase, passphrase_option
from api.listen import bind, url_of
from exam_core.centre.witness_http import url_problem
from exam_core.errors import StoreError
from exam_core.monitoring.centre_tokens import check_token, store_token
from exam_core.monitoring.home import create_monitor, open_monitor
from exam_core.monitoring.mirror_feed import feed_warnings

DEFAULT_NAME = "monitor.example"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def register(commands: Any) -> None:
    """Add the ``monitor`` group to the ``examctl`` parser."""
    monitor = commands.add_parser(
        "monitor", help="the monitoring centre: witness, mirror and beacon"
    )
    actions = monitor.add_subparsers(dest="monitor_command", required=True, metavar="ACTION")

    init = actions.add_parser("init", help="create a monitoring centre directory")
    init.add_argument("--dir", required=True, type=Path, help="new (empty) directory")
    init.add_argument(
        "--name",
        default=DEFAULT_NAME,
        help=f"the monitoring centre's name, a schema-less URL (default {DEFAULT_NAME}); "
        "its keys are NAME/witness, NAME/mirror and NAME/beacon",
    )
    init.add_argument(
        "--database-url", help="PostgreSQL URL (default: SQLite file monitor.db in DIR)"
    )
    passphrase_option(init)
    init.set_defaults(run=run_init)

    add = actions.add_parser("add-centre", help="watch (witness and mirror) a centre's log")
    add.add_argument("--dir", required=True, type=Path, help="monitoring centre directory")
    add.add_argument("url", metavar="URL", help="the URL prefix the centre serves its log under")
    add.add_argument("vkey", metavar="VKEY", help="the centre's log vkey (key name = origin)")
    add.add_argument(
        "--token",
        help="a bearer token of role monitor on the centre (reads its manifests for the "
        "statistics; kept in DIR/centre-tokens.json, mode 0600)",
    )
    passphrase_option(add)
    add.set_defaults(run=run_add_centre)

    serve = actions.add_parser("serve", help="serve the witness and the beacon over HTTP")
    serve.add_argument("--dir", required=True, type=Path, help="monitoring centre directory")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument(
        "--port",
        type=integer(0, 65535),
        default=DEFAULT_PORT,
        help=f"port, 0 for any (default {DEFAULT_PORT})",
    )
    serve.add_argument(
        "--no-mirror", action="store_true", help="serve without running the mirror loop"
    )
    serve.add_argument(
        "--mirror-workers",
        type=int,
        default=0,
        help="processes that verify the mirror's entry signatures (default 0)",
    )
    passphrase_option(serve)
    serve.set_defaults(run=run_serve)

    mirror = actions.add_parser("mirror", help="run the mirror loop (no HTTP server)")
    mirror.add_argument("--dir", required=True, type=Path, help="monitoring centre directory")
    mirror.add_argument(
        "--once", action="store_true", help="pull every due centre once, print, and exit"
    )
    mirror.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes that verify entry signatures beside this one (default 0)",
    )
    passphrase_option(mirror)
    mirror.set_defaults(run=run_mirror)

    monitor_warnings.register(actions)


def run_init(args: argparse.Namespace) -> int:
    """Create the monitoring centre and print its public keys.

    Raises:
        StoreError: the directory is not empty, the name is invalid or the database fails.
    """
    create_monitor(args.dir, args.name, database_url=args.database_url, passphrase=passphrase(args))
    with open_monitor(args.dir, passphrase=passphrase(args)) as monitor:
        print(f"witness {monitor.witness.vkey}")
        print(f"mirror {monitor.mirror_vkey}")
        print(f"beacon {monitor.beacon.vkey}")
    return 0


def run_add_centre(args: argparse.Namespace) -> int:
    """Watch the centre's log.

    Raises:
        KeyFormatError: the vkey is not an Ed25519 log key.
        StoreError: no request can be sent to the URL (``witness_http.url_problem``), or the
            origin is watched with another key or URL.
    """
    url = args.url.rstrip("/")
    problem = url_problem(url)
    if problem is not None:
        raise StoreError(f"centre URL {args.url!r}: {problem}")
    if args.token is not None:
        check_token(args.token)  # before the centre is added: a refusal adds nothing
    with open_monitor(args.dir, passphrase=passphrase(args)) as monitor:
        log = monitor.add_log(args.vkey, url, time.time_ns() // 1_000_000)
        if args.token is not None:
            store_token(monitor.root, log.origin, args.token)
    print(f"watching {log.origin} at {log.url}")
    if args.token is None:
        print("no --token: its manifests are not fetched and its statistics are not run")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit code 0 after a clean stop.

    Raises:
        StoreError: the port cannot be bound or the monitoring centre cannot be opened.
    """
    from api.monitor.app import create_app  # noqa: PLC0415 - the web stack, only when serving
    from api.monitor.mirror_loop import MirrorLoop  # noqa: PLC0415
    from api.monitor.server import serve  # noqa: PLC0415

    sock = bind(args.host, args.port)
    try:
        with open_monitor(args.dir, passphrase=passphrase(args)) as monitor:
            print(f"monitoring centre {monitor.config.name} on {url_of(sock)}", flush=True)
            app = create_app(monitor)
            if not args.no_mirror:
                feed = feed_warnings(monitor)
                loop = MirrorLoop(monitor.mirror, workers=args.mirror_workers, tokens=feed.tokens)
                # Started and stopped with the server: the loop and its worker processes stop
                # in uvicorn's shutdown, before the monitor closes.
                app.router.on_startup.append(loop.start)
                app.router.on_shutdown.append(loop.stop)
            serve(app, sock)
    finally:
        sock.close()
    return 0


def run_mirror(args: argparse.Namespace) -> int:
    """Run the mirror loop until interrupted, or one round with ``--once``.

    Raises:
        StoreError: the monitoring centre cannot be opened (or, with ``--once``, its database
            fails).
    """
    from api.monitor.mirror_loop import MirrorLoop  # noqa: PLC0415 - httpx, only when mirroring

    with open_monitor(args.dir, passphrase=passphrase(args)) as monitor:
        feed = feed_warnings(monitor)
        loop = MirrorLoop(monitor.mirror, workers=max(0, args.workers), tokens=feed.tokens)
        if not args.once:
            print(f"mirror {monitor.mirror.name} running", flush=True)
            signal.signal(signal.SIGTERM, lambda _signum, _frame: loop.request_stop())
            try:
                loop.run()
            finally:
                loop.stop()
            return 0
        try:
            outcomes = loop.round()
        finally:
            loop.stop()
        for o in outcomes:
            state = "refused" if o.refused else "unreachable" if not o.contacted else "ok"
            print(
                f"{o.origin} {state} tree={o.tree_size} entries={o.entries_size} "
                f"findings={len(o.findings)}" + (f" ({o.error})" if o.error else "")
            )
    return 0
