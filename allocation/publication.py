"""The three files an allocation is published as, for auditors outside the log.

``manifest.json`` is the committed manifest bytes; ``proof.json`` and ``assignment.json`` are
canonical JSON made here::

    proof.json       {"manifest_sha256", "beacon": {"round", "value", "evidence"},
                      "proof", "beta"}                      (hex strings, round an integer)
    assignment.json  {"manifest_sha256", "session", "assignment": [[candidate, examiner], …],
                      "vehicles": [[examiner, vehicle], …], "routes": [[candidate, route], …]}

(``vehicles`` and ``routes`` only when the manifest draws them: version 2.)

Both are parsed strictly (canonical bytes only, exactly these fields), so changing any byte of
any file either breaks the parse or changes a value that ``check_publication`` then refuses.
Reading and writing the files is the caller's job: these functions take and return bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from allocation.beacon import BeaconReading
from allocation.draw import (
    Allocation,
    Assignment,
    RoutePairs,
    VehiclePairs,
    assignment_pairs,
    route_pairs,
    vehicle_pairs,
)
from allocation.ecvrf import BETA_LEN, PROOF_LEN, proof_to_hash
from allocation.errors import ManifestError, VrfProofError
from allocation.manifest import MAX_PEOPLE, manifest_sha256, parse_manifest
from allocation.verify import check_parsed_allocation
from exam_core.errors import CanonicalError, EntryError
from exam_core.findings import Finding
from exam_core.log.canonical import canonical_json, parse_canonical
from exam_core.log.note import NoteVerifier
from exam_core.log.schemas.fields import Hex, Int, ListOf, Obj, Str

MANIFEST_FILE = "manifest.json"
PROOF_FILE = "proof.json"
ASSIGNMENT_FILE = "assignment.json"

_PROOF_SHAPE = Obj(
    {
        "manifest_sha256": Hex(nbytes=32),
        "beacon": Obj(
            {"round": Int(minimum=1), "value": Hex(max_bytes=64), "evidence": Hex(max_bytes=512)}
        ),
        "proof": Hex(nbytes=PROOF_LEN),
        "beta": Hex(nbytes=BETA_LEN),
    }
)
_ID = Str(max_len=64)
_PAIRS = ListOf(ListOf(_ID, min_items=2, max_items=2), max_items=MAX_PEOPLE)
_ASSIGNMENT_SHAPE = Obj(
    {
        "manifest_sha256": Hex(nbytes=32),
        "session": _ID,
        "assignment": _PAIRS,
        "vehicles": _PAIRS,
        "routes": _PAIRS,
    },
    optional=frozenset({"vehicles", "routes"}),
)


@dataclass(frozen=True)
class ProofFile:
    manifest_sha256: bytes
    reading: BeaconReading
    proof: bytes
    beta: bytes


@dataclass(frozen=True)
class AssignmentFile:
    manifest_sha256: bytes
    session: str
    assignment: Assignment
    vehicles: VehiclePairs = ()
    routes: RoutePairs = ()


def encode_proof(allocation: Allocation) -> bytes:
    return canonical_json(
        {
            "manifest_sha256": allocation.manifest_sha256.hex(),
            "beacon": {
                "round": allocation.reading.round,
                "value": allocation.reading.value.hex(),
                "evidence": allocation.reading.evidence.hex(),
            },
            "proof": allocation.proof.hex(),
            "beta": allocation.beta.hex(),
        }
    )


def encode_assignment(allocation: Allocation, session: str) -> bytes:
    value: dict[str, object] = {
        "manifest_sha256": allocation.manifest_sha256.hex(),
        "session": session,
        "assignment": [[c, e] for c, e in allocation.assignment],
    }
    if allocation.vehicles:
        value["vehicles"] = [[e, v] for e, v in allocation.vehicles]
    if allocation.routes:
        value["routes"] = [[c, r] for c, r in allocation.routes]
    return canonical_json(value)


def _parse(data: bytes, shape: Obj, name: str) -> dict[str, object]:
    try:
        value = parse_canonical(data)
        shape.check(value, name)
    except CanonicalError as e:
        raise ManifestError(f"{name} is not canonical integer-only JSON: {e}") from e
    except EntryError as e:
        raise ManifestError(f"{name}: {e.message}") from e
    if not isinstance(value, dict):  # the shape check has refused anything else
        raise ManifestError(f"{name} must be a JSON object")
    return value


def parse_proof(data: bytes) -> ProofFile:
    value = _parse(data, _PROOF_SHAPE, PROOF_FILE)
    beacon: Any = value["beacon"]
    return ProofFile(
        bytes.fromhex(str(value["manifest_sha256"])),
        BeaconReading(
            int(beacon["round"]), bytes.fromhex(beacon["value"]), bytes.fromhex(beacon["evidence"])
        ),
        bytes.fromhex(str(value["proof"])),
        bytes.fromhex(str(value["beta"])),
    )


def parse_assignment(data: bytes) -> AssignmentFile:
    value = _parse(data, _ASSIGNMENT_SHAPE, ASSIGNMENT_FILE)
    pairs: Any = value["assignment"]
    vehicles: Any = value.get("vehicles", [])
    routes: Any = value.get("routes", [])
    if ("vehicles" in value and not vehicles) or ("routes" in value and not routes):
        raise ManifestError(f"{ASSIGNMENT_FILE}: vehicles and routes are left out, never empty")
    return AssignmentFile(
        bytes.fromhex(str(value["manifest_sha256"])),
        str(value["session"]),
        assignment_pairs(pairs),
        vehicle_pairs(vehicles),
        route_pairs(routes),
    )


def _beta_findings(proof: ProofFile) -> list[Finding]:
    """``proof.json`` states beta beside the proof; it must be the proof's own output."""
    try:
        if proof_to_hash(proof.proof) != proof.beta:
            return [Finding(None, "vrf_invalid", f"{PROOF_FILE}: beta is not the proof's output")]
    except VrfProofError as e:
        return [Finding(None, "vrf_invalid", str(e))]
    return []


def check_publication(
    manifest_bytes: bytes,
    proof_bytes: bytes,
    assignment_bytes: bytes,
    *,
    beacon_keys: Sequence[NoteVerifier] = (),
    pinned_vrf_key: bytes | None = None,
    recompute: bool = True,
) -> list[Finding]:
    """Every finding about a published allocation: the files' own links, then the allocation."""
    try:
        proof = parse_proof(proof_bytes)
        published = parse_assignment(assignment_bytes)
    except ManifestError as e:
        return [Finding(None, "file_invalid", str(e))]
    findings: list[Finding] = []
    digest = manifest_sha256(manifest_bytes)
    for name, stated in (
        (PROOF_FILE, proof.manifest_sha256),
        (ASSIGNMENT_FILE, published.manifest_sha256),
    ):
        if stated != digest:
            findings.append(
                Finding(
                    None,
                    "manifest_mismatch",
                    f"{name} names manifest {stated.hex()[:16]}…, "
                    f"but {MANIFEST_FILE} hashes to {digest.hex()[:16]}…",
                )
            )
    try:
        manifest = parse_manifest(manifest_bytes)
    except ManifestError as e:
        return [*findings, *_beta_findings(proof), Finding(None, "manifest_invalid", str(e))]
    if published.session != manifest.session:
        findings.append(
            Finding(
                None,
                "manifest_mismatch",
                f"{ASSIGNMENT_FILE} is for session {published.session!r}, "
                f"the manifest for {manifest.session!r}",
            )
        )
    findings += _beta_findings(proof)
    findings += check_parsed_allocation(
        manifest,
        digest,
        proof.reading,
        proof.proof,
        published.assignment,
        vehicles=published.vehicles,
        routes=published.routes,
        beacon_keys=beacon_keys,
        pinned_vrf_key=pinned_vrf_key,
        recompute=recompute,
    )
    return findings
