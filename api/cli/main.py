"""``examctl``: the command line of exam-integrity.

Each group of commands lives in its own module and adds its sub-commands here; a command
returns its exit code.  Domain errors from bad input end as one line on stderr with exit 2,
never as a traceback; so do usage errors and out-of-range numbers (``api.cli.arguments``).
Every file a command reads goes through ``exam_core.input_file``: bounded, regular files only.

The groups are imported when the parser is built, not when this module is: a worker process
that ``examctl audit`` spawns re-imports the program's main module, and must not pay for the
database, device and scoring stacks it never uses.  A run of one command imports that command's
group alone; ``examctl`` with no command, ``--help`` or an unknown command builds them all.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Mapping, Sequence

from allocation.errors import AllocationError
from api.cli.arguments import OneLineParser
from api.cli.output_dir import OutputDirError
from api.client.errors import ClientError
from devices.errors import DeviceError
from exam_core.errors import ExamCoreError

EXIT_BAD_INPUT = 2


GROUPS: Mapping[str, tuple[str, ...]] = {
    "log": ("init", "keys", "log"),
    "witness": ("witness",),
    "beacon": ("beacon",),
    "admin": ("admin",),
    "tokens": ("tokens",),
    "alloc": ("alloc",),
    "devices": ("emulate", "devices", "gateway"),
    "score": ("score",),
    "audit": ("audit",),
    "evidence": ("evidence",),
    "receipt": ("receipt",),
    "serve": ("serve",),
    "monitor": ("monitor",),
    "demo": ("demo",),
}
"""Module of ``api.cli`` → the commands it adds, in the order ``examctl --help`` lists them
(``tests/api/cli/test_main.py`` holds each module to its commands)."""

_MODULE_OF = {command: module for module, commands in GROUPS.items() for command in commands}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command group, or of ``command``'s group alone.

    One group is what a run of one command needs: ``examctl audit`` then imports the audit and
    its replayers, not the HTTP service, the device stack and the rest (1.5 s of start-up
    against 0.2 s, which an auditor's incremental run and every worker process would pay).
    """
    parser = OneLineParser(
        prog="examctl",
        description="Driving-exam integrity: signed log, allocation, devices, scoring, audit.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = [_MODULE_OF[command]] if command in _MODULE_OF else list(GROUPS)
    for name in wanted:
        importlib.import_module(f"api.cli.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words else None)
    args = parser.parse_args(words)
    try:
        code: int = args.run(args)
    except (ExamCoreError, AllocationError, DeviceError, OutputDirError, ClientError, OSError) as e:
        print(f"examctl: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
