"""The statistics warning's false-alarm rate and power, over seeded simulated months.

Not a speed figure: what the monitoring centre's statistics (docs/monitoring.md) are worth.
Each month is ``exam_core.monitoring.month_simulation``'s: 22 sessions of 60 candidates, real
F and real dependent-rounding draws, results drawn from each school's pass rate.  An honest
month that raises any statistics signal is a false alarm; a month in which examiner ``e-05``
passes every ``school-2`` candidate he is given (base rate 50 %) is caught when
``examiner_school_passes`` flags that cell.  The last line carries the false-alarm rate as
``value`` and the power as ``power``; there is no physical limit (``limit`` null).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# bench/allocation.py is named like the package the simulation imports: drop bench/ from the path.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(_BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _BENCH]

from bench.result_line import print_result  # noqa: E402
from exam_core.monitoring.month_simulation import Collusion, simulate_month  # noqa: E402
from exam_core.monitoring.points_table import DEFAULT_TABLE  # noqa: E402
from exam_core.monitoring.statistics import statistical_findings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--months", type=int, default=1000, help="honest months (default 1000)")
    parser.add_argument("--colluding", type=int, default=200, help="colluding months")
    parser.add_argument("--ppm", type=int, default=DEFAULT_TABLE.statistics.false_discovery_ppm)
    parser.add_argument("--quick", action="store_true", help="30 honest, 6 colluding months")
    args = parser.parse_args()
    if args.quick:
        args.months, args.colluding = 30, 6
    q = args.ppm / 1_000_000
    started = time.perf_counter()
    alarms: dict[str, int] = {}
    false_alarms = 0
    for seed in range(args.months):
        findings = statistical_findings(simulate_month(1_000_000 + seed), q)
        false_alarms += bool(findings)
        for f in findings:
            alarms[f.test] = alarms.get(f.test, 0) + 1
    caught = 0
    collusion = Collusion("e-05", "school-2")
    for seed in range(args.colluding):
        findings = statistical_findings(simulate_month(2_000_000 + seed, collusion=collusion), q)
        caught += any(
            f.test == "examiner_school_passes" and (f.examiner, f.school) == ("e-05", "school-2")
            for f in findings
        )
    elapsed = time.perf_counter() - started
    rate = false_alarms / args.months
    power = caught / args.colluding
    print(f"q = {q} per family; {args.months} honest months, {args.colluding} colluding")
    print(f"false alarms: {false_alarms} months ({rate:.4f}); by test: {alarms}")
    print(f"colluding examiner caught: {caught} of {args.colluding} months ({power:.3f})")
    print(f"{elapsed:.1f} s")
    print_result(
        "statistics_false_alarm_rate_per_month",
        rate,
        "months",
        None,
        digits=4,
        power=round(power, 3),
        months=args.months,
        q=q,
    )


if __name__ == "__main__":
    main()
