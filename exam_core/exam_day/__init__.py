"""The exam day: identity at check-in, the centre's people and sessions, and the session's steps.

This package names its pure API, which an auditor's tools may use without a database:

- ``secret``: the centre secret, keyed hashes of ID numbers, sealed enrolment photos.

Its persistence modules are imported from their own modules, so that importing the package loads
no database stack: ``people`` (opening a keyed hash for an investigator, on the record).
"""

from __future__ import annotations

from exam_core.exam_day.secret import (
    SECRET_FILE,
    CentreSecret,
    create_centre_secret,
    read_centre_secret,
)

__all__ = [
    "SECRET_FILE",
    "CentreSecret",
    "create_centre_secret",
    "read_centre_secret",
]
