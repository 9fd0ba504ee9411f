"""Event types of the monitoring centre's own log: acting on a warning (DESIGN §10).

A warning of the monitoring centre is acknowledged or closed by a person on duty, and the act is
an entry of the monitoring centre's own log signed with that person's ``duty`` key: who (the
key), why (free text: the monitoring centre's log holds no candidate's data), which warning
(its id, and its subject for a reader without the monitor's database), at which level and
points, and which signals it covered (their count and the SHA-256 of their sorted ids,
``exam_core.monitoring.warnings.signals_digest``).
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Enum, Hex, Int, Obj, Str
from exam_core.log.schemas.types import DUTY, EventSchema

_NAME = Str(max_len=255, pattern=r"[^\s+]+")
_FIELDS = {
    "warning": Hex(nbytes=16),
    "subject": Obj(
        {
            "kind": Enum(frozenset({"centre", "examiner", "vehicle"})),
            "centre": _NAME,
            "name": _NAME,
        }
    ),
    "level": Enum(frozenset({"blue", "yellow", "orange", "red"})),
    "points": Int(minimum=0),
    "signals": Int(minimum=1),
    "signals_sha256": Hex(nbytes=32),
    "why": Str(max_len=2000),
}

SCHEMAS = (
    EventSchema(
        type="warning.acknowledged",
        roles=frozenset({DUTY}),
        fields=_FIELDS,
        doc="A person on duty has seen a warning at this level and these signals, and says why "
        "it needs no more for now.",
    ),
    EventSchema(
        type="warning.closed",
        roles=frozenset({DUTY}),
        fields=_FIELDS,
        doc="A person on duty closes a warning, saying why: its signals no longer count.",
    ),
)
