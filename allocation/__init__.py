"""Verifiable random examiner allocation (DESIGN §4).

Nobody can know or buy a pairing before the session, the operator cannot re-roll the draw,
no pair is more likely than the published cap, conflicts of interest never happen, and an
auditor who trusts nobody recomputes every draw:

roster → ``prepare_manifest`` (conflicts, Q*, the most even F, a future beacon round, the VRF
key) → commit the manifest hash → beacon round → ``make_allocation`` (ECVRF proof, seeded
dependent rounding; with a version-2 manifest also each examiner's car and each candidate's
route) → publish; ``check_allocation`` / ``check_publication`` / ``AllocationReplayer``
recompute it all.  This package never imports ``devices`` or ``api``.
"""

from __future__ import annotations

from allocation.beacon import (
    BeaconCommitment,
    BeaconReading,
    BeaconSource,
    DevBeacon,
    DevCommitment,
    HashChainBeacon,
    HashChainCommitment,
    first_round_after,
    parse_commitment,
)
from allocation.draw import (
    Allocation,
    Assignment,
    RoutePairs,
    VehiclePairs,
    aim_at_next_round,
    draw_assignment,
    draw_routes,
    draw_seed,
    draw_vehicles,
    make_allocation,
    prepare_manifest,
    vrf_input,
)
from allocation.ecvrf import ecvrf_prove, ecvrf_verify, proof_to_hash
from allocation.ecvrf import public_key as vrf_public_key
from allocation.eligibility import Conflict, assignment_problem, find_conflicts
from allocation.errors import (
    AllocationError,
    BeaconError,
    InfeasibleError,
    ManifestError,
    RepairError,
    VerificationError,
    VrfProofError,
)
from allocation.events import committed_fields, made_fields, repaired_fields
from allocation.fractional import (
    AssignmentProblem,
    Fractional,
    build_fractional,
    check_fractional,
    smallest_cap,
)
from allocation.manifest import (
    ALGORITHM,
    ALGORITHM_V2,
    BeaconTarget,
    Manifest,
    SideDraw,
    encode_manifest,
    manifest_sha256,
    parse_manifest,
)
from allocation.publication import (
    ASSIGNMENT_FILE,
    MANIFEST_FILE,
    PROOF_FILE,
    check_publication,
    encode_assignment,
    encode_proof,
    parse_assignment,
    parse_proof,
)
from allocation.repair import LateChange, repair_assignment
from allocation.replayer import AllocationReplayer
from allocation.roster import (
    LICENCE_CLASSES,
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    PreviousFail,
    Relation,
    Roster,
    RouteId,
    SchoolId,
    Vehicle,
    VehicleId,
)
from allocation.rounding import round_fractional
from allocation.stream import SeedStream
from allocation.synthetic import synthetic_roster
from allocation.vehicles import VehicleConflict, find_vehicle_conflicts
from allocation.verify import check_allocation, check_manifest, verify_allocation

__all__ = [
    "ALGORITHM",
    "ALGORITHM_V2",
    "ASSIGNMENT_FILE",
    "LICENCE_CLASSES",
    "MANIFEST_FILE",
    "PROOF_FILE",
    "Allocation",
    "AllocationError",
    "AllocationReplayer",
    "Assignment",
    "AssignmentProblem",
    "BeaconCommitment",
    "BeaconError",
    "BeaconReading",
    "BeaconSource",
    "BeaconTarget",
    "Candidate",
    "CandidateId",
    "Conflict",
    "DevBeacon",
    "DevCommitment",
    "Employment",
    "EvidenceRef",
    "Examiner",
    "ExaminerId",
    "Fractional",
    "HashChainBeacon",
    "HashChainCommitment",
    "InfeasibleError",
    "LateChange",
    "Manifest",
    "ManifestError",
    "PreviousFail",
    "Relation",
    "RepairError",
    "Roster",
    "RouteId",
    "RoutePairs",
    "SchoolId",
    "SeedStream",
    "SideDraw",
    "Vehicle",
    "VehicleConflict",
    "VehicleId",
    "VehiclePairs",
    "VerificationError",
    "VrfProofError",
    "aim_at_next_round",
    "assignment_problem",
    "build_fractional",
    "check_allocation",
    "check_fractional",
    "check_manifest",
    "check_publication",
    "committed_fields",
    "draw_assignment",
    "draw_routes",
    "draw_seed",
    "draw_vehicles",
    "ecvrf_prove",
    "ecvrf_verify",
    "encode_assignment",
    "encode_manifest",
    "encode_proof",
    "find_conflicts",
    "find_vehicle_conflicts",
    "first_round_after",
    "made_fields",
    "make_allocation",
    "manifest_sha256",
    "parse_assignment",
    "parse_commitment",
    "parse_manifest",
    "parse_proof",
    "prepare_manifest",
    "proof_to_hash",
    "repair_assignment",
    "repaired_fields",
    "round_fractional",
    "smallest_cap",
    "synthetic_roster",
    "verify_allocation",
    "vrf_input",
    "vrf_public_key",
]
