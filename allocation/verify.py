"""The pure verifier of one allocation: manifest, beacon, VRF proof and assignment in, findings out.

``examctl alloc verify`` (through ``check_publication``) and the audit's ``AllocationReplayer`` both
run these steps, so there is one definition of "this allocation holds"; they parse the manifest
once and call ``check_parsed_allocation`` for steps 2–5.  ``check_allocation`` recomputes, in
order:

1. the manifest parses strictly and its hash is what the proof was made over;
2. the manifest is internally sound: the conflicts are exactly those the roster implies, F is a
   valid fractional assignment under the cap, and (``recompute``) Q* and F are exactly what the
   deterministic construction gives for this roster and cap;
3. the beacon reading is the value of the manifest's target round under its commitment (a
   development beacon is reported as insecure);
4. the VRF proof verifies under the manifest's key (RFC 9381 with key validation);
5. the rounding driven by SHA-256(beta) reproduces the published assignment bit for bit, and
   (version 2) each examiner's car and each candidate's route, on their own labels.

Steps 2 and 5 run the same checks over each of the manifest's draws: the examiners (findings
as they always were), then ``vehicles`` and ``routes`` (their findings name the draw first).

``check_allocation`` returns every finding; ``verify_allocation`` raises on any error.  A
finding is the house's one ``exam_core.findings.Finding``, with index None: an allocation
checked on its own belongs to no log entry (``AllocationReplayer`` gives it the entry's index).
"""

from __future__ import annotations

from collections.abc import Sequence

from allocation.beacon import BeaconReading, parse_commitment
from allocation.draw import (
    Assignment,
    RoutePairs,
    VehiclePairs,
    draw_assignment,
    draw_routes,
    draw_seed,
    draw_vehicles,
    vrf_input,
)
from allocation.ecvrf import ecvrf_verify
from allocation.eligibility import assignment_problem, find_conflicts
from allocation.errors import (
    BeaconError,
    InfeasibleError,
    ManifestError,
    VerificationError,
    VrfProofError,
)
from allocation.fractional import (
    AssignmentProblem,
    build_fractional,
    check_fractional,
    smallest_cap,
)
from allocation.manifest import Manifest, SideDraw, manifest_sha256, parse_manifest
from allocation.routes import route_problem
from allocation.vehicles import find_vehicle_conflicts, vehicle_problem
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.note import NoteVerifier

MAX_LISTED = 10
"""At most this many differing pairs are spelled out in one finding."""


def check_manifest(manifest: Manifest, *, recompute: bool = True) -> list[Finding]:
    """Step 2: the manifest's conflicts and each of its F against its own roster and caps."""
    findings: list[Finding] = []
    roster = manifest.roster
    expected_conflicts = find_conflicts(roster)
    if expected_conflicts != manifest.conflicts:
        findings.append(
            Finding(None, "manifest_invalid", "conflicts differ from those the roster implies")
        )
    problem = assignment_problem(roster, expected_conflicts, manifest.scale)
    examiners = SideDraw(manifest.cap, manifest.q_star, manifest.fractional)
    findings += _check_draw(problem, examiners, "", recompute=recompute and not findings)
    if manifest.vehicles is not None:
        expected = find_vehicle_conflicts(roster, expected_conflicts)
        if expected != manifest.vehicle_conflicts:
            findings.append(
                Finding(
                    None,
                    "manifest_invalid",
                    "vehicles: conflicts differ from those the roster implies",
                )
            )
        fleet = vehicle_problem(roster, expected_conflicts, expected, manifest.scale)
        findings += _check_draw(fleet, manifest.vehicles, "vehicles: ", recompute=recompute)
    if manifest.routes is not None:
        routes = route_problem(roster, manifest.scale)
        findings += _check_draw(routes, manifest.routes, "routes: ", recompute=recompute)
    return findings


def _check_draw(
    problem: AssignmentProblem, side: SideDraw, what: str, *, recompute: bool
) -> list[Finding]:
    """One draw's F against its problem and cap; with ``recompute``, Q* and F rebuilt."""
    findings = [
        Finding(None, "manifest_invalid", what + text)
        for text in check_fractional(problem, side.fractional, side.cap)[:MAX_LISTED]
    ]
    if findings or not recompute:
        return findings
    try:
        q_star = smallest_cap(problem)
        fractional = build_fractional(problem, side.cap, q_star)
    except InfeasibleError as e:
        return [Finding(None, "manifest_invalid", f"{what}roster and cap admit no assignment: {e}")]
    if q_star != side.q_star:
        findings.append(
            Finding(None, "manifest_invalid", f"{what}q_star is {side.q_star}, recomputed {q_star}")
        )
    if fractional != side.fractional:
        rows = [
            problem.candidates[c]
            for c, (a, b) in enumerate(zip(fractional, side.fractional, strict=True))
            if a != b
        ]
        findings.append(
            Finding(
                None,
                "fractional_mismatch",
                f"{what}F is not the construction's for this roster and cap (rows of "
                f"{', '.join(rows[:MAX_LISTED])}{' …' if len(rows) > MAX_LISTED else ''})",
            )
        )
    return findings


def _describe_difference(
    expected: Sequence[tuple[str, str]], published: Sequence[tuple[str, str]], what: str = ""
) -> str:
    if len(expected) != len(published):
        return f"{what}assignment has {len(published)} pairs; the draw gives {len(expected)}"
    diffs = [
        f"{a[0]}: published {b[0]}→{b[1]}, recomputed →{a[1]}"
        for a, b in zip(expected, published, strict=True)
        if a != b
    ]
    more = f" (and {len(diffs) - MAX_LISTED} more)" if len(diffs) > MAX_LISTED else ""
    return what + "; ".join(diffs[:MAX_LISTED]) + more


def check_allocation(
    manifest_bytes: bytes,
    reading: BeaconReading,
    proof: bytes,
    assignment: Assignment,
    *,
    vehicles: VehiclePairs = (),
    routes: RoutePairs = (),
    beacon_keys: Sequence[NoteVerifier] = (),
    pinned_vrf_key: bytes | None = None,
    recompute: bool = True,
) -> list[Finding]:
    """Every finding about one allocation (empty, or only warnings, when it holds)."""
    # (1) the manifest
    try:
        manifest = parse_manifest(manifest_bytes)
    except ManifestError as e:
        return [Finding(None, "manifest_invalid", str(e))]
    return check_parsed_allocation(
        manifest,
        manifest_sha256(manifest_bytes),
        reading,
        proof,
        assignment,
        vehicles=vehicles,
        routes=routes,
        beacon_keys=beacon_keys,
        pinned_vrf_key=pinned_vrf_key,
        recompute=recompute,
    )


def check_parsed_allocation(
    manifest: Manifest,
    digest: bytes,
    reading: BeaconReading,
    proof: bytes,
    assignment: Assignment,
    *,
    vehicles: VehiclePairs = (),
    routes: RoutePairs = (),
    beacon_keys: Sequence[NoteVerifier] = (),
    pinned_vrf_key: bytes | None = None,
    recompute: bool = True,
) -> list[Finding]:
    """Steps 2–5 of ``check_allocation`` for callers that have already parsed the manifest
    (``check_publication``, ``AllocationReplayer``); ``digest`` is the hash of its exact bytes."""
    # (2) its construction
    findings = check_manifest(manifest, recompute=recompute)
    fractional_ok = not any(f.code == "manifest_invalid" for f in findings)
    # (3) the beacon (DESIGN §4.3)
    if reading.round != manifest.beacon.round:
        findings.append(
            Finding(
                None,
                "beacon_invalid",
                f"beacon round {reading.round} is not the committed round {manifest.beacon.round}",
            )
        )
    try:
        commitment = parse_commitment(manifest.beacon.kind, manifest.beacon.commitment, beacon_keys)
        commitment.verify(reading)
    except BeaconError as e:
        findings.append(Finding(None, "beacon_invalid", str(e)))
    else:
        if commitment.insecure:
            findings.append(
                Finding(
                    None,
                    "beacon_insecure",
                    f"{commitment.kind} beacon: its values are known in advance (development only)",
                    WARNING,
                )
            )
    # (4) the VRF (DESIGN §4.4)
    if pinned_vrf_key is not None and pinned_vrf_key != manifest.vrf_key:
        findings.append(Finding(None, "vrf_invalid", "manifest's VRF key is not the pinned key"))
    try:
        beta = ecvrf_verify(manifest.vrf_key, vrf_input(digest, reading), proof)
    except VrfProofError as e:
        findings.append(Finding(None, "vrf_invalid", str(e)))
        return findings
    # (5) the draw (DESIGN §4.5)
    if not fractional_ok:
        findings.append(Finding(None, "assignment_mismatch", "not recomputed: F is invalid"))
        return findings
    seed = draw_seed(beta)
    for what, expected, published in (
        ("", draw_assignment(manifest, seed), tuple(assignment)),
        ("vehicles: ", draw_vehicles(manifest, seed), tuple(vehicles)),
        ("routes: ", draw_routes(manifest, seed), tuple(routes)),
    ):
        if expected != published:
            findings.append(
                Finding(
                    None, "assignment_mismatch", _describe_difference(expected, published, what)
                )
            )
    return findings


def verify_allocation(
    manifest_bytes: bytes,
    reading: BeaconReading,
    proof: bytes,
    assignment: Assignment,
    *,
    vehicles: VehiclePairs = (),
    routes: RoutePairs = (),
    beacon_keys: Sequence[NoteVerifier] = (),
    pinned_vrf_key: bytes | None = None,
) -> None:
    """Raise ``VerificationError`` listing every error finding; warnings do not fail.

    Raises:
        VerificationError: ``check_allocation`` found at least one error.
    """
    errors = [
        finding
        for finding in check_allocation(
            manifest_bytes,
            reading,
            proof,
            assignment,
            vehicles=vehicles,
            routes=routes,
            beacon_keys=beacon_keys,
            pinned_vrf_key=pinned_vrf_key,
        )
        if finding.severity == ERROR
    ]
    if errors:
        raise VerificationError("; ".join(f"{e.code}: {e.message}" for e in errors))
