"""Event types of check-in: the terminal's identity checks and the supervisor's decisions (§7).

The terminal has validated the ID number (GB 11643-1999), found the candidate booked for the
session and compared the face with the enrolment photo; the entry names the candidate by
pseudonymous id, binds to the ID number read by its keyed hash (never the number itself), and
carries the face-match score (per mille) and the attempt number.  A score below the session's
threshold is a ``checkin.face_failed``; after three the terminal locks until a supervisor signs
a ``checkin.decided``: admit (the identity was confirmed by hand — a warning in the audit) or
refuse (a proxy candidate, a document problem), which is then on the record.
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Enum, Int
from exam_core.log.schemas.ids import ID_HASH, PSEUDONYM
from exam_core.log.schemas.types import SUPERVISOR, TERMINAL, EventSchema

MAX_FACE_ATTEMPTS = 3
ADMIT_REASONS = frozenset({"identity_confirmed"})
REFUSE_REASONS = frozenset({"proxy_suspected", "document_mismatch", "candidate_withdrew"})

_ATTEMPT = {
    "session": PSEUDONYM,
    "candidate": PSEUDONYM,
    "id_hash": ID_HASH,
    "face": Int(minimum=0, maximum=1000),
    "attempt": Int(minimum=1, maximum=MAX_FACE_ATTEMPTS),
}

SCHEMAS = (
    EventSchema(
        type="checkin.verified",
        roles=frozenset({TERMINAL}),
        fields=_ATTEMPT,
        doc="The candidate's ID and face match: checked in for the session.",
    ),
    EventSchema(
        type="checkin.face_failed",
        roles=frozenset({TERMINAL}),
        fields=_ATTEMPT,
        doc="A face match below the threshold; the third locks the candidate until a decision.",
    ),
    EventSchema(
        type="checkin.decided",
        roles=frozenset({SUPERVISOR}),
        fields={
            "session": PSEUDONYM,
            "candidate": PSEUDONYM,
            "decision": Enum(frozenset({"admit", "refuse"})),
            "reason": Enum(ADMIT_REASONS | REFUSE_REASONS),
        },
        doc="A supervisor admits or refuses a locked candidate, with a reason from a fixed list.",
    ),
)
