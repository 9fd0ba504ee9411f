"""The type-specific fields of the allocation entries (schemas in exam_core.log.schemas.allocation).

The caller adds the common fields (``v``, ``log``, ``type``, ``ts``, ``actor``, ``seq``) — as
``Centre.append`` does — and signs with ``exam_core.log.entry.make_entry``; these functions only lay
out what the allocation knows, like the field builders of the exam events.
"""

from __future__ import annotations

from collections.abc import Sequence

from allocation.draw import Allocation, Assignment
from allocation.manifest import Manifest, manifest_sha256
from allocation.repair import LateChange

COMMITTED = "allocation.committed"
MADE = "allocation.made"
REPAIRED = "allocation.repaired"
EVENT_TYPES = frozenset({COMMITTED, MADE, REPAIRED})


def committed_fields(manifest_bytes: bytes, manifest: Manifest) -> dict[str, object]:
    """``allocation.committed``: enter it before the target round exists."""
    return {
        "session": manifest.session,
        "manifest_sha256": manifest_sha256(manifest_bytes).hex(),
        "manifest_len": len(manifest_bytes),
        "round": manifest.beacon.round,
        "beacon_kind": manifest.beacon.kind,
        "vrf_key": manifest.vrf_key.hex(),
    }


def _pairs(assignment: Assignment) -> list[list[str]]:
    return [[c, e] for c, e in assignment]


def made_fields(allocation: Allocation, session: str) -> dict[str, object]:
    """``allocation.made``: the beacon reading, the proof and the assignment (and, for a
    version-2 manifest, each examiner's car and each candidate's route)."""
    fields: dict[str, object] = {
        "session": session,
        "manifest_sha256": allocation.manifest_sha256.hex(),
        "round": allocation.reading.round,
        "beacon_value": allocation.reading.value.hex(),
        "beacon_evidence": allocation.reading.evidence.hex(),
        "proof": allocation.proof.hex(),
        "assignment": _pairs(allocation.assignment),
    }
    if allocation.vehicles:
        fields["vehicles"] = [[e, v] for e, v in allocation.vehicles]
    if allocation.routes:
        fields["routes"] = [[c, r] for c, r in allocation.routes]
    return fields


def repaired_fields(
    *,
    session: str,
    manifest_hash: bytes,
    number: int,
    changes: Sequence[LateChange],
    reason: str,
    assignment: Assignment,
) -> dict[str, object]:
    """``allocation.repaired``: the k-th repair, its reason and the resulting assignment."""
    return {
        "session": session,
        "manifest_sha256": manifest_hash.hex(),
        "repair": number,
        "changes": [{"kind": ch.kind, "subject": ch.subject} for ch in changes],
        "reason": reason,
        "assignment": _pairs(assignment),
    }
