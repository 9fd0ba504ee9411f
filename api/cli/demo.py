"""``examctl demo``: the exam day over real HTTP on loopback (SQLite, emulated devices)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.cli.arguments import integer
from api.cli.demo_day import CANDIDATES, EXAMINERS, run_demo


def register(commands: Any) -> None:
    """Add ``demo`` to the ``examctl`` parser."""
    parser = commands.add_parser("demo", help="run the exam-day demonstration")
    parser.add_argument("--dir", required=True, help="directory for the demonstration centre")
    parser.add_argument(
        "--candidates",
        type=integer(8, 2000),
        default=CANDIDATES,
        help=f"candidates booked over the four sessions (default {CANDIDATES})",
    )
    parser.add_argument(
        "--examiners",
        type=integer(4, 200),
        default=EXAMINERS,
        help=f"examiners on duty over the four sessions (default {EXAMINERS})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return run_demo(directory, candidates=args.candidates, examiners=args.examiners)
    except RuntimeError as e:  # a machine of the day failed: each failure is in the message
        print(f"examctl: demo: {e}", file=sys.stderr)
        return 1
