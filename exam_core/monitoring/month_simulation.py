"""A simulated month of one centre: real allocations, made-up results, honest or not.

What the statistics (``exam_core.monitoring.statistics``) are measured on: their false-alarm
rate over many honest months, and whether they catch a colluding examiner.  The allocations
are the real thing — each session's F is ``allocation.draw.prepare_manifest``'s, each draw is
the real dependent rounding (``draw_assignment``) from a seed of the month's generator — only
the ECVRF and the beacon, which do not change the distribution, are left out.  The results are
drawn per candidate from their school's pass rate; a colluding examiner passes every candidate
of one school he is given.

The staff: ten examiners, two of them former instructors (one at ``school-1``, one at
``school-2``), so F is not uniform; eight schools of unequal size with pass rates from 45 % to
80 %; 22 sessions of 60 candidates (1,320 exams).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from allocation.draw import draw_assignment, prepare_manifest
from allocation.manifest import BeaconTarget, Manifest
from allocation.roster import (
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    Roster,
    SchoolId,
)
from exam_core.monitoring.statistics import Placement

__all__ = ["Collusion", "MonthShape", "session_pool", "simulate_month"]

SCALE = 10_000
SCHOOL_PASS_RATES = (0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
SCHOOL_WEIGHTS = (3, 2, 2, 1, 1, 1, 1, 1)
"""Relative sizes of ``school-1`` … ``school-8``."""
SCHOOLS = tuple(f"school-{i}" for i in range(1, len(SCHOOL_PASS_RATES) + 1))


@dataclass(frozen=True)
class Collusion:
    """Examiner ``examiner`` passes every candidate of ``school`` he is given."""

    examiner: str
    school: str


@dataclass(frozen=True)
class MonthShape:
    sessions: int = 22
    candidates: int = 60
    examiners: int = 10


def _staff(count: int) -> tuple[Examiner, ...]:
    staff = []
    for i in range(1, count + 1):
        former: tuple[Employment, ...] = ()
        if i in (1, 2):
            former = (Employment(SchoolId(f"school-{i}"), EvidenceRef(f"employment/e-{i:02d}")),)
        staff.append(Examiner(ExaminerId(f"e-{i:02d}"), frozenset({"C1"}), former))
    return tuple(staff)


@functools.lru_cache(maxsize=4)
def session_pool(shape: MonthShape) -> tuple[tuple[Manifest, tuple[int, ...]], ...]:
    """``2 × shape.sessions`` sessions' manifests with their candidates' schools (indexes).

    Months draw their sessions from this pool: computing F takes ~0.1 s a session, drawing
    from it ~9 ms, so a month costs a fifth of a second instead of two and a half.
    """
    rng = random.Random(0)
    staff = _staff(shape.examiners)
    pool = []
    for s in range(2 * shape.sessions):
        picks = tuple(rng.choices(range(len(SCHOOLS)), weights=SCHOOL_WEIGHTS, k=shape.candidates))
        candidates = tuple(
            Candidate(CandidateId(f"c-{s:02d}-{k:03d}"), "C1", SchoolId(SCHOOLS[school]))
            for k, school in enumerate(picks)
        )
        manifest = prepare_manifest(
            Roster(f"s-{s:02d}", candidates, staff),
            scale=SCALE,
            cap=SCALE,
            beacon=BeaconTarget("dev", "simulated", 1),
            vrf_key=bytes(32),
        )
        pool.append((manifest, picks))
    return tuple(pool)


def simulate_month(
    seed: int, shape: MonthShape = MonthShape(), collusion: Collusion | None = None
) -> list[Placement]:
    """Every placement of a simulated month, reproducible from ``seed``: ``shape.sessions``
    sessions from the pool, each drawn afresh, each candidate's result drawn afresh."""
    rng = random.Random(seed)
    pool = session_pool(shape)
    placements: list[Placement] = []
    entry = 0
    for manifest, picks in rng.sample(pool, shape.sessions):
        examiners = [e.id for e in manifest.roster.examiners]
        drawn = dict(draw_assignment(manifest, rng.randbytes(32)))
        made = entry
        entry += 1
        for candidate, row, school in zip(
            manifest.roster.candidates, manifest.fractional, picks, strict=True
        ):
            examiner = str(drawn[candidate.id])
            rate = SCHOOL_PASS_RATES[school]
            if collusion is not None and (examiner, SCHOOLS[school]) == (
                collusion.examiner,
                collusion.school,
            ):
                rate = 1.0
            placements.append(
                Placement(
                    candidate=f"{candidate.id}@{made}",
                    school=SCHOOLS[school],
                    shares=tuple((examiners[e], units / SCALE) for e, units in row),
                    examiner=examiner,
                    passed=rng.random() < rate,
                    allocation_entry=made,
                    result_entry=entry,
                )
            )
            entry += 1
    return placements
