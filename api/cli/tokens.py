"""``examctl tokens``: the bearer tokens that let people and devices read from the centre.

- ``tokens new --dir DIR --role ROLE --name NAME`` makes a token for the actor NAME (full, or
  relative to the origin) and prints it once on stdout; only its hash is kept;
- ``tokens revoke --dir DIR (--id ID | --name NAME)`` revokes one token, or every token of an
  actor;
- ``tokens list --dir DIR`` shows every token's id, role, actor and state (never a secret).

These commands open only the centre's database, not its keys or sequencer.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from exam_core.errors import StoreError


def register(commands: Any) -> None:
    """Add the ``tokens`` group to the ``examctl`` parser."""
    from api.http.permissions import TOKEN_ROLES  # noqa: PLC0415

    tokens = commands.add_parser("tokens", help="manage bearer tokens for the HTTP service")
    actions = tokens.add_subparsers(dest="tokens_command", required=True, metavar="ACTION")
    new = actions.add_parser("new", help="make a token and print it once")
    new.add_argument("--dir", required=True, type=Path, help="centre directory")
    new.add_argument("--role", required=True, choices=TOKEN_ROLES, help="what it may read")
    new.add_argument("--name", required=True, help="the actor, full or relative to the origin")
    new.set_defaults(run=run_tokens_new)

    revoke = actions.add_parser("revoke", help="revoke a token, or every token of an actor")
    revoke.add_argument("--dir", required=True, type=Path, help="centre directory")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", help="the token's public id (16 hex digits)")
    which.add_argument("--name", help="revoke every live token of this actor")
    revoke.set_defaults(run=run_tokens_revoke)

    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--dir", required=True, type=Path, help="centre directory")
    listing.set_defaults(run=run_tokens_list)


def _open(root: Path) -> tuple[str, Any]:
    from exam_core.centre.config import database_url, load_config  # noqa: PLC0415
    from exam_core.centre.store import LogStore  # noqa: PLC0415
    from exam_core.centre.tokens import TokenStore  # noqa: PLC0415
    from exam_core.db.engine import make_engine  # noqa: PLC0415

    config = load_config(root)
    store = LogStore.open(make_engine(database_url(root, config)))  # migrates
    return config.origin, TokenStore(store.engine)


def run_tokens_new(args: argparse.Namespace) -> int:
    """Make a token and print it once.

    Raises:
        StoreError: not a centre, an invalid name, or the database fails.
    """
    from exam_core.centre.config import full_key_name  # noqa: PLC0415

    origin, tokens = _open(args.dir)
    token, record = tokens.issue(args.role, full_key_name(origin, args.name))
    print(token, flush=True)
    print(
        f"token {record.token_id} for {record.actor} as {record.role}; it is shown only now",
        file=sys.stderr,
    )
    return 0


def run_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke one token or every token of an actor.

    Raises:
        StoreError: not a centre, no such token, or the database fails.
        TokenError: the id is not 16 hex digits.
    """
    from exam_core.centre.config import full_key_name  # noqa: PLC0415

    origin, tokens = _open(args.dir)
    if args.id is not None:
        record = tokens.revoke(args.id)
        if record is None:
            raise StoreError(f"no token {args.id}")
        revoked = [record]
    else:
        revoked = tokens.revoke_actor(full_key_name(origin, args.name))
    for record in revoked:
        print(f"revoked {record.token_id} ({record.role}, {record.actor})")
    if not revoked:
        print("no live token of that actor", file=sys.stderr)
    return 0


def run_tokens_list(args: argparse.Namespace) -> int:
    """List every token without its secret.

    Raises:
        StoreError: not a centre, or the database fails.
    """
    _origin, tokens = _open(args.dir)
    for record in tokens.list():
        state = "live" if record.revoked_ms is None else f"revoked at {record.revoked_ms}"
        print(f"{record.token_id}  {record.role:<10} {record.actor}  {state}")
    return 0
