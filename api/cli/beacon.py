"""``examctl beacon``: pin the randomness beacon a centre's allocations draw on (DESIGN §4.3).

- ``beacon add --dir DIR --vkey VKEY``: pin a hash-chain beacon's key (the monitoring centre's
  ``NAME/beacon`` vkey, printed by ``examctl monitor init``) in the centre's tlog-policy as a
  ``beacon <vkey>`` line.  An auditor pinning that policy then accepts a manifest's beacon
  commitment only when that key signed it, and the allocator checks the same before drawing.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.log import passphrase, passphrase_option
from exam_core.centre.centre import Centre
from exam_core.log.policy import render_policy


def register(commands: Any) -> None:
    """Add the ``beacon`` group to the ``examctl`` parser."""
    beacon = commands.add_parser("beacon", help="pin the beacon the allocations draw on")
    actions = beacon.add_subparsers(dest="beacon_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="pin a hash-chain beacon key in the centre's policy")
    add.add_argument("--dir", required=True, type=Path, help="centre directory")
    add.add_argument("--vkey", required=True, help="the beacon's Ed25519 note vkey")
    passphrase_option(add)
    add.set_defaults(run=run_add)


def run_add(args: argparse.Namespace) -> int:
    """Pin the key and print the centre's new policy.

    Raises:
        KeyFormatError: the vkey is not an Ed25519 note vkey.
        StoreError: the key is pinned already, or the centre cannot be opened.
    """
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        policy = centre.add_beacon(args.vkey)
    print(render_policy(policy).decode(), end="")
    return 0
