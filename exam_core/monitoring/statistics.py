"""The statistics: do a month's examiners, schools and results look like the committed draws?

Research allocation.md §6.4 (level 3): the null hypothesis is not "uniform" but "drawn from the
committed F".  Each candidate c of a session had probability F[c,e] (units of the manifest's
scale over the scale) of getting examiner e, and the deterministic recomputation of each draw
is the first control; these tests are the second line, for what no single session shows.

Three families of tests, each over one centre's placements in the statistics window
(``StatisticsSettings.window_days``, default 30 days):

1. ``examiner_school_allocation`` — per (examiner e, school s): O = how many of s's candidates
   e was given; under the null O is a sum of independent Bernoulli(F[c,e]) over s's candidates
   (Poisson-binomial; the draw's dependent rounding only correlates them negatively, which
   makes the test conservative).
2. ``examiner_school_passes`` — per (e, s): O = how many of the s candidates the committed
   draws gave e (and that have a result) e passed; each contributes Bernoulli(p̂), where p̂ is
   school s's pass rate with the other examiners in the window (leave e out, so a colluding
   examiner does not raise his own yardstick).  This is "e passes s's candidates far more
   often than the allocations predict": the verified draws say whom e examined, the school's
   results elsewhere say how many of them should pass.  (Steering s's candidates to e shows in
   family 1; testing passes against F unconditionally would mix the draw's variance into
   every cell and lose much of the power.)
3. ``examiner_pass_rate`` — per e: O = e's passes among all the candidates e examined; each
   contributes Bernoulli(p̂ of the candidate's school without e).

Each test's p-value is two-sided, 2·min(P[X ≤ O], P[X ≥ O]) capped at 1, computed exactly
(the Poisson-binomial distribution by dynamic programming) whenever the normal approximation
puts it below 0.05, and from the normal approximation otherwise (such a cell can never be
flagged: Benjamini–Hochberg flags no p-value above q, and the points table keeps q ≤ 0.05).
Within each family the Benjamini–Hochberg procedure at ``q = false_discovery_ppm / 10^6``
(default 0.01) decides which cells are flagged; a flagged cell is a signal of its family's
source.

The functions are pure: placements in, findings out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exam_core.monitoring.signals import Signal, evidence_of

__all__ = [
    "Placement",
    "StatisticalFinding",
    "poisson_binomial_p_value",
    "statistical_findings",
    "statistics_signals",
]

SCREEN_P = 0.05
"""Below this normal-approximation p-value the exact distribution is computed."""


@dataclass(frozen=True)
class Placement:
    """One candidate of one committed allocation: the school, F's row as probabilities, who
    was drawn, the result (None: none yet), and the entries that show it."""

    candidate: str
    school: str
    shares: tuple[tuple[str, float], ...]
    """(examiner, F[c,e]) for every examiner with F[c,e] > 0."""
    examiner: str | None
    passed: bool | None
    allocation_entry: int
    result_entry: int | None = None
    at_ms: int = 0


@dataclass(frozen=True)
class StatisticalFinding:
    """A flagged cell: the test, who, what was observed and expected, and why it is flagged."""

    test: str
    examiner: str
    school: str | None
    observed: int
    expected: float
    sd: float
    p_value: float
    threshold: float
    cells: int
    entries: tuple[int, ...]

    def describe(self) -> str:
        what = {
            "examiner_school_allocation": (
                f"was given {self.observed} of {self.school}'s candidates"
            ),
            "examiner_school_passes": f"passed {self.observed} of {self.school}'s candidates",
            "examiner_pass_rate": f"passed {self.observed} candidates",
        }[self.test]
        return (
            f"examiner {self.examiner} {what}; the committed allocations predict "
            f"{self.expected:.1f} (sd {self.sd:.1f}): two-sided Poisson-binomial p = "
            f"{self.p_value:.2g} ≤ {self.threshold:.2g}, the Benjamini–Hochberg threshold over "
            f"{self.cells} cells"
        )


def _distribution(probabilities: Sequence[float]) -> list[float]:
    pmf = [1.0]
    for p in probabilities:
        nxt = [0.0] * (len(pmf) + 1)
        q = 1.0 - p
        for k, mass in enumerate(pmf):
            nxt[k] += mass * q
            nxt[k + 1] += mass * p
        pmf = nxt
    return pmf


def poisson_binomial_p_value(probabilities: Sequence[float], observed: int) -> float:
    """Two-sided p-value of ``observed`` successes among independent Bernoulli trials.

    Exact when the normal approximation says below ``SCREEN_P``; otherwise the approximation.
    """
    mean = math.fsum(probabilities)
    var = math.fsum(p * (1.0 - p) for p in probabilities)
    if var <= 0.0:
        return 1.0 if abs(observed - mean) < 0.5 else 0.0
    z = (abs(observed - mean) - 0.5) / math.sqrt(var)
    approx = min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0)))
    if approx >= SCREEN_P:
        return approx
    pmf = _distribution([p for p in probabilities if p > 0.0])
    lower = math.fsum(pmf[: observed + 1])
    upper = math.fsum(pmf[observed:])
    return min(1.0, 2.0 * min(lower, upper))


@dataclass
class _Cell:
    probabilities: list[float] = field(default_factory=list)
    observed: int = 0
    entries: list[int] = field(default_factory=list)

    def add(self, probability: float, happened: bool, entries: list[int]) -> None:
        self.probabilities.append(probability)
        if happened:
            self.observed += 1
            self.entries += entries


def _benjamini_hochberg(
    test: str, cells: dict[tuple[str, str | None], _Cell], q: float
) -> list[StatisticalFinding]:
    tested = []
    for (examiner, school), cell in cells.items():
        var = math.fsum(p * (1.0 - p) for p in cell.probabilities)
        if var <= 0.0:
            continue
        p_value = poisson_binomial_p_value(cell.probabilities, cell.observed)
        tested.append((p_value, examiner, school, cell, var))
    tested.sort(key=lambda t: (t[0], t[1], t[2] or ""))
    m = len(tested)
    flagged = 0
    for k, (p_value, *_) in enumerate(tested, start=1):
        if p_value <= q * k / m:
            flagged = k
    threshold = q * flagged / m if flagged else 0.0
    return [
        StatisticalFinding(
            test=test,
            examiner=examiner,
            school=school,
            observed=cell.observed,
            expected=math.fsum(cell.probabilities),
            sd=math.sqrt(var),
            p_value=p_value,
            threshold=threshold,
            cells=m,
            entries=evidence_of(cell.entries)[0],
        )
        for p_value, examiner, school, cell, var in tested[:flagged]
    ]


def _pass_rates_without(
    placements: Sequence[Placement],
) -> tuple[dict[str, tuple[int, int]], dict[tuple[str, str], tuple[int, int]]]:
    """Per school, and per (school, examiner), (passes, results)."""
    school: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_examiner: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for p in placements:
        if p.passed is None or p.examiner is None:
            continue
        for tally in (school[p.school], by_examiner[(p.school, p.examiner)]):
            tally[0] += int(p.passed)
            tally[1] += 1
    return (
        {k: (v[0], v[1]) for k, v in school.items()},
        {k: (v[0], v[1]) for k, v in by_examiner.items()},
    )


def _rate_without(
    school: str,
    examiner: str,
    totals: dict[str, tuple[int, int]],
    own: dict[tuple[str, str], tuple[int, int]],
) -> float | None:
    passes, results = totals.get(school, (0, 0))
    mine = own.get((school, examiner), (0, 0))
    rest = results - mine[1]
    return None if rest <= 0 else (passes - mine[0]) / rest


def statistical_findings(
    placements: Iterable[Placement], false_discovery_rate: float
) -> list[StatisticalFinding]:
    """The flagged cells of the three families over ``placements`` (one centre, one window)."""
    placed = [p for p in placements if p.examiner is not None]
    totals, own = _pass_rates_without(placed)
    allocation: dict[tuple[str, str | None], _Cell] = defaultdict(_Cell)
    passes: dict[tuple[str, str | None], _Cell] = defaultdict(_Cell)
    rates: dict[tuple[str, str | None], _Cell] = defaultdict(_Cell)
    for p in placed:
        results = [p.allocation_entry] + ([p.result_entry] if p.result_entry is not None else [])
        for examiner, share in p.shares:
            drawn = p.examiner == examiner
            # (1) the draw: was e given this candidate of s?
            allocation[(examiner, p.school)].add(share, drawn, [p.allocation_entry])
        # (2) and (3) the result given the draw: did e pass this candidate of s?
        rate = None if p.passed is None else _rate_without(p.school, str(p.examiner), totals, own)
        if rate is not None:
            passes[(str(p.examiner), p.school)].add(rate, bool(p.passed), results)
            rates[(str(p.examiner), None)].add(rate, bool(p.passed), results)
    return [
        *_benjamini_hochberg("examiner_school_allocation", allocation, false_discovery_rate),
        *_benjamini_hochberg("examiner_school_passes", passes, false_discovery_rate),
        *_benjamini_hochberg("examiner_pass_rate", rates, false_discovery_rate),
    ]


def statistics_signals(
    centre: str,
    placements: Iterable[Placement],
    false_discovery_rate: float,
    *,
    period: str,
    at_ms: int,
) -> list[Signal]:
    """The flagged cells as signals of ``centre``, one per (test, examiner, school, period).

    ``period`` names the window the placements cover (e.g. ``2026-11``); computing the same
    period again gives the same keys, so recording it again replaces rather than adds.
    """
    return [
        Signal(
            source=f.test,
            centre=centre,
            at_ms=at_ms,
            entries=f.entries,
            message=f"{period}: {f.describe()}",
            examiner=f.examiner,
            key=f"stat:{f.test}:{f.examiner}:{f.school or '*'}:{period}",
        )
        for f in statistical_findings(placements, false_discovery_rate)
    ]
