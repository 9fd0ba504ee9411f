"""Allocation for 500 candidates × 100 examiners: Q*, F, the draw, and its verification.

Times, on a synthetic roster of research §1.2's shape (several licence classes, driving schools,
former-instructor examiners, relatives, retakes):

- Q* (binary search of max-flow feasibility checks) and F (the most even fractional assignment);
- the draw: ECVRF proof plus the dependent rounding of F (goal: under 1 s);
- the verification an auditor runs: parse the manifest, check F's rules, verify the beacon and
  the VRF proof, recompute the rounding and compare (goal: under 1 s); and the full
  verification that also rebuilds Q* and F from the roster.

The limit printed with the verification is its cryptographic floor measured in the same run:
SHA-256 of the manifest plus one ECVRF verification, which no verifier can skip.  Times are given
as wall and CPU seconds; the JSON figure is the verification's CPU time (wall time on a shared
machine mostly measures the other load).  The script then
runs the long sampler-conformity check (χ² per candidate row of F, KS over the p-values) that the
unit tests run in a shorter form.

    python bench/allocation.py [--quick] [--candidates N] [--examiners M] [--draws D]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# This script is named like the package it measures: import the package, not the script.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(_BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

from scipy import stats  # noqa: E402

from allocation import (  # noqa: E402
    BeaconTarget,
    DevBeacon,
    InfeasibleError,
    Manifest,
    assignment_problem,
    build_fractional,
    check_allocation,
    draw_assignment,
    ecvrf_verify,
    encode_manifest,
    find_conflicts,
    make_allocation,
    prepare_manifest,
    smallest_cap,
    synthetic_roster,
    vrf_input,
    vrf_public_key,
)
from bench.result_line import print_result  # noqa: E402

T = TypeVar("T")
SCALE = 10_000
CAP = 2_000
VRF_SECRET = hashlib.sha256(b"bench allocator").digest()


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, float, T]:
    """Median wall and CPU seconds of ``repeats`` runs (other load inflates wall time), result."""
    times, cpu = [], []
    result: T
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), statistics.median(cpu), result


def conformity(draws: int) -> tuple[float, float, float, int, str]:
    """Sampler conformity on a 40 × 8 synthetic manifest at cap Q*: KS p, min χ² p, max excess.

    Mostly C1 candidates, so that Q* is well below 1 and the cap binds on real pairs.
    """
    for seed in range(100):
        roster = synthetic_roster(40, 8, seed, class_mix=(("C1", 85), ("C2", 15)))
        problem = assignment_problem(roster, find_conflicts(roster), 1000)
        try:
            q_star = smallest_cap(problem)
        except InfeasibleError:
            continue
        if q_star < 500:
            break
    else:
        raise SystemExit("no 40 × 8 synthetic roster with Q* < 0.5 in 100 seeds")
    beacon = DevBeacon(b"\x00" * 32, genesis_ms=0, period_ms=1000)
    manifest = prepare_manifest(
        roster,
        scale=1000,
        cap=q_star,
        beacon=BeaconTarget("dev", beacon.commitment_text, 1),
        vrf_key=vrf_public_key(VRF_SECRET),
    )
    index = {e.id: j for j, e in enumerate(manifest.roster.examiners)}
    counts = [Counter[int]() for _ in manifest.roster.candidates]
    for s in range(draws):
        for c, (_, examiner) in enumerate(draw_assignment(manifest, s.to_bytes(8, "big"))):
            counts[c][index[examiner]] += 1
    p_values, excess = [], 0.0
    for c, row in enumerate(manifest.fractional):
        observed = [counts[c][e] for e, _ in row]
        expected = [draws * w / manifest.scale for _, w in row]
        excess = max(excess, max(o / draws for o in observed) - manifest.cap / manifest.scale)
        if len(row) > 1:
            p_values.append(stats.chisquare(observed, expected).pvalue)
    ks = stats.kstest(p_values, "uniform").pvalue
    return ks, min(p_values), excess, len(p_values), f"{q_star}/1000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one repetition, fewer draws")
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--examiners", type=int, default=100)
    parser.add_argument("--draws", type=int, default=None, help="draws of the conformity check")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    draws = args.draws or (1_000 if args.quick else 20_000)

    roster = synthetic_roster(args.candidates, args.examiners, seed=7)
    conflicts = find_conflicts(roster)
    problem = assignment_problem(roster, conflicts, SCALE)
    pairs = sum(len(row) for row in problem.eligible)
    t_qstar, c_qstar, q_star = timed(lambda: smallest_cap(problem), repeats)
    t_f, c_f, fractional = timed(lambda: build_fractional(problem, CAP, q_star), repeats)
    print(
        f"roster {args.candidates} × {args.examiners}: {len(conflicts)} conflicts, "
        f"{pairs} eligible pairs; F has {sum(len(r) for r in fractional)} non-zero pairs"
    )
    print(
        f"Q* = {q_star}/{SCALE}: {t_qstar:.3f} s (CPU {c_qstar:.3f} s);  "
        f"F at cap {CAP}/{SCALE}: {t_f:.3f} s (CPU {c_f:.3f} s)"
    )

    beacon = DevBeacon(b"\x01" * 32, genesis_ms=0, period_ms=1000)
    manifest: Manifest = prepare_manifest(
        roster,
        scale=SCALE,
        cap=CAP,
        beacon=BeaconTarget("dev", beacon.commitment_text, 10),
        vrf_key=vrf_public_key(VRF_SECRET),
    )
    data = encode_manifest(manifest)
    reading = beacon.reveal(10)
    t_draw, c_draw, allocation = timed(
        lambda: make_allocation(data, manifest, reading, VRF_SECRET), repeats
    )
    t_verify, c_verify, problems = timed(
        lambda: check_allocation(
            data, reading, allocation.proof, allocation.assignment, recompute=False
        ),
        repeats,
    )
    assert [p.code for p in problems] == ["beacon_insecure"], problems
    t_full, c_full, problems = timed(
        lambda: check_allocation(data, reading, allocation.proof, allocation.assignment),
        1,
    )
    assert [p.code for p in problems] == ["beacon_insecure"], problems
    alpha = vrf_input(hashlib.sha256(data).digest(), reading)
    t_floor, c_floor, _ = timed(
        lambda: (
            hashlib.sha256(data).digest(),
            ecvrf_verify(manifest.vrf_key, alpha, allocation.proof),
        ),
        max(repeats, 20),
    )
    print(f"draw (ECVRF prove + rounding): {t_draw:.3f} s, CPU {c_draw:.3f} s   (goal < 1 s)")
    print(
        f"verification (parse, F rules, beacon, VRF, rounding): {t_verify:.3f} s, "
        f"CPU {c_verify:.3f} s   (goal < 1 s)"
    )
    print(f"full verification (also rebuilds Q* and F): {t_full:.3f} s, CPU {c_full:.3f} s")
    print(
        f"cryptographic floor (SHA-256 of {len(data)} B manifest + ECVRF verify): "
        f"{t_floor * 1000:.2f} ms (CPU {c_floor * 1000:.2f} ms)"
    )

    ks, worst, excess, rows, q_used = conformity(draws)
    print(
        f"sampler conformity, {draws} draws, {rows} rows, cap Q* = {q_used}: KS p = {ks:.3f}, "
        f"min χ² p = {worst:.4f} (Bonferroni threshold {0.001 / rows:.5f}), "
        f"largest frequency − cap = {excess:+.4f}"
    )
    print_result(
        f"allocation_verify_cpu_s_{args.candidates}x{args.examiners}",
        c_verify,
        "s",
        c_floor,
        digits=6,
    )


if __name__ == "__main__":
    main()
