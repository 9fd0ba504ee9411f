"""Which examiner may take which car this session: the problem the vehicle draw rounds.

Examiner–car pairings are reshuffled every session (research/domain.md §3.1: the centre hands
each examiner the keys of a car drawn at random, and nobody knows their car before boarding).
The draw gives each examiner one car with the examiner draw's own protocol — F in the manifest,
the beacon, the VRF seed, dependent rounding — and each candidate drives the car of the examiner
drawn for them.  Rows are examiners, columns are vehicles: every examiner takes exactly one car,
every car serves at most one examiner (load window 0..1).

A pair (examiner e, vehicle v) is eligible when

1. e holds v's licence class, and every candidate e may examine (an eligible pair of the examiner
   draw) is of that class: the car must serve whichever of them the draw gives e;

and no conflict excludes it, each with the evidence that produced it:

2. ``own_school``: a candidate e may examine belongs to v's driving school (evidence: the first
   such candidate by id), so whichever of them the draw gave e could drive their own school's car;
3. ``former_school``: e formerly worked for v's school (evidence: the employment record).

Conflicts are decided against every candidate e *may* examine, not the one drawn, so they are
fixed before the beacon round and the manifest can carry F and its cap: a candidate never drives
their own school's car whatever the draw, and a school's car stays idle with every examiner who
may be given that school's candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocation.eligibility import Conflict, assignment_problem
from allocation.fractional import AssignmentProblem
from allocation.roster import CandidateId, EvidenceRef, ExaminerId, Roster, SchoolId, VehicleId

VEHICLE_CONFLICT_REASONS = ("own_school", "former_school")


@dataclass(frozen=True, order=True)
class VehicleConflict:
    examiner: ExaminerId
    vehicle: VehicleId
    reason: str
    evidence: EvidenceRef


def _candidates_of(roster: Roster, conflicts: tuple[Conflict, ...]) -> list[list[int]]:
    """Per examiner, the indices of the candidates the examiner draw may give them."""
    eligible = assignment_problem(roster, conflicts, 1).eligible
    reach: list[list[int]] = [[] for _ in roster.examiners]
    for c, examiners in enumerate(eligible):
        for e in examiners:
            reach[e].append(c)
    return reach


def find_vehicle_conflicts(
    roster: Roster, conflicts: tuple[Conflict, ...]
) -> tuple[VehicleConflict, ...]:
    """Every conflicting (examiner, vehicle) pair of the roster, sorted, with its evidence."""
    found: set[VehicleConflict] = set()
    reach = _candidates_of(roster, conflicts)
    for e, examiner in enumerate(roster.examiners):
        first_of_school: dict[SchoolId, CandidateId] = {}
        for c in reach[e]:
            candidate = roster.candidates[c]
            first_of_school.setdefault(candidate.school, candidate.id)  # ascending ids
        worked = {job.school: job.evidence for job in examiner.former_schools}
        for vehicle in roster.vehicles:
            if vehicle.school is None:
                continue
            if vehicle.school in first_of_school:
                evidence = EvidenceRef(f"candidate/{first_of_school[vehicle.school]}")
                found.add(VehicleConflict(examiner.id, vehicle.id, "own_school", evidence))
            if vehicle.school in worked:
                found.add(
                    VehicleConflict(
                        examiner.id, vehicle.id, "former_school", worked[vehicle.school]
                    )
                )
    return tuple(sorted(found))


def vehicle_problem(
    roster: Roster,
    conflicts: tuple[Conflict, ...],
    vehicle_conflicts: tuple[VehicleConflict, ...],
    scale: int,
) -> AssignmentProblem:
    """Index form: per examiner the eligible vehicles (ascending), every car's window 0..1."""
    excluded = {(c.examiner, c.vehicle) for c in vehicle_conflicts}
    reach = _candidates_of(roster, conflicts)
    eligible = []
    for e, examiner in enumerate(roster.examiners):
        classes = {roster.candidates[c].licence_class for c in reach[e]}
        eligible.append(
            tuple(
                v
                for v, vehicle in enumerate(roster.vehicles)
                if vehicle.licence_class in examiner.classes
                and classes <= {vehicle.licence_class}
                and (examiner.id, vehicle.id) not in excluded
            )
        )
    count = len(roster.vehicles)
    return AssignmentProblem(
        candidates=tuple(e.id for e in roster.examiners),
        examiners=tuple(v.id for v in roster.vehicles),
        eligible=tuple(eligible),
        load_min=(0,) * count,
        load_max=(1,) * count,
        scale=scale,
        rows="examiner",
        columns="vehicle",
    )
