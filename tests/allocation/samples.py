"""Small hand-made rosters and a one-call draw, shared by the allocation tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from allocation import (
    Allocation,
    BeaconSource,
    BeaconTarget,
    Candidate,
    CandidateId,
    DevBeacon,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    HashChainBeacon,
    Manifest,
    PreviousFail,
    Relation,
    Roster,
    SchoolId,
    encode_manifest,
    make_allocation,
    prepare_manifest,
    vrf_public_key,
)
from exam_core.log.note import Ed25519Signer

VRF_SECRET = hashlib.sha256(b"test allocator VRF key").digest()
BEACON_SEED = hashlib.sha256(b"test dev beacon").digest()
GENESIS_MS = 1_700_000_000_000
PERIOD_MS = 1_000
ROUND = 5
BEACON_SIGNER = Ed25519Signer.from_seed("monitor.example/beacon", b"\x21" * 32)


def small_roster() -> Roster:
    """24 candidates (C1, and C2 for every sixth) × 8 examiners, windows 2..4, some conflicts."""
    schools = [SchoolId(f"school-{k}") for k in range(4)]
    candidates = tuple(
        Candidate(
            CandidateId(f"c-{i:02d}"),
            "C2" if i % 6 == 0 else "C1",
            schools[i % 4],
            PreviousFail(ExaminerId(f"e-{i % 8}"), EvidenceRef(f"exam/{i:03d}"))
            if i % 5 == 0
            else None,
        )
        for i in range(24)
    )
    examiners = tuple(
        Examiner(
            ExaminerId(f"e-{j}"),
            frozenset({"C1", "C2"} if j < 4 else {"C1"}),
            (Employment(schools[j % 4], EvidenceRef(f"hr/{j}")),) if j in (1, 6) else (),
            load_min=2,
            load_max=4,
        )
        for j in range(8)
    )
    relatives = (Relation(ExaminerId("e-3"), CandidateId("c-07"), EvidenceRef("decl/1")),)
    return Roster("2026-11-25/test/am", candidates, examiners, relatives)


def dev_beacon() -> DevBeacon:
    return DevBeacon(BEACON_SEED, genesis_ms=GENESIS_MS, period_ms=PERIOD_MS, clock=lambda: 2**52)


def hash_chain_beacon(
    signer: Ed25519Signer = BEACON_SIGNER, genesis_ms: int = GENESIS_MS
) -> HashChainBeacon:
    """A 20-round chain signed by ``signer``; its clock is at the last round."""
    return HashChainBeacon(
        signer,
        b"\x33" * 32,
        genesis_ms=genesis_ms,
        period_ms=PERIOD_MS,
        rounds=20,
        clock=lambda: genesis_ms + 20 * PERIOD_MS,
    )


@dataclass(frozen=True)
class Published:
    manifest: Manifest
    manifest_bytes: bytes
    allocation: Allocation


def publish(
    roster: Roster,
    *,
    cap: int,
    scale: int = 1000,
    round_number: int = ROUND,
    beacon: BeaconSource | None = None,
    vehicle_cap: int | None = None,
    route_cap: int | None = None,
) -> Published:
    """Prepare, seal and draw with the test VRF key and the beacon (the development one if
    none is given)."""
    if beacon is None:
        beacon = dev_beacon()
    manifest = prepare_manifest(
        roster,
        scale=scale,
        cap=cap,
        beacon=BeaconTarget(beacon.kind, beacon.commitment_text, round_number),
        vrf_key=vrf_public_key(VRF_SECRET),
        vehicle_cap=vehicle_cap,
        route_cap=route_cap,
    )
    data = encode_manifest(manifest)
    allocation = make_allocation(data, manifest, beacon.reveal(round_number), VRF_SECRET)
    return Published(manifest, data, allocation)
