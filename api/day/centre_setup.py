"""The administrator's preparation of an exam day: keys, rooms, rosters and opened sessions.

Before the centre serves its day, its administrator (DESIGN §9, docs/exam_day.md):

1. has every machine make its own key (``device_key``, in the machine's own directory) and
   registers the public halves under their roles; gives each machine a bearer token;
2. configures every room (``room.configured``, signed by the administrator) and copies it into
   the room tables, as ``examctl admin room`` does;
3. imports examiners, candidates, vehicles, sessions, crews and bookings from CSV files, as
   ``examctl admin import`` does (all of a file or nothing);
4. opens each session: ``session.opened``, signed by the administrator, with the plan read
   back from the rows just imported.

``prepare_day`` does all of it on a centre that is not served yet and returns what the
machines of the day need to run: where each keeps its key, its token, and the ID cards of the
people booked.  The day itself then runs over HTTP (``api.day.day_run``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api.client import CentreClient, RemoteLog, RetryPolicy
from api.day.device_key import device_key
from exam_core.centre.centre import KEYS_DIR, Centre, key_file_name
from exam_core.centre.config import load_config
from exam_core.centre.keys import read_key_file
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.db_session import exam_day_session
from exam_core.exam_day.identity import check_character
from exam_core.exam_day.imports import ImportContext, import_csv
from exam_core.exam_day.people import centre_secret_for
from exam_core.exam_day.plan import session_opened_fields
from exam_core.exam_day.room_setup import configure_room
from exam_core.exam_day.rooms import parse_room_configuration
from exam_core.exam_day.roster_book import RosterBook
from exam_core.exam_day.secret import CentreSecret
from exam_core.log.schemas.types import (
    ALLOCATOR,
    GATEWAY,
    SUPERVISOR,
    TABLET,
    TERMINAL,
    VEHICLE,
    Role,
)
from exam_core.scoring.course import DEFAULT_MAPS, load_course

LICENCE_CLASS = "C1"
SCHOOLS = 6
GATEWAY_KEY = "gateway/g1"
SUPERVISOR_KEY = "supervisor/s1"
ALLOCATOR_KEY = "allocator/a1"
SEAL_OPENS_MIN = 60
"""The roster window opens an hour before the start and closes at it."""
ROOM_MAX_AGE_MS = 3_000


@dataclass(frozen=True)
class SessionSpec:
    """One session to prepare: its subject (2 or 3), room, examiners on duty and bookings."""

    session: str
    subject: int
    room: str
    examiners: tuple[str, ...]
    candidates: tuple[int, ...]
    """Numbers of the people booked (``id_number(n)`` are their ID cards)."""


@dataclass(frozen=True)
class Machine:
    """A machine of the day: its key's full name, the directory holding it, its token."""

    name: str
    role: str
    directory: Path
    token: str


@dataclass
class PreparedDay:
    """What the machines need to run the day the administrator prepared."""

    origin: str
    centre_dir: Path
    sessions: tuple[SessionSpec, ...]
    start_ms: dict[str, int]
    machines: dict[str, Machine] = field(default_factory=dict)
    id_numbers: dict[int, str] = field(default_factory=dict)
    inspector_token: str = ""
    """An auditor's token: reads the whole day."""

    def machine(self, short_name: str) -> Machine:
        return self.machines[f"{self.origin}/{short_name}"]


def id_number(n: int) -> str:
    """A valid GB 11643-1999 number for person ``n`` (0..99,999), born on a day of 1990–1999."""
    born = f"{1990 + n % 10}{1 + n % 12:02d}{1 + n % 28:02d}"
    first17 = f"3701{n // 1000 % 100:02d}" + born + f"{n % 1000:03d}"
    return first17 + check_character(first17)


def tablet_key(examiner: str) -> str:
    return f"tablet/T-{examiner}"


def unit_key(examiner: str) -> str:
    return f"vehicle/unit-{examiner}"


def vehicle_id(examiner: str) -> str:
    return f"car-{examiner}"


def terminal_key(session: str) -> str:
    return f"terminal/k-{session}"


def room_devices(room: str) -> dict[str, str]:
    """The devices of ``room``, by kind: a jammer, a detector, a jamming canary."""
    return {kind: f"{room}/{kind}" for kind in ("jammer", "detector", "canary")}


JAMMER_BANDS = (1, 2, 3, 4, 5, 6, 7, 8)


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _register(
    centre: Centre, tokens: TokenStore, machines_dir: Path, short: str, role: Role
) -> Machine:
    full = f"{centre.origin}/{short}"
    directory = machines_dir / short.replace("/", "_")
    signer = device_key(directory, full)
    centre.register_public_key(short, role, signer.vkey)
    token = tokens.issue(role, full)[0]
    return Machine(full, role, directory, token)


def _examiners_csv(examiners: Sequence[str]) -> bytes:
    # A few examiners once taught at a driving school: its candidates are conflicts of interest.
    rows = [
        f"{e},考官{i:02d},{LICENCE_CLASS},{f'school-{i % SCHOOLS}' if i % 4 == 0 else ''},"
        for i, e in enumerate(examiners)
    ]
    return _csv("examiner_id,name,classes,former_schools,relatives", *rows)


def _candidates_csv(people: Sequence[int]) -> bytes:
    rows = [f"{id_number(n)},考生{n:04d},{LICENCE_CLASS},school-{n % SCHOOLS},0" for n in people]
    return _csv("id_number,name,licence_class,school_id,previous_attempts", *rows)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms // 1000, dt.UTC).isoformat()


def prepare_day(
    directory: Path,
    origin: str,
    sessions: Sequence[SessionSpec],
    *,
    database_url: str | None = None,
) -> PreparedDay:
    """Create the centre in ``directory``/centre: keys, tokens, rooms, examiners, candidates and
    vehicles (module docstring, 1–3).  The sessions are opened once the centre serves
    (``open_sessions``), so that their start is counted from then.

    Raises:
        ImportFileError: a roster file was refused (a bug in the specification).
        ExamCoreError: the centre could not be created or an entry was refused.
    """
    centre_dir = directory / "centre"
    machines_dir = directory / "machines"
    day = PreparedDay(origin, centre_dir, tuple(sessions), {})
    examiners = sorted({e for s in sessions for e in s.examiners})
    people = sorted({n for s in sessions for n in s.candidates})
    day.id_numbers = {n: id_number(n) for n in people}
    with Centre.create(centre_dir, origin, database_url=database_url) as centre:
        tokens = TokenStore(centre.store.engine)
        shared: list[tuple[str, Role]] = [
            (GATEWAY_KEY, GATEWAY),
            (SUPERVISOR_KEY, SUPERVISOR),
            (ALLOCATOR_KEY, ALLOCATOR),
        ]
        shared += [(terminal_key(s.session), TERMINAL) for s in sessions]
        for e in examiners:
            shared += [(tablet_key(e), TABLET), (unit_key(e), VEHICLE)]
        for short, role in shared:
            machine = _register(centre, tokens, machines_dir, short, role)
            day.machines[machine.name] = machine
        day.inspector_token = tokens.issue("auditor", f"{origin}/auditor/day")[0]
        for room in sorted({s.room for s in sessions}):
            _configure_room(centre, room)
        with exam_day_session(centre) as db:
            secret = centre_secret_for(centre.root, db)
            db.commit()
            context = _context(origin, secret)
            for kind, data in _people_files(origin, examiners, people):
                import_csv(db, kind, data, context)
    return day


def open_sessions(url: str, day: PreparedDay, *, start_in_s: float) -> dict[str, int]:
    """Import the day's sessions, crews and bookings into the serving centre's database and
    sign each ``session.opened`` as its administrator, over HTTP; each session starts
    ``start_in_s`` seconds from now (whole seconds).  Returns the sessions' starts.

    Raises:
        ImportFileError: a roster file was refused (a bug in the specification).
        ClientError: the centre refused or could not take an opening.
    """
    config = load_config(day.centre_dir)
    admin = read_key_file(day.centre_dir / KEYS_DIR / key_file_name(config.admin), config.admin)
    start = (time.time_ns() // 1_000_000_000 + max(1, math.ceil(start_in_s))) * 1000
    book = RosterBook(day.centre_dir)
    try:
        plans = book.import_sessions(
            day.origin, _session_files(day, start), [s.session for s in day.sessions]
        )
    finally:
        book.close()
    with CentreClient(url, retry=RetryPolicy(attempts=40, base_s=0.05, max_s=0.5)) as client:
        log = RemoteLog(client, admin, origin=day.origin)
        try:
            for plan in plans:
                log.append("session.opened", session_opened_fields(plan))
        finally:
            log.close()
    day.start_ms = {s.session: start for s in day.sessions}
    return day.start_ms


def _context(origin: str, secret: CentreSecret) -> ImportContext:
    return ImportContext(origin=origin, secret=secret, today=dt.datetime.now(dt.UTC).date())


def _configure_room(centre: Centre, room: str) -> None:
    devices = room_devices(room)
    config = parse_room_configuration(
        {
            "room": room,
            "kind": "field",
            "gateway": f"{centre.origin}/{GATEWAY_KEY}",
            "jammers": [{"device": devices["jammer"], "bands": list(JAMMER_BANDS)}],
            "detectors": [devices["detector"]],
            "canaries": [devices["canary"]],
            "max_age_ms": ROOM_MAX_AGE_MS,
        },
        centre.origin,
    )
    configure_room(centre, config)


def _people_files(
    origin: str, examiners: Sequence[str], people: Sequence[int]
) -> list[tuple[str, bytes]]:
    vehicles = [
        f"{vehicle_id(e)},鲁A{i:04d}学,{LICENCE_CLASS},{origin}/{unit_key(e)}"
        for i, e in enumerate(examiners)
    ]
    return [
        ("examiners", _examiners_csv(examiners)),
        ("candidates", _candidates_csv(people)),
        ("vehicles", _csv("vehicle_id,plate,licence_class,unit_key", *vehicles)),
    ]


def _session_files(day: PreparedDay, start_ms: int) -> list[tuple[str, bytes]]:
    sessions = day.sessions
    origin = day.origin
    session_rows = [
        f"{s.session},{s.subject},{LICENCE_CLASS},{s.room},"
        f"{load_course(DEFAULT_MAPS[s.subject]).version},{_iso(start_ms)},{SEAL_OPENS_MIN},0"
        for s in sessions
    ]
    crews = [
        f"{s.session},{e},{origin}/{tablet_key(e)},{vehicle_id(e)}"
        for s in sessions
        for e in s.examiners
    ]
    bookings = [f"{s.session},{id_number(n)}" for s in sessions for n in s.candidates]
    header = "session_id,subject,licence_class,room,route,start,seal_opens_min,seal_closes_min"
    return [
        ("sessions", _csv(header, *session_rows)),
        ("crews", _csv("session_id,examiner_id,tablet_key,vehicle_id", *crews)),
        ("bookings", _csv("session_id,id_number", *bookings)),
    ]


__all__ = [
    "GATEWAY_KEY",
    "Machine",
    "PreparedDay",
    "SessionSpec",
    "id_number",
    "open_sessions",
    "prepare_day",
    "room_devices",
    "tablet_key",
    "terminal_key",
    "unit_key",
    "vehicle_id",
]
