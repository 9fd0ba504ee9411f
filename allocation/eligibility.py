"""Who may examine whom: licence-class qualification minus conflicts of interest.

The conflicts (DESIGN §4.2) are derived from the roster alone, each with the evidence
reference that produced it, so the same roster always gives the same exclusions and the
auditor can recompute them:

- ``former_school``: the examiner formerly worked for the candidate's driving school;
- ``relative``: a declared family tie;
- ``previous_fail``: the examiner examined the candidate's previous failed attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from allocation.fractional import AssignmentProblem
from allocation.roster import CandidateId, EvidenceRef, ExaminerId, Roster

CONFLICT_REASONS = ("former_school", "relative", "previous_fail")


@dataclass(frozen=True, order=True)
class Conflict:
    candidate: CandidateId
    examiner: ExaminerId
    reason: str
    evidence: EvidenceRef


def find_conflicts(roster: Roster) -> tuple[Conflict, ...]:
    """Every conflict-of-interest pair of the roster, sorted, with its evidence."""
    found: set[Conflict] = set()
    on_duty = {examiner.id for examiner in roster.examiners}
    by_school: dict[str, list[tuple[ExaminerId, EvidenceRef]]] = {}
    for examiner in roster.examiners:
        for job in examiner.former_schools:
            by_school.setdefault(job.school, []).append((examiner.id, job.evidence))
    for candidate in roster.candidates:
        for examiner_id, evidence in by_school.get(candidate.school, ()):
            found.add(Conflict(candidate.id, examiner_id, "former_school", evidence))
        fail = candidate.previous_fail
        if fail is not None and fail.examiner in on_duty:
            found.add(Conflict(candidate.id, fail.examiner, "previous_fail", fail.evidence))
    for relation in roster.relatives:
        found.add(Conflict(relation.candidate, relation.examiner, "relative", relation.evidence))
    return tuple(sorted(found))


def assignment_problem(
    roster: Roster, conflicts: tuple[Conflict, ...], scale: int
) -> AssignmentProblem:
    """Index form of the roster: eligible examiners per candidate, load windows, scale."""
    excluded = {(c.candidate, c.examiner) for c in conflicts}
    eligible = tuple(
        tuple(
            e
            for e, examiner in enumerate(roster.examiners)
            if candidate.licence_class in examiner.classes
            and (candidate.id, examiner.id) not in excluded
        )
        for candidate in roster.candidates
    )
    windows = [roster.load_window(examiner) for examiner in roster.examiners]
    return AssignmentProblem(
        candidates=tuple(c.id for c in roster.candidates),
        examiners=tuple(e.id for e in roster.examiners),
        eligible=eligible,
        load_min=tuple(low for low, _ in windows),
        load_max=tuple(high for _, high in windows),
        scale=scale,
    )
