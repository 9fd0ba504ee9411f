"""The allocator's side of a session: seal the manifest, then draw once the beacon round exists.

The order is the security argument (DESIGN §4, research §6.3): ``prepare_manifest`` fixes F,
the VRF key and a beacon round that is still in the future, and its hash is committed to the log;
only then does ``make_allocation`` take the round's public value, prove the VRF over

    alpha = "exam-alloc/v1" ‖ SHA-256(manifest) ‖ uint64_be(round) ‖ beacon value

and round F with the stream seeded by ``seed = SHA-256(beta)``.  Given the committed manifest
there is exactly one valid outcome, so the operator cannot re-roll.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from allocation.beacon import BeaconCommitment, BeaconReading, first_round_after
from allocation.ecvrf import ecvrf_prove, proof_to_hash, public_key
from allocation.eligibility import assignment_problem, find_conflicts
from allocation.errors import ManifestError
from allocation.fractional import build_fractional, smallest_cap
from allocation.manifest import (
    ALGORITHM,
    MAX_SCALE,
    BeaconTarget,
    Manifest,
    manifest_sha256,
    validate_roster,
)
from allocation.roster import CandidateId, ExaminerId, Roster
from allocation.rounding import ROUNDING_LABEL, round_fractional
from allocation.stream import SeedStream

Assignment = tuple[tuple[CandidateId, ExaminerId], ...]
"""(candidate, examiner) pairs in manifest candidate order."""


@dataclass(frozen=True)
class Allocation:
    """A published draw: what ``allocation.made`` carries."""

    manifest_sha256: bytes
    reading: BeaconReading
    proof: bytes
    assignment: Assignment

    @property
    def beta(self) -> bytes:
        return proof_to_hash(self.proof)


def prepare_manifest(
    roster: Roster, *, scale: int, cap: int, beacon: BeaconTarget, vrf_key: bytes
) -> Manifest:
    """Derive conflicts, Q* and the most even F; refuse a cap below Q* (``InfeasibleError``)."""
    validate_roster(roster)
    if not 1 <= scale <= MAX_SCALE:
        raise ManifestError(f"scale {scale} is outside [1, {MAX_SCALE}]")
    if not 1 <= cap <= scale:
        raise ManifestError(f"cap {cap}/{scale} is not a probability in (0, 1]")
    conflicts = find_conflicts(roster)
    problem = assignment_problem(roster, conflicts, scale)
    q_star = smallest_cap(problem)
    fractional = build_fractional(problem, cap, q_star)
    return Manifest(roster, conflicts, scale, cap, q_star, fractional, beacon, vrf_key, ALGORITHM)


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


def draw_assignment(manifest: Manifest, seed: bytes) -> Assignment:
    """Round the manifest's F with the ``rounding`` sub-stream of ``seed``."""
    chosen = round_fractional(
        manifest.fractional,
        len(manifest.roster.examiners),
        manifest.scale,
        SeedStream(seed, ROUNDING_LABEL),
    )
    examiners = manifest.roster.examiners
    return tuple(
        (candidate.id, examiners[e].id)
        for candidate, e in zip(manifest.roster.candidates, chosen, strict=True)
    )


def make_allocation(
    manifest_bytes: bytes, manifest: Manifest, reading: BeaconReading, vrf_secret: bytes
) -> Allocation:
    """Prove the VRF on the committed manifest and the beacon reading, and draw."""
    if public_key(vrf_secret) != manifest.vrf_key:
        raise RuntimeError("the VRF secret does not belong to the key the manifest declares")
    if reading.round != manifest.beacon.round:
        raise RuntimeError("the beacon reading is not of the manifest's target round")
    digest = manifest_sha256(manifest_bytes)
    proof, beta = ecvrf_prove(vrf_secret, vrf_input(digest, reading))
    return Allocation(digest, reading, proof, draw_assignment(manifest, draw_seed(beta)))


def assignment_pairs(pairs: Sequence[Sequence[str]]) -> Assignment:
    """Typed assignment from parsed ``[[candidate, examiner], …]``."""
    return tuple((CandidateId(c), ExaminerId(e)) for c, e in pairs)
