"""The one JSON line every benchmark ends with (BENCHMARKS.md).

``{"figure", "value", "unit", "limit", "ratio", …}``: ``figure`` names what was measured in
snake_case (the quantity, then its unit or condition: ``log_ingest_entries_per_s``), ``limit``
is the physical limit measured in the same run (``null`` where the goal is an absolute bound),
``ratio`` is value over limit.  Scripts that compare runs read this line, so its shape and its
naming live here once.
"""

from __future__ import annotations

import json
import re

_FIGURE_NAME = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def print_result(
    figure: str,
    value: float,
    unit: str,
    limit: float | None,
    *,
    digits: int = 3,
    ratio: float | None = None,
    **extra: float | str | None,
) -> None:
    """Print the result line; ``ratio`` defaults to ``value / limit`` when there is a limit.

    Raises:
        ValueError: ``figure`` is not a snake_case name.
    """
    if _FIGURE_NAME.fullmatch(figure) is None:
        raise ValueError(f"figure names are snake_case: {figure!r}")
    if ratio is None and limit:
        ratio = value / limit
    line = {
        "figure": figure,
        "value": round(value, digits),
        "unit": unit,
        "limit": None if limit is None else round(limit, digits),
        "ratio": None if ratio is None else round(ratio, 3),
    }
    line.update(extra)
    print(json.dumps(line))
