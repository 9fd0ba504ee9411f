"""Synthetic but realistic rosters for demonstrations, tests and benchmarks.

Shaped after the instance of research §1.2: several licence classes (mostly C1), about one
driving school per twenty candidates (six at least: even a small centre serves several, and
with fewer a former instructor would conflict with most of a session), 40 % of examiners
former instructors at one or two schools, a few declared relatives, and 30 % retakes whose
previous examiner is excluded.  Every examiner is qualified for C1 and the first examiners
cover every class three times; a staff too small for that holds candidates only of the classes
it covers.  Ids are zero-padded to the width of the largest (``c-0001``, ``c-10000`` for ten
thousand candidates), so they sort as they are numbered.  Ids and evidence references are
pseudonymous.
"""

from __future__ import annotations

import random

from allocation.roster import (
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    PreviousFail,
    Relation,
    Roster,
    SchoolId,
)

CLASS_MIX = (("C1", 60), ("C2", 15), ("B2", 10), ("A1", 5), ("D", 5), ("C5", 5))
"""Licence classes of the candidates and their share in percent."""
EXTRA_QUALIFICATION = {"C2": 70, "B2": 30, "A1": 15, "D": 25, "C5": 20}
"""Percent of examiners qualified for each class beyond C1."""


def synthetic_roster(
    candidates: int,
    examiners: int,
    seed: int,
    session: str = "",
    class_mix: tuple[tuple[str, int], ...] = CLASS_MIX,
) -> Roster:
    """A roster of ``candidates`` × ``examiners``, reproducible from ``seed``.

    ``class_mix`` gives the candidates' licence classes with integer weights.

    Raises:
        ValueError: ``candidates`` or ``examiners`` is below 1.
    """
    if candidates < 1 or examiners < 1:
        raise ValueError("a roster has at least one candidate and one examiner")
    rng = random.Random(seed)
    schools = [SchoolId(f"school-{i:02d}") for i in range(1, max(6, candidates // 20) + 1)]
    extra = list(EXTRA_QUALIFICATION)
    cwidth, ewidth = max(4, len(str(candidates))), max(3, len(str(examiners)))
    staff = []
    for i in range(examiners):
        classes = {"C1"} | {c for c, pct in EXTRA_QUALIFICATION.items() if rng.randrange(100) < pct}
        if i < 3 * len(extra):
            classes.add(extra[i % len(extra)])  # the first examiners cover every class thrice
        jobs: tuple[Employment, ...] = ()
        if rng.randrange(100) < 40:
            picked = rng.sample(schools, k=min(len(schools), rng.choice((1, 1, 2))))
            jobs = tuple(
                Employment(school, EvidenceRef(f"hr/{rng.randrange(2005, 2024)}/{i:04d}-{n}"))
                for n, school in enumerate(sorted(picked))
            )
        staff.append(Examiner(ExaminerId(f"e-{i + 1:0{ewidth}d}"), frozenset(classes), jobs))
    # A small staff may hold no examiner of some class: its candidates come from the others.
    held = set().union(*(e.classes for e in staff))
    mix = [(c, pct) for c, pct in class_mix if c in held] or list(class_mix)
    weights = [pct for _, pct in mix]
    classes_in_mix = [c for c, _ in mix]
    people = []
    relatives = []
    for i in range(candidates):
        cid = CandidateId(f"c-{i + 1:0{cwidth}d}")
        fail = None
        if rng.randrange(100) < 30:
            fail = PreviousFail(
                ExaminerId(f"e-{rng.randrange(1, examiners + 1):0{ewidth}d}"),
                EvidenceRef(f"exam/{rng.randrange(10**6):06d}"),
            )
        people.append(
            Candidate(cid, rng.choices(classes_in_mix, weights)[0], rng.choice(schools), fail)
        )
        if rng.randrange(1000) < 10:
            relatives.append(
                Relation(
                    ExaminerId(f"e-{rng.randrange(1, examiners + 1):0{ewidth}d}"),
                    cid,
                    EvidenceRef(f"decl/{i + 1:0{cwidth}d}"),
                )
            )
    relatives.sort(key=lambda r: (r.candidate, r.examiner))
    name = session or f"session-{seed}"
    return Roster(name, tuple(people), tuple(staff), tuple(relatives))
