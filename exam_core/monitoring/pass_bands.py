"""Each examiner's pass rate beside the band the committed allocations predict for it.

The picture behind the statistics' ``examiner_pass_rate`` family
(``exam_core.monitoring.statistics``): examiner e's candidates, as the verified draws gave them,
would each pass with p̂ = the pass rate of the candidate's school with the other examiners.  The
expected passes are Σ p̂ with variance Σ p̂(1 − p̂); the band drawn is the expected rate ± two
standard deviations (about 95 % under the null).  It is a picture, not the test: the warning
comes from the exact Poisson-binomial test with Benjamini–Hochberg over all examiners.
Candidates whose school has no result with another examiner are left out of the prediction
(and of the observed rate beside it, so the two speak of the same candidates).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from exam_core.monitoring.statistics import Placement

__all__ = ["PassBand", "pass_bands"]

BAND_SD = 2.0


@dataclass(frozen=True)
class PassBand:
    """One examiner: observed pass rate over ``examined`` results, and the predicted band."""

    examiner: str
    examined: int
    passed: int
    expected_rate: float
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.passed / self.examined

    @property
    def outside(self) -> bool:
        return not self.low <= self.rate <= self.high


def pass_bands(placements: Iterable[Placement]) -> list[PassBand]:
    """The band of every examiner with at least one predictable result, by examiner."""
    results = [
        (p.school, p.examiner, p.passed)
        for p in placements
        if p.passed is not None and p.examiner is not None
    ]
    school: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    own: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for name, examiner, passed in results:
        for tally in (school[name], own[(name, examiner)]):
            tally[0] += int(passed)
            tally[1] += 1
    per: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for name, examiner, passed in results:
        passes, total = school[name]
        mine = own[(name, examiner)]
        rest = total - mine[1]
        if rest <= 0:
            continue
        q = (passes - mine[0]) / rest
        row = per[examiner]
        row[0] += 1
        row[1] += int(passed)
        row[2] += q
        row[3] += q * (1 - q)
    bands = []
    for examiner, (n, k, mean, var) in sorted(per.items()):
        spread = BAND_SD * math.sqrt(var)
        bands.append(
            PassBand(
                examiner=examiner,
                examined=int(n),
                passed=int(k),
                expected_rate=mean / n,
                low=max(0.0, (mean - spread) / n),
                high=min(1.0, (mean + spread) / n),
            )
        )
    return bands
