"""The exam day: identity at check-in, rooms and sessions, and the session's steps in order.

This package names its pure API, which an auditor's tools may use without a database:

- ``identity``: GB 11643-1999 resident ID numbers, validated and normalised;
- ``secret``: the centre secret, keyed hashes of ID numbers, sealed enrolment photos;
- ``rooms``: a room's configuration, the fields of its ``room.configured`` entry;
- ``plan``: a session's plan, the fields of its ``session.opened`` entry, exam ids;
- ``steps``: a step as the state machines see it, and the rooms' latest gate decisions;
- ``checkin``, ``exam_flow``, ``session_flow``: the state machines of a candidate's check-in,
  of an exam, and of a session;
- ``day``: a centre's rooms and sessions, fed entry by entry.

The audit replays the day with ``replayer`` (``ExamDayReplayer``; ``gate_standard`` holds a gate
decision to its room's configuration), imported from its own module as the audit's replayers are.

Its persistence modules are imported from their own modules, so that importing the package loads
no database stack: ``people`` (the centre secret on first use; opening a keyed hash for an
investigator, on the record), ``imports`` (CSV files of examiners, candidates, vehicles,
sessions, crews and bookings, whole or not at all; with ``csv_file``, ``row_values``,
``lookups`` and ``photos``), ``room_rows`` and ``session_rows`` (rooms and sessions as the
database holds them, identification at check-in, the allocation's roster).
"""

from __future__ import annotations

from exam_core.exam_day.checkin import CandidateCheckin, CheckinState
from exam_core.exam_day.day import ExamDay
from exam_core.exam_day.exam_flow import ExamFlow, ExamPhase
from exam_core.exam_day.identity import IdNumber, check_character, parse_id_number
from exam_core.exam_day.plan import Crew, SessionPlan, exam_id, parse_plan, session_opened_fields
from exam_core.exam_day.rooms import (
    RoomConfig,
    check_room_gateway,
    parse_room_configuration,
    room_configured_fields,
)
from exam_core.exam_day.secret import (
    SECRET_FILE,
    CentreSecret,
    create_centre_secret,
    read_centre_secret,
)
from exam_core.exam_day.session_flow import Phase, SessionFlow
from exam_core.exam_day.steps import GateBoard, GateRecord, Step

__all__ = [
    "SECRET_FILE",
    "CandidateCheckin",
    "CentreSecret",
    "CheckinState",
    "Crew",
    "ExamDay",
    "ExamFlow",
    "ExamPhase",
    "GateBoard",
    "GateRecord",
    "IdNumber",
    "Phase",
    "RoomConfig",
    "SessionFlow",
    "SessionPlan",
    "Step",
    "check_character",
    "check_room_gateway",
    "create_centre_secret",
    "exam_id",
    "parse_id_number",
    "parse_plan",
    "parse_room_configuration",
    "read_centre_secret",
    "room_configured_fields",
    "session_opened_fields",
]
