"""Late changes after the draw: a no-show, or an examiner who withdraws (DESIGN §4.7).

The repair is fixed in advance and driven by the draw's own seed on a fresh label
(``repair-<k>`` for the k-th repair of a session), so it is as verifiable as the draw and the
operator has no choice left in it:

1. no-show candidates leave the assignment;
2. every candidate of a withdrawn examiner, in manifest order, takes a new examiner among those
   eligible for them, not withdrawn and below their maximum load (when there are none, among
   those exactly at it: a withdrawal removes capacity, so one over the window is allowed),
   chosen with probability proportional to the candidate's row of F (uniformly among them if
   F gives them all zero);
3. candidates already assigned keep their examiner.

Conditioned on the withdrawal, each reassigned pair has probability F[c][e] / Σ F[c][options],
which can exceed the cap; the monitoring centre counts repairs for that reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from allocation.draw import Assignment
from allocation.eligibility import assignment_problem
from allocation.errors import RepairError
from allocation.manifest import Manifest
from allocation.roster import ExaminerId
from allocation.stream import SeedStream

REPAIR_KINDS = ("no_show", "examiner_withdrawn")


@dataclass(frozen=True)
class LateChange:
    """``no_show`` names a candidate; ``examiner_withdrawn`` names an examiner."""

    kind: str
    subject: str


def repair_label(number: int) -> str:
    return f"repair-{number}"


def repair_assignment(
    manifest: Manifest,
    assignment: Assignment,
    changes: Sequence[LateChange],
    seed: bytes,
    number: int,
) -> Assignment:
    """The assignment after the ``number``-th repair (1-based) applies ``changes``.

    Raises:
        RepairError: ``number`` is below 1 or ``changes`` is empty; a pair of ``assignment`` is not
            on the roster; a no-show is not assigned, a withdrawn examiner is not on the roster or a
            change is of an unknown kind; or a candidate whose examiner withdrew has no eligible
            examiner left with room.
    """
    if number < 1:
        raise RepairError("repairs are numbered from 1")
    if not changes:
        raise RepairError("a repair needs at least one late change")
    roster = manifest.roster
    index = {e.id: i for i, e in enumerate(roster.examiners)}
    on_roster = {c.id for c in roster.candidates}
    for candidate, examiner in assignment:
        if candidate not in on_roster or examiner not in index:
            raise RepairError(f"assignment pair {candidate}–{examiner} is not on the roster")
    assigned = {c for c, _ in assignment}
    absent: set[str] = set()
    withdrawn: set[str] = set()
    for change in changes:
        if change.kind == "no_show":
            if change.subject not in assigned:
                raise RepairError(f"no-show {change.subject} is not in the assignment")
            absent.add(change.subject)
        elif change.kind == "examiner_withdrawn":
            if change.subject not in index:
                raise RepairError(f"withdrawn examiner {change.subject} is not on the roster")
            withdrawn.add(change.subject)
        else:
            raise RepairError(f"unknown late change {change.kind!r}; known: {REPAIR_KINDS}")

    # (1)
    kept = [(c, e) for c, e in assignment if c not in absent]
    loads = Counter(e for _, e in kept if e not in withdrawn)
    problem = assignment_problem(roster, manifest.conflicts, manifest.scale)
    row_of = {cand.id: i for i, cand in enumerate(roster.candidates)}
    stream = SeedStream(seed, repair_label(number))
    out = []
    for candidate, examiner in kept:
        if examiner not in withdrawn:  # (3)
            out.append((candidate, examiner))
            continue
        # (2)
        c = row_of[candidate]
        present = [e for e in problem.eligible[c] if problem.examiners[e] not in withdrawn]
        options = [
            e for e in present if loads[ExaminerId(problem.examiners[e])] < problem.load_max[e]
        ]
        if not options:  # the withdrawal took capacity away: one over the maximum is allowed
            options = [
                e for e in present if loads[ExaminerId(problem.examiners[e])] == problem.load_max[e]
            ]
        if not options:
            raise RepairError(
                f"candidate {candidate} has no eligible examiner with room left after the repair"
            )
        weights = dict(manifest.fractional[c])
        shares = [weights.get(e, 0) for e in options]
        total = sum(shares)
        if total > 0:
            point = stream.below(total)
            for e, share in zip(options, shares, strict=True):
                if point < share:
                    pick = e
                    break
                point -= share
        else:
            pick = options[stream.below(len(options))]
        new = ExaminerId(problem.examiners[pick])
        loads[new] += 1
        out.append((candidate, new))
    return tuple(out)
