"""The exam day: identity at check-in, the centre's people and sessions, and the session's steps.

This package names its pure API, which an auditor's tools may use without a database:

- ``identity``: GB 11643-1999 resident ID numbers, validated and normalised;
- ``secret``: the centre secret, keyed hashes of ID numbers, sealed enrolment photos.

Its persistence modules are imported from their own modules, so that importing the package loads
no database stack: ``people`` (the centre secret on first use; opening a keyed hash for an
investigator, on the record) and ``imports`` (CSV files of examiners, candidates, vehicles,
sessions, crews and bookings, whole or not at all; with ``csv_file``, ``row_values``,
``lookups`` and ``photos``).
"""

from __future__ import annotations

from exam_core.exam_day.identity import IdNumber, check_character, parse_id_number
from exam_core.exam_day.secret import (
    SECRET_FILE,
    CentreSecret,
    create_centre_secret,
    read_centre_secret,
)

__all__ = [
    "SECRET_FILE",
    "CentreSecret",
    "IdNumber",
    "check_character",
    "create_centre_secret",
    "parse_id_number",
    "read_centre_secret",
]
