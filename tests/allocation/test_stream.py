"""The seeded stream of research §4.1: its test vector, its byte layout, its uniformity."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from scipy import stats

from allocation import SeedStream

SEED = hashlib.sha256(b"example seed").digest()


def test_research_vector() -> None:
    assert SEED.hex().startswith("326eaa54")
    assert SEED.hex().endswith("0796b81")
    assert SeedStream(SEED, "examiner-order").shuffle(list(range(10))) == [
        0,
        8,
        3,
        9,
        4,
        7,
        5,
        1,
        2,
        6,
    ]
    x = SeedStream(SEED, "x")
    assert [x.below(40) for _ in range(5)] == [38, 4, 38, 23, 19]


def test_bytes_are_sha256_counter_mode_with_length_prefixed_label() -> None:
    label = "rounding"
    expected = b"".join(
        hashlib.sha256(
            SEED + len(label).to_bytes(2, "big") + label.encode() + i.to_bytes(8, "big")
        ).digest()
        for i in range(3)
    )
    stream = SeedStream(SEED, label)
    assert stream.read(5) + stream.read(40) + stream.read(51) == expected


def test_labels_give_independent_streams() -> None:
    assert SeedStream(SEED, "a").read(32) != SeedStream(SEED, "b").read(32)
    assert SeedStream(SEED, "ab").read(32) != SeedStream(SEED + b"a", "b").read(32)


def test_rejection_sampling_skips_values_at_or_above_the_limit() -> None:
    # Find a seed whose first 8 bytes fall in the rejected tail for n = 2^63 + 1
    # (limit = 2^63 + 1, so about half of all words are rejected).
    n = 2**63 + 1
    for i in range(64):
        seed = i.to_bytes(32, "big")
        words = SeedStream(seed, "r")
        first = int.from_bytes(words.read(8), "big")
        second = int.from_bytes(words.read(8), "big")
        if first >= n and second < n:
            assert SeedStream(seed, "r").below(n) == second
            return
    pytest.fail("no seed exercised the rejection path")


def test_bounds_of_below() -> None:
    stream = SeedStream(SEED, "b")
    assert stream.below(1) == 0
    assert 0 <= stream.below(2**64) < 2**64
    for bad in (0, -1, 2**64 + 1):
        with pytest.raises(ValueError):
            stream.below(bad)


@pytest.mark.parametrize("n", [2, 40, 41, 65, 1000])
def test_below_is_uniform(n: int) -> None:
    stream = SeedStream(SEED, f"uniform-{n}")
    draws = 200 * n
    counts = [0] * n
    for _ in range(draws):
        counts[stream.below(n)] += 1
    assert stats.chisquare(counts).pvalue > 1e-4


def test_shuffle_of_five_is_uniform_over_all_permutations() -> None:
    index = {p: i for i, p in enumerate(itertools.permutations(range(5)))}
    counts = [0] * len(index)
    for s in range(24_000):
        order = SeedStream(s.to_bytes(8, "big"), "perm").shuffle(range(5))
        counts[index[tuple(order)]] += 1
    assert min(counts) > 0
    assert stats.chisquare(counts).pvalue > 1e-4
