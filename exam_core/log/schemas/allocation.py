"""Event types of the allocation domain (DESIGN §4), all signed by the allocator's key.

The manifest itself is a blob (referenced by SHA-256 and length); entries carry only what links
them to it and what the audit recomputes.  An assignment is a list of ``[candidate, examiner]``
pairs of pseudonymous ids, so a session fits one entry (≤ 65,535 bytes) up to about two
thousand candidates with short ids.
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Enum, Hex, Int, ListOf, Obj, Str
from exam_core.log.schemas.types import ALLOCATOR, EventSchema

_ID = Str(max_len=64, pattern=r"[A-Za-z0-9._:/-]+")
_ASSIGNMENT = ListOf(ListOf(_ID, min_items=2, max_items=2), max_items=10_000)
_PAIRS = ListOf(ListOf(_ID, min_items=2, max_items=2), min_items=1, max_items=10_000)

SCHEMAS = (
    EventSchema(
        type="allocation.committed",
        roles=frozenset({ALLOCATOR}),
        fields={
            "session": _ID,
            "manifest_sha256": Hex(nbytes=32),
            "manifest_len": Int(minimum=1),
            "round": Int(minimum=1),
            "beacon_kind": Str(max_len=32, pattern=r"[a-z0-9_]+"),
            "vrf_key": Hex(nbytes=32),
        },
        doc="Commits a session manifest (a blob) and a beacon round that does not exist yet.",
    ),
    EventSchema(
        type="allocation.made",
        roles=frozenset({ALLOCATOR}),
        fields={
            "session": _ID,
            "manifest_sha256": Hex(nbytes=32),
            "round": Int(minimum=1),
            "beacon_value": Hex(max_bytes=64),
            "beacon_evidence": Hex(max_bytes=512),
            "proof": Hex(nbytes=80),
            "assignment": _ASSIGNMENT,
            "vehicles": _PAIRS,
            "routes": _PAIRS,
        },
        optional=frozenset({"vehicles", "routes"}),
        doc="Publishes the draw: beacon value, ECVRF proof and the assignment it yields; for a "
        "version-2 manifest also each examiner's car and each candidate's route.",
    ),
    EventSchema(
        type="allocation.repaired",
        roles=frozenset({ALLOCATOR}),
        fields={
            "session": _ID,
            "manifest_sha256": Hex(nbytes=32),
            "repair": Int(minimum=1, maximum=1000),
            "changes": ListOf(
                Obj(
                    {
                        "kind": Enum(frozenset({"no_show", "examiner_withdrawn"})),
                        "subject": _ID,
                    }
                ),
                min_items=1,
                max_items=256,
            ),
            "reason": Str(max_len=512),
            "assignment": _ASSIGNMENT,
        },
        doc="A late change (no-show, examiner withdrawn) repaired on label repair-<k>.",
    ),
)
