"""The sampler: every draw feasible, pair marginals equal to F (χ² per row, KS over rows)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from allocation import (
    Manifest,
    SeedStream,
    assignment_problem,
    build_fractional,
    draw_assignment,
    round_fractional,
    smallest_cap,
)
from tests.allocation.conformity import assert_draws_match_f
from tests.allocation.samples import publish, small_roster
from tests.allocation.test_fractional import random_problem

DRAWS = 4000


def _tight_roster_manifest() -> Manifest:
    """Windows of exactly 3 bind the spread (δ > 0), so F is far from uniform."""
    roster = small_roster()
    tight = tuple(replace(e, load_min=3, load_max=3) for e in roster.examiners)
    return publish(replace(roster, examiners=tight), cap=400).manifest


@pytest.fixture(scope="module", params=["windows 2..4", "windows 3..3"])
def manifest(request: pytest.FixtureRequest) -> Manifest:
    if request.param == "windows 2..4":
        return publish(small_roster(), cap=400).manifest
    return _tight_roster_manifest()


def test_draws_are_feasible_and_match_f(manifest: Manifest) -> None:
    roster, scale = manifest.roster, manifest.scale
    problem = assignment_problem(roster, manifest.conflicts, scale)
    conflicts = {(c.candidate, c.examiner) for c in manifest.conflicts}
    index = {e.id: j for j, e in enumerate(roster.examiners)}
    counts = [Counter[int]() for _ in roster.candidates]
    for s in range(DRAWS):
        assignment = draw_assignment(manifest, s.to_bytes(8, "big"))
        loads = Counter(e for _, e in assignment)
        for j, examiner in enumerate(roster.examiners):
            assert problem.load_min[j] <= loads[examiner.id] <= problem.load_max[j]
        for c, (candidate, drawn) in enumerate(assignment):
            assert candidate == roster.candidates[c].id
            assert (candidate, drawn) not in conflicts
            assert index[drawn] in problem.eligible[c]
            counts[c][index[drawn]] += 1

    assert_draws_match_f(counts, manifest.fractional, scale, manifest.cap, DRAWS)


def test_f_of_the_tight_roster_is_not_uniform() -> None:
    """Guards the test above: one of its manifests really exercises uneven rows."""
    manifest = _tight_roster_manifest()
    assert any(len({w for _, w in row}) > 1 and len(row) > 4 for row in manifest.fractional)


def test_the_draw_is_a_function_of_the_seed() -> None:
    manifest = publish(small_roster(), cap=400).manifest
    first = draw_assignment(manifest, b"\x01" * 32)
    assert draw_assignment(manifest, b"\x01" * 32) == first
    assert any(draw_assignment(manifest, bytes([k]) * 32) != first for k in range(2, 6))


def test_integral_rows_need_no_randomness() -> None:
    rows = (((0, 10),), ((1, 10),))
    assert round_fractional(rows, 2, 10, SeedStream(b"s", "rounding")) == (0, 1)


def test_a_row_that_does_not_sum_to_the_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="does not sum"):
        round_fractional((((0, 4), (1, 4)),), 2, 10, SeedStream(b"s", "rounding"))


PINNED = [(1, 0, 2), (0, 1, 2), (1, 0, 2), (1, 0, 2), (2, 0, 1), (0, 1, 2)]
"""Seeds bytes([k]) * 32, k = 0..5; also published in docs/allocation.md for re-implementers."""


def test_pinned_draw_vector() -> None:
    """The exact output for a fixed F and seed: any change to the traversal shows up here."""
    rows = (
        ((0, 5), (1, 3), (2, 2)),
        ((0, 3), (1, 4), (2, 3)),
        ((0, 2), (1, 3), (2, 5)),
    )
    drawn = [
        round_fractional(rows, 3, 10, SeedStream(bytes([k]) * 32, "rounding")) for k in range(6)
    ]
    assert all(sorted(d) == [0, 1, 2] for d in drawn)  # loads 1 each: a permutation
    assert drawn == PINNED


@pytest.mark.parametrize("seed", range(30))
def test_every_draw_on_random_rosters_is_feasible(seed: int) -> None:
    rng = random.Random(seed)
    problem = random_problem(rng, scale=rng.choice((7, 60, 1000)))
    cap = min(problem.scale, smallest_cap(problem) + rng.randint(0, 5))
    fractional = build_fractional(problem, cap)
    for k in range(20):
        chosen = round_fractional(
            fractional, len(problem.examiners), problem.scale, SeedStream(bytes([k]), "rounding")
        )
        loads = Counter(chosen)
        for c, e in enumerate(chosen):
            assert e in dict(fractional[c]), "drawn pair has F = 0"
        for e in range(len(problem.examiners)):
            assert problem.load_min[e] <= loads[e] <= problem.load_max[e]
