"""The allocator's side of a session: seal the manifest, then draw once the beacon round exists.

The order is the security argument (DESIGN §4, research §6.3): ``prepare_manifest`` fixes F,
the VRF key and a beacon round that is still in the future, and its hash is committed to the log;
only then does ``make_allocation`` take the round's public value, prove the VRF over

    alpha = "exam-alloc/v1" ‖ SHA-256(manifest) ‖ uint64_be(round) ‖ beacon value

and round F with the stream seeded by ``seed = SHA-256(beta)``.  Given the committed manifest
there is exactly one valid outcome, so the operator cannot re-roll.  A version-2 manifest draws
each examiner's car and each candidate's route from the same seed, on labels of their own
(``vehicles``, ``routes``), so the examiner draw of a manifest is the same in both versions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from allocation.beacon import BeaconCommitment, BeaconReading, first_round_after
from allocation.ecvrf import ecvrf_prove, proof_to_hash, public_key
from allocation.eligibility import assignment_problem, find_conflicts
from allocation.errors import ManifestError
from allocation.fractional import AssignmentProblem, Fractional, build_fractional, smallest_cap
from allocation.manifest import (
    ALGORITHM,
    ALGORITHM_V2,
    MAX_SCALE,
    BeaconTarget,
    Manifest,
    SideDraw,
    manifest_sha256,
    validate_roster,
)
from allocation.roster import CandidateId, ExaminerId, Roster, RouteId, VehicleId
from allocation.rounding import ROUNDING_LABEL, round_fractional
from allocation.routes import route_problem
from allocation.stream import SeedStream
from allocation.vehicles import find_vehicle_conflicts, vehicle_problem

Assignment = tuple[tuple[CandidateId, ExaminerId], ...]
"""(candidate, examiner) pairs in manifest candidate order."""
VehiclePairs = tuple[tuple[ExaminerId, VehicleId], ...]
"""(examiner, vehicle) pairs in manifest examiner order: every candidate drives their
examiner's car."""
RoutePairs = tuple[tuple[CandidateId, RouteId], ...]
"""(candidate, route) pairs in manifest candidate order."""

R = TypeVar("R")
C = TypeVar("C")

VEHICLES_LABEL = "vehicles"
ROUTES_LABEL = "routes"


@dataclass(frozen=True)
class Allocation:
    """A published draw: what ``allocation.made`` carries."""

    manifest_sha256: bytes
    reading: BeaconReading
    proof: bytes
    assignment: Assignment
    vehicles: VehiclePairs = ()
    """Each examiner's car, when the manifest draws them (version 2)."""
    routes: RoutePairs = ()
    """Each candidate's route, when the manifest draws them (version 2)."""

    @property
    def beta(self) -> bytes:
        return proof_to_hash(self.proof)


def prepare_manifest(
    roster: Roster,
    *,
    scale: int,
    cap: int,
    beacon: BeaconTarget,
    vrf_key: bytes,
    vehicle_cap: int | None = None,
    route_cap: int | None = None,
) -> Manifest:
    """Derive conflicts, Q* and the most even F; refuse a cap below Q* (``InfeasibleError``).

    A roster with vehicles or routes makes a version-2 manifest that also draws each examiner's
    car and each candidate's route, each under its own cap (units of ``scale``; by default its
    Q*, the least cap any assignment meets).

    Raises:
        ManifestError: the roster is malformed, or the scale or a cap is out of range.
        InfeasibleError: no assignment exists, or a cap is below its Q*.
    """
    validate_roster(roster)
    if not 1 <= scale <= MAX_SCALE:
        raise ManifestError(f"scale {scale} is outside [1, {MAX_SCALE}]")
    if not 1 <= cap <= scale:
        raise ManifestError(f"cap {cap}/{scale} is not a probability in (0, 1]")
    conflicts = find_conflicts(roster)
    problem = assignment_problem(roster, conflicts, scale)
    q_star = smallest_cap(problem)
    fractional = build_fractional(problem, cap, q_star)
    vehicles = routes = None
    vehicle_conflicts = find_vehicle_conflicts(roster, conflicts) if roster.vehicles else ()
    if roster.vehicles:
        fleet = vehicle_problem(roster, conflicts, vehicle_conflicts, scale)
        vehicles = _side_draw(fleet, vehicle_cap, "vehicle")
    if roster.routes:
        routes = _side_draw(route_problem(roster, scale), route_cap, "route")
    return Manifest(
        roster,
        conflicts,
        scale,
        cap,
        q_star,
        fractional,
        beacon,
        vrf_key,
        ALGORITHM if vehicles is None and routes is None else ALGORITHM_V2,
        vehicles=vehicles,
        vehicle_conflicts=vehicle_conflicts,
        routes=routes,
    )


def _side_draw(problem: AssignmentProblem, cap: int | None, what: str) -> SideDraw:
    q_star = smallest_cap(problem)
    chosen = q_star if cap is None else cap
    if not 1 <= chosen <= problem.scale:
        raise ManifestError(f"{what} cap {chosen}/{problem.scale} is not a probability in (0, 1]")
    return SideDraw(chosen, q_star, build_fractional(problem, chosen, q_star))


def aim_at_next_round(manifest: Manifest, commitment: BeaconCommitment, now_ms: int) -> Manifest:
    """The manifest aimed at the first beacon round still in the future at ``now_ms``.

    ``now_ms`` is the time the commitment entry will carry: a caller that still has to store
    and sign the manifest passes a little more than the clock says.  Call it at the moment of
    commitment, after ``prepare_manifest``: building F takes seconds
    for a large roster (1.8 s at 500 × 100), many beacon periods, so a round chosen before it
    could already be public when the manifest is committed.  F does not depend on the round.
    """
    round_number = first_round_after(commitment, now_ms)
    return replace(manifest, beacon=replace(manifest.beacon, round=round_number))


def vrf_input(manifest_hash: bytes, reading: BeaconReading) -> bytes:
    """alpha of DESIGN §4.4."""
    return ALGORITHM.encode() + manifest_hash + reading.round.to_bytes(8, "big") + reading.value


def draw_seed(beta: bytes) -> bytes:
    return hashlib.sha256(beta).digest()


def _round_rows(
    rows: Sequence[R], columns: Sequence[C], fractional: Fractional, scale: int, stream: SeedStream
) -> tuple[tuple[R, C], ...]:
    """Round one F (rows × columns) with ``stream``: each row with the column drawn for it."""
    chosen = round_fractional(fractional, len(columns), scale, stream)
    return tuple((row, columns[k]) for row, k in zip(rows, chosen, strict=True))


def draw_assignment(manifest: Manifest, seed: bytes) -> Assignment:
    """Round the manifest's F with the ``rounding`` sub-stream of ``seed``."""
    roster = manifest.roster
    return _round_rows(
        [c.id for c in roster.candidates],
        [e.id for e in roster.examiners],
        manifest.fractional,
        manifest.scale,
        SeedStream(seed, ROUNDING_LABEL),
    )


def draw_vehicles(manifest: Manifest, seed: bytes) -> VehiclePairs:
    """Round the manifest's vehicle F with the ``vehicles`` sub-stream of ``seed`` (() if none)."""
    if manifest.vehicles is None:
        return ()
    roster = manifest.roster
    return _round_rows(
        [e.id for e in roster.examiners],
        [v.id for v in roster.vehicles],
        manifest.vehicles.fractional,
        manifest.scale,
        SeedStream(seed, VEHICLES_LABEL),
    )


def draw_routes(manifest: Manifest, seed: bytes) -> RoutePairs:
    """Round the manifest's route F with the ``routes`` sub-stream of ``seed`` (() if none)."""
    if manifest.routes is None:
        return ()
    roster = manifest.roster
    return _round_rows(
        [c.id for c in roster.candidates],
        roster.routes,
        manifest.routes.fractional,
        manifest.scale,
        SeedStream(seed, ROUTES_LABEL),
    )


def make_allocation(
    manifest_bytes: bytes, manifest: Manifest, reading: BeaconReading, vrf_secret: bytes
) -> Allocation:
    """Prove the VRF on the committed manifest and the beacon reading, and draw.

    Raises:
        RuntimeError: ``vrf_secret`` is not the secret of the manifest's ``vrf_key``, or
            ``reading`` is not of the manifest's beacon round (a caller bug: pass the
            matching secret and reading).
    """
    if public_key(vrf_secret) != manifest.vrf_key:
        raise RuntimeError("the VRF secret does not belong to the key the manifest declares")
    if reading.round != manifest.beacon.round:
        raise RuntimeError("the beacon reading is not of the manifest's target round")
    digest = manifest_sha256(manifest_bytes)
    proof, beta = ecvrf_prove(vrf_secret, vrf_input(digest, reading))
    seed = draw_seed(beta)
    return Allocation(
        digest,
        reading,
        proof,
        draw_assignment(manifest, seed),
        draw_vehicles(manifest, seed),
        draw_routes(manifest, seed),
    )


def assignment_pairs(pairs: Sequence[Sequence[str]]) -> Assignment:
    """Typed assignment from parsed ``[[candidate, examiner], …]``."""
    return tuple((CandidateId(c), ExaminerId(e)) for c, e in pairs)


def vehicle_pairs(pairs: Sequence[Sequence[str]]) -> VehiclePairs:
    """Typed vehicles from parsed ``[[examiner, vehicle], …]``."""
    return tuple((ExaminerId(e), VehicleId(v)) for e, v in pairs)


def route_pairs(pairs: Sequence[Sequence[str]]) -> RoutePairs:
    """Typed routes from parsed ``[[candidate, route], …]``."""
    return tuple((CandidateId(c), RouteId(r)) for c, r in pairs)
