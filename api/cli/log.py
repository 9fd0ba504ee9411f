"""``examctl`` commands that create and feed a centre's log.

- ``init --dir DIR --origin ORIGIN``: create a centre (config, database, admin and log keys) and
  print the log's vkey, which auditors and the monitoring centre pin;
- ``keys new --dir DIR --role ROLE --name NAME``: create a key and register it in the log;
- ``keys register --dir DIR --role ROLE --name NAME --vkey VKEY``: register a public key that
  its device (tablet, in-car unit, gateway) made, the private half never leaving the device;
- ``log append --dir DIR --count N [--actor NAME]``: append N signed ``demo.event`` entries
  (demonstrations, tests, benchmarks), printing each index as it is published;
- ``log export --dir DIR --out BUNDLE [--wait-witnesses S]``: write the audit bundle of
  DESIGN §3.5, after waiting up to S seconds for the witness quorum on the newest checkpoint.

Passphrases never appear on the command line: ``--passphrase-env VAR`` names an environment
variable that holds it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from exam_core.centre.centre import Centre
from exam_core.centre.witnessing import describe
from exam_core.errors import KeyFormatError, StoreError
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import ADMIN, ALL_ROLES, DEMO, Role

DEFAULT_DEMO_ACTOR = "demo/examctl"
MAX_APPEND_COUNT = 1_000_000
IN_FLIGHT = 4096
"""Entries signed and queued ahead of the one being waited for: memory stays bounded
whatever the count, and the sequencer still sees full batches."""
DEFAULT_WITNESS_WAIT_S = 10.0


def register(commands: Any) -> None:
    """Add this group's sub-commands to the ``examctl`` parser."""
    init = commands.add_parser("init", help="create a centre directory and its log")
    init.add_argument("--dir", required=True, type=Path, help="new (empty) centre directory")
    init.add_argument("--origin", required=True, help="log origin, e.g. exam.example/c/370100-01")
    init.add_argument(
        "--database-url", help="PostgreSQL URL (default: SQLite file log.db in the directory)"
    )
    passphrase_option(init)
    init.set_defaults(run=run_init)

    keys = commands.add_parser("keys", help="manage the centre's signing keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    new = keys_commands.add_parser("new", help="create a key and register it in the log")
    new.add_argument("--dir", required=True, type=Path, help="centre directory")
    new.add_argument("--role", required=True, choices=sorted(ALL_ROLES), help="the key's role")
    new.add_argument("--name", required=True, help="key name, full or relative to the origin")
    passphrase_option(new)
    new.set_defaults(run=run_keys_new)
    register = keys_commands.add_parser(
        "register", help="register a public key made on its device (tablet, in-car unit, gateway)"
    )
    register.add_argument("--dir", required=True, type=Path, help="centre directory")
    register.add_argument(
        "--role", required=True, choices=sorted(ALL_ROLES - {ADMIN}), help="the key's role"
    )
    register.add_argument("--name", required=True, help="key name, full or relative to the origin")
    register.add_argument("--vkey", required=True, help="the device's vkey (name+id+key)")
    passphrase_option(register)
    register.set_defaults(run=run_keys_register)

    log = commands.add_parser("log", help="append to and export the centre's log")
    log_commands = log.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    append = log_commands.add_parser("append", help="append N signed demo.event entries")
    append.add_argument("--dir", required=True, type=Path, help="centre directory")
    append.add_argument(
        "--count",
        required=True,
        type=integer(1, MAX_APPEND_COUNT),
        help=f"number of entries (1..{MAX_APPEND_COUNT})",
    )
    append.add_argument(
        "--actor",
        help=f"signing key (role demo or admin); default {DEFAULT_DEMO_ACTOR}, created if absent",
    )
    append.add_argument("--quiet", action="store_true", help="print only the summary line")
    passphrase_option(append)
    append.set_defaults(run=run_log_append)

    export = log_commands.add_parser("export", help="write the audit bundle of the log")
    export.add_argument("--dir", required=True, type=Path, help="centre directory")
    export.add_argument("--out", required=True, type=Path, help="bundle directory to write")
    export.add_argument(
        "--wait-witnesses",
        type=float,
        default=DEFAULT_WITNESS_WAIT_S,
        metavar="SECONDS",
        help="wait this long for the witness quorum on the newest checkpoint "
        f"(default {DEFAULT_WITNESS_WAIT_S:g}; 0: export at once)",
    )
    passphrase_option(export)
    export.set_defaults(run=run_log_export)


def passphrase_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--passphrase-env VAR`` to a command that opens the centre's key files."""
    parser.add_argument(
        "--passphrase-env",
        metavar="VAR",
        help="environment variable holding the passphrase of the key files",
    )


def passphrase(args: argparse.Namespace) -> bytes | None:
    """The passphrase named by ``--passphrase-env``, or None.

    Raises:
        KeyFormatError: the named environment variable is not set.
    """
    var = args.passphrase_env
    if var is None:
        return None
    value = os.environ.get(var)
    if value is None:
        raise KeyFormatError(f"environment variable {var} (the passphrase) is not set")
    # The bytes the environment holds: Python decodes a value that is not UTF-8 with
    # surrogateescape, which str.encode() refuses with a traceback.
    return os.fsencode(value)


def run_init(args: argparse.Namespace) -> int:
    with Centre.create(
        args.dir, args.origin, database_url=args.database_url, passphrase=passphrase(args)
    ) as centre:
        print(centre.log_vkey)
    return 0


def run_keys_new(args: argparse.Namespace) -> int:
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        signer = centre.register_key(args.name, Role(args.role))
        print(signer.vkey)
    return 0


def run_keys_register(args: argparse.Namespace) -> int:
    """Register a device's vkey under ``--name`` and ``--role``.

    Raises:
        KeyFormatError: the vkey is malformed or names another key.
        StoreError: the key exists already, or the role is not one a device may have.
        EntryError: ingest refused the registration.
    """
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        index = centre.register_public_key(args.name, Role(args.role), args.vkey)
        print(f"registered {centre.key_name(args.name)} as {args.role} at index {index}")
    return 0


def run_log_append(args: argparse.Namespace) -> int:
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        # Claimed before anything is appended: a second run signing as the same actor is
        # refused here rather than failing part-way with bad_seq.
        if args.actor is None:
            try:
                signer = centre.claim_actor(DEFAULT_DEMO_ACTOR)
            except KeyFormatError:
                centre.register_key(DEFAULT_DEMO_ACTOR, DEMO)
                signer = centre.claim_actor(DEFAULT_DEMO_ACTOR)
        else:
            signer = centre.claim_actor(args.actor)
        first = last = None
        for index in _append_demo_events(centre, signer, args.count):
            if not args.quiet:
                # Printed once durable and published: a reader of this output never sees an
                # index that a crash could take back.
                print(index, flush=True)
            first = index if first is None else first
            last = index
        print(
            f"appended {args.count} entries as {signer.name}: indices {first}..{last}, "
            f"log size {centre.sequencer.published_size()}",
            file=sys.stderr,
        )
    return 0


def _append_demo_events(centre: Centre, signer: Ed25519Signer, count: int) -> Iterator[int]:
    """The indices of ``count`` new demo events, in order, never more than ``IN_FLIGHT`` queued."""
    pending: deque[Future[int]] = deque()
    for n in range(count):
        pending.append(centre.submit(signer, "demo.event", {"n": n}))
        if len(pending) >= IN_FLIGHT:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def run_log_export(args: argparse.Namespace) -> int:
    # Imported when run, so the other commands work in an installation without the exporter.
    try:
        export = importlib.import_module("exam_core.centre.export")
    except ImportError as e:
        raise StoreError("log export is not available in this installation") from e
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        summary = export.export_bundle(centre, args.out, args.wait_witnesses)
        unwitnessed = centre.witnessing.required and (
            centre.witnessing.newest_witnessed(summary.tree_size) is None
        )
        if unwitnessed:
            print(
                "examctl: warning: the newest checkpoint does not carry the witness quorum; "
                f"the audit will say so.\n{describe(centre.witnessing.status())}",
                file=sys.stderr,
            )
    print(f"bundle written to {args.out}")
    return 0
