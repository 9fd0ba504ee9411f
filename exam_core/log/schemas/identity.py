"""Event types of personal data: an investigator's opening of a keyed hash (DESIGN §3.1).

The centre shows the person behind a keyed hash only to an investigator's key, and only after
the investigator's signed ``identity.opened`` entry is in the log: every opening is on the
record, with the case it serves and its legal basis (from a fixed list: free text could carry
personal data), and the monitoring centre and the audit list each one.
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Enum, Str
from exam_core.log.schemas.ids import ID_HASH
from exam_core.log.schemas.types import INVESTIGATOR, EventSchema

OPENING_BASES = frozenset({"investigation", "court_order", "data_subject_request"})

SCHEMAS = (
    EventSchema(
        type="identity.opened",
        roles=frozenset({INVESTIGATOR}),
        fields={
            "id_hash": ID_HASH,
            "case": Str(max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9._:/-]*"),
            "basis": Enum(OPENING_BASES),
        },
        doc="An investigator has the centre open a keyed hash to the ID number behind it.",
    ),
)
