"""``examctl admin``: what a centre's administrator does before an exam day.

- ``admin import --dir DIR KIND FILE``: import examiners, candidates, vehicles, sessions, crews or
  bookings from a CSV file (the columns of each kind: ``exam_core.exam_day.imports``).  The file
  is imported whole or not at all; a refused file is listed problem by problem, each with its
  line, and the command exits with status 2.  Photos named in a candidates file are read from
  the file's folder.  The first import that needs it creates the centre secret
  (``personal-data.key``, mode 0600) that keyed hashes and sealed photos depend on.
- ``admin room --dir DIR FILE``: configure a room or field from a JSON file with the fields of a
  ``room.configured`` entry (``room``, ``kind``, ``gateway``, ``jammers`` as
  ``[{"device": …, "bands": […]}]``, ``detectors``, ``canaries``, ``max_age_ms``); the
  administrator signs it into the log, then the centre's copy of the room is updated.  The
  gateway must be a registered, unrevoked gateway key (``rooms.check_room_gateway``, the rule
  the service's exam day applies to every ``room.configured`` it is sent; ``room_setup``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from api.cli.log import passphrase, passphrase_option
from exam_core.centre.centre import Centre
from exam_core.errors import CanonicalError, ExamDayError, ImportFileError, InputFileError
from exam_core.exam_day.csv_file import MAX_FILE_BYTES
from exam_core.exam_day.db_session import exam_day_session
from exam_core.exam_day.imports import KINDS, ImportContext, import_csv
from exam_core.exam_day.people import centre_secret_for
from exam_core.exam_day.photos import PhotoFolder
from exam_core.exam_day.room_setup import configure_room
from exam_core.exam_day.rooms import parse_room_configuration
from exam_core.input_file import read_input_file
from exam_core.log.canonical import parse_strict_json

EXIT_REFUSED = 2
MAX_ROOM_FILE_BYTES = 65_536
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
    room = actions.add_parser("room", help="configure a room or field (a signed room.configured)")
    room.add_argument("--dir", required=True, type=Path, help="centre directory")
    room.add_argument("file", type=Path, help="JSON file of the room's configuration")
    passphrase_option(room)
    room.set_defaults(run=run_room)


def run_import(args: argparse.Namespace) -> int:
    """Import one file; a refused file is listed on stderr and exits with ``EXIT_REFUSED``.

    Raises:
        InputFileError: the file is missing, not a regular file, or over ``MAX_FILE_BYTES``.
        ExamCoreError: the centre cannot be opened, or its secret is unusable.
    """
    data = read_input_file(args.file, limit=MAX_FILE_BYTES, what="import file")
    with (
        Centre.open(args.dir, passphrase=passphrase(args)) as centre,
        exam_day_session(centre) as db,
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


def read_room_file(path: Path) -> dict[str, object]:
    """The object in a room configuration file (at most ``MAX_ROOM_FILE_BYTES``).

    Raises:
        ExamDayError: (``room_config``) the file is not a regular file, is too large, is not
            strict JSON (integers only, no repeated name, bounded nesting), or is not an object.
    """
    try:
        data = read_input_file(path, limit=MAX_ROOM_FILE_BYTES, what="room configuration")
        doc = parse_strict_json(data)
    except InputFileError as e:
        raise ExamDayError("room_config", str(e)) from e
    except CanonicalError as e:
        raise ExamDayError("room_config", f"{path} is not JSON: {e}") from e
    if not isinstance(doc, dict):
        raise ExamDayError("room_config", f"{path} does not hold a JSON object")
    return doc


def run_room(args: argparse.Namespace) -> int:
    """Sign a room's configuration into the log, then copy it into the room tables.

    Raises:
        OSError: the file cannot be read.
        ExamDayError: the configuration is unusable or its gateway is not a registered one.
        ExamCoreError: the centre cannot be opened or the entry is refused.
    """
    doc = read_room_file(args.file)
    with Centre.open(args.dir, passphrase=passphrase(args)) as centre:
        config = parse_room_configuration(doc, centre.origin)
        index = configure_room(centre, config)
    print(f"room {config.room} configured at index {index}")
    return 0
