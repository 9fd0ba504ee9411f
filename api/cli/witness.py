"""``examctl witness``: name the witnesses that cosign a centre's checkpoints (DESIGN §3.4).

- ``witness add --dir DIR --vkey VKEY --url URL [--quorum N]``: add a witness — its C2SP
  ``cosignature/v1`` vkey and the URL prefix under which it serves ``add-checkpoint`` — to the
  centre's tlog-policy; the quorum defaults to every witness named.  The centre sends every
  new checkpoint to it from the next time it is opened.
- ``witness status --dir DIR``: how far each witness has cosigned the log.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.log import passphrase, passphrase_option
from exam_core.centre.centre import Centre
from exam_core.centre.witnessing import describe
from exam_core.log.policy import render_policy

STATUS_WAIT_S = 2.0


def _quorum(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("the quorum is at least 1")
    return value


def register(commands: Any) -> None:
    """Add the ``witness`` group to the ``examctl`` parser."""
    witness = commands.add_parser("witness", help="name the witnesses that cosign the log")
    actions = witness.add_subparsers(dest="witness_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="name a witness in the centre's policy")
    add.add_argument("--dir", required=True, type=Path, help="centre directory")
    add.add_argument("--vkey", required=True, help="the witness's cosignature/v1 vkey")
    add.add_argument("--url", required=True, help="URL prefix of its add-checkpoint endpoint")
    add.add_argument(
        "--quorum", type=_quorum, help="witnesses that must cosign (default: every one named)"
    )
    passphrase_option(add)
    add.set_defaults(run=run_add)
    status = actions.add_parser("status", help="how far each witness has cosigned the log")
    status.add_argument("--dir", required=True, type=Path, help="centre directory")
    passphrase_option(status)
    status.set_defaults(run=run_status)


def run_add(args: argparse.Namespace) -> int:
    """Add the witness and print the centre's new policy.

    Raises:
        KeyFormatError: the vkey is not a cosignature/v1 vkey.
        CheckpointError: the witness is named already or the quorum is out of range.
        StoreError: the URL is not an http(s) URL, or the centre cannot be opened.
    """
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        policy = centre.add_witness(args.vkey, args.url, args.quorum)
    print(render_policy(policy).decode(), end="")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Print each witness's progress (after giving the feeds a moment to catch up)."""
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        if not centre.config.witnesses:
            print("no witness is named in this centre's policy")
            return 0
        centre.witnessing.wait_witnessed(centre.store.size(), STATUS_WAIT_S)
        print(describe(centre.witnessing.status()))
    return 0
