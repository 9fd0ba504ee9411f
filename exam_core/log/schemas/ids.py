"""Field specs shared by the exam-day schemas: pseudonymous ids and keyed hashes (DESIGN §3.1).

People, sessions, rooms and vehicles appear in entries only under pseudonymous ids; an entry
that must bind to a resident ID number carries its keyed hash (HMAC-SHA256 under the centre
secret, 32 bytes as lowercase hex), which only the centre can open.
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Hex, Str

PSEUDONYM = Str(max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9._:/-]*")
"""A person's, session's, room's or vehicle's id: never a name or an ID number."""
ID_HASH = Hex(nbytes=32)
"""HMAC-SHA256 of an 18-character ID number under the centre secret."""
KEY_NAME = Str(max_len=255, pattern=r"[^\s+]+")
"""A registered key's full name (a tablet, an in-car unit, a gateway)."""
