"""``examctl``: the command line of exam-integrity.

Each group of commands lives in its own module and adds its sub-commands here; a command
returns its exit code.  Domain errors from bad input end as one line on stderr with exit 2,
never as a traceback; so do usage errors and out-of-range numbers (``api.cli.arguments``).
Every file a command reads goes through ``exam_core.input_file``: bounded, regular files only.

The groups are imported when the parser is built, not when this module is: a worker process
that ``examctl audit`` spawns re-imports the program's main module, and must not pay for the
database, device and scoring stacks it never uses.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from allocation.errors import AllocationError
from api.cli.arguments import OneLineParser
from api.cli.output_dir import OutputDirError
from api.client.errors import ClientError
from devices.errors import DeviceError
from exam_core.errors import ExamCoreError

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="examctl",
        description="Driving-exam integrity: signed log, allocation, devices, scoring, audit.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from api.cli import (  # noqa: PLC0415
        admin,
        alloc,
        audit,
        beacon,
        demo,
        devices,
        evidence,
        log,
        monitor,
        receipt,
        score,
        serve,
        tokens,
        witness,
    )

    for module in (
        log,
        witness,
        beacon,
        admin,
        tokens,
        alloc,
        devices,
        score,
        audit,
        evidence,
        receipt,
        serve,
        monitor,
        demo,
    ):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
