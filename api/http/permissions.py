"""Which token role may do what: the one table of the HTTP service's read permissions (DESIGN §9).

Writes to the log are not here: an entry's signature authenticates it and the log's own role
table (``exam_core.log.schemas``) decides who may sign what.  This table covers what a bearer
token is needed for.  Routes never test a role; they declare the permission they need through
``api.http.deps`` and the one dependency there looks the caller's role up here.

Token roles are the log's key roles, plus roles that read without signing: ``auditor`` (an
inspector reading evidence) and ``monitor`` (the monitoring centre's mirror).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from exam_core.log.schemas.types import (
    ADMIN,
    ALLOCATOR,
    DEMO,
    GATEWAY,
    INVESTIGATOR,
    SCORER,
    SUPERVISOR,
    TABLET,
    TERMINAL,
    VEHICLE,
)


class Permission(StrEnum):
    """Something a bearer token may be allowed to do."""

    WHOAMI = "whoami"
    """See one's own token: role, actor, permissions."""
    BLOB_WRITE = "blob.write"
    """Upload evidence blobs (telemetry chunks, snapshots)."""
    BLOB_READ = "blob.read"
    """Download evidence blobs."""
    KEYS_READ = "keys.read"
    """List the registered keys with their roles and state."""
    TOKENS_MANAGE = "tokens.manage"
    """List and revoke bearer tokens."""
    IDENTIFY = "identify"
    """Have the centre identify an ID card read at check-in (terminal)."""
    DAY_READ = "day.read"
    """Read the exam day: sessions, their check-ins and rosters, rooms' gate decisions."""
    DAY_ASSIGNMENT = "day.assignment"
    """Read a session's assignment: a tablet its own."""
    DAY_ASSIGNMENT_ANY = "day.assignment.any"
    """Read the assignment of any tablet (inspection)."""
    DAY_EXAM = "day.exam"
    """Read an exam: the tablet and in-car unit of its crew."""
    DAY_EXAM_ANY = "day.exam.any"
    """Read any exam."""
    EVIDENCE_VERIFY = "evidence.verify"
    """Ask whether a video file is an exam's sealed video (investigators, inspectors)."""


AUDITOR = "auditor"
MONITOR = "monitor"

_INSPECT = frozenset(
    {
        Permission.DAY_READ,
        Permission.DAY_ASSIGNMENT,
        Permission.DAY_ASSIGNMENT_ANY,
        Permission.DAY_EXAM,
        Permission.DAY_EXAM_ANY,
        Permission.EVIDENCE_VERIFY,
    }
)
"""The whole exam day, every tablet's assignment and every exam."""

ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    ADMIN: frozenset(Permission),
    AUDITOR: frozenset({Permission.WHOAMI, Permission.BLOB_READ, Permission.KEYS_READ}) | _INSPECT,
    MONITOR: frozenset(
        {Permission.WHOAMI, Permission.BLOB_READ, Permission.KEYS_READ, Permission.EVIDENCE_VERIFY}
    ),
    SCORER: frozenset(
        {
            Permission.WHOAMI,
            Permission.BLOB_READ,
            Permission.BLOB_WRITE,
            Permission.DAY_READ,
            Permission.DAY_EXAM,
            Permission.DAY_EXAM_ANY,
        }
    ),
    ALLOCATOR: frozenset(
        {Permission.WHOAMI, Permission.KEYS_READ, Permission.DAY_READ, Permission.BLOB_WRITE}
    ),
    INVESTIGATOR: frozenset(
        {Permission.WHOAMI, Permission.BLOB_READ, Permission.KEYS_READ, Permission.EVIDENCE_VERIFY}
    ),
    SUPERVISOR: frozenset({Permission.WHOAMI, Permission.BLOB_READ}) | _INSPECT,
    GATEWAY: frozenset({Permission.WHOAMI, Permission.BLOB_WRITE, Permission.DAY_READ}),
    VEHICLE: frozenset({Permission.WHOAMI, Permission.BLOB_WRITE, Permission.DAY_EXAM}),
    TABLET: frozenset(
        {
            Permission.WHOAMI,
            Permission.BLOB_WRITE,
            Permission.DAY_READ,
            Permission.DAY_ASSIGNMENT,
            Permission.DAY_EXAM,
        }
    ),
    TERMINAL: frozenset(
        {Permission.WHOAMI, Permission.BLOB_WRITE, Permission.DAY_READ, Permission.IDENTIFY}
    ),
    DEMO: frozenset({Permission.WHOAMI, Permission.BLOB_WRITE}),
}
"""Role → what its tokens may do.  A role not listed may do nothing."""

TOKEN_ROLES: tuple[str, ...] = tuple(sorted(ROLE_PERMISSIONS))
"""The roles a token can be made for."""


def permits(role: str, permission: Permission) -> bool:
    """Whether a token of ``role`` may do ``permission``."""
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


__all__ = ["AUDITOR", "MONITOR", "ROLE_PERMISSIONS", "TOKEN_ROLES", "Permission", "permits"]
