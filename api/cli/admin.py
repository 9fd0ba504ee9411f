"""``examctl admin``: what a centre's administrator does before an exam day.

- ``admin import --dir DIR KIND FILE``: import examiners, candidates, vehicles, sessions, crews or
  bookings from a CSV file (the columns of each kind: ``exam_core.exam_day.imports``).  The file
  is imported whole or not at all; a refused file is listed problem by problem, each with its
  line, and the command exits with status 2.  Photos named in a candidates file are read from
  the file's folder.  The first import that needs it creates the centre secret
  (``personal-data.key``, mode 0600) that keyed hashes and sealed photos depend on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from api.cli.log import passphrase, passphrase_option
from exam_core.centre.centre import Centre
from exam_core.errors import ImportFileError
from exam_core.exam_day.csv_file import MAX_FILE_BYTES
from exam_core.exam_day.imports import KINDS, ImportContext, import_csv
from exam_core.exam_day.people import centre_secret_for
from exam_core.exam_day.photos import PhotoFolder

EXIT_REFUSED = 2
_NEEDS_SECRET = frozenset({"examiners", "candidates", "bookings"})


def register(commands: Any) -> None:
    """Add this group's sub-commands to the ``examctl`` parser."""
    admin = commands.add_parser("admin", help="prepare the exam day: people, vehicles, sessions")
    actions = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    imports = actions.add_parser("import", help="import a CSV file: all its rows or none")
    imports.add_argument("--dir", required=True, type=Path, help="centre directory")
    imports.add_argument("kind", choices=KINDS, help="what the file holds")
    imports.add_argument("file", type=Path, help="the CSV file (UTF-8)")
    passphrase_option(imports)
    imports.set_defaults(run=run_import)


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, reading no more than one byte past ``limit``."""
    with path.open("rb") as f:
        return f.read(limit + 1)


def run_import(args: argparse.Namespace) -> int:
    data = read_bounded(args.file, MAX_FILE_BYTES)
    with (
        Centre.open(args.dir, passphrase=passphrase(args)) as centre,
        Session(centre.store.engine) as db,
    ):
        secret = centre_secret_for(args.dir, db) if args.kind in _NEEDS_SECRET else None
        db.commit()
        context = ImportContext(
            origin=centre.origin,
            secret=secret,
            photos=PhotoFolder(args.file.parent),
            today=dt.datetime.now(dt.UTC).date(),
        )
        try:
            report = import_csv(db, args.kind, data, context)
        except ImportFileError as e:
            print(f"examctl: {args.file}: refused, nothing imported:", file=sys.stderr)
            for line, problem in e.problems:
                where = f"line {line}: " if line else ""
                print(f"  {where}{problem}", file=sys.stderr)
            return EXIT_REFUSED
    print(f"imported {report.rows} {report.kind} from {args.file}")
    return 0
