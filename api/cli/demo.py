"""``examctl demo``: the exam day on the embedded default (SQLite, emulated devices)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from api.cli.demo_day import run_demo


def register(commands: Any) -> None:
    """Add ``demo`` to the ``examctl`` parser."""
    parser = commands.add_parser("demo", help="run the exam-day demonstration")
    parser.add_argument("--dir", required=True, help="directory for the demonstration centre")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    return run_demo(directory)
