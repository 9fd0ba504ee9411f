"""Event types of the log itself: the key registry and demonstration events."""

from __future__ import annotations

from exam_core.log.schemas.fields import Enum, Int, Str
from exam_core.log.schemas.types import ADMIN, ALL_ROLES, DEMO, EventSchema

KEY_NAME = Str(max_len=255, pattern=r"[^\s+]+")
VKEY = Str(max_len=512, pattern=r"[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+")

SCHEMAS = (
    EventSchema(
        type="key.registered",
        roles=frozenset({ADMIN}),
        fields={
            "name": KEY_NAME,
            "vkey": VKEY,
            "role": Enum(frozenset(ALL_ROLES)),
        },
        doc="Adds a key to the registry with its role; the first entries register the admins.",
    ),
    EventSchema(
        type="key.revoked",
        roles=frozenset({ADMIN}),
        fields={"name": KEY_NAME, "reason": Str(max_len=512)},
        doc="Removes a key: later entries signed by it are refused.",
    ),
    EventSchema(
        type="demo.event",
        roles=frozenset({DEMO, ADMIN}),
        fields={"n": Int(minimum=0), "note": Str(max_len=1024)},
        optional=frozenset({"note"}),
        doc="Signed test events for demonstrations, tests and benchmarks.",
    ),
)
