"""``examctl demo``: the main job on the embedded default (SQLite, emulated devices)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add ``demo`` to the ``examctl`` parser."""
    parser = commands.add_parser("demo", help="run the exam-day demonstration")
    parser.add_argument("--dir", required=True, help="directory of the demonstration centre")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(f"demo centre at {args.dir}: nothing to show yet")
    return 0
