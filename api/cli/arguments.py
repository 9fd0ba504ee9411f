"""Range-checked option values and one-line usage errors for ``examctl``.

Every number on the command line has a range, checked when the arguments are parsed: a count
of 10^12 entries, an interval of −1 ms or a duration of ``nan`` seconds is refused with one line
on stderr and exit 2, before any work starts.  Integers are refused by their length before
Python converts them, so 5,000 digits cost nothing either.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

EXIT_USAGE = 2
_MAX_INTEGER_TEXT = 20
"""A sign and nineteen digits: every bound used here is below 10^19."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``--help`` still shows usage)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def integer(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a decimal integer within ``low``..``high``."""

    kind = {0: "a non-negative integer", 1: "a positive integer"}.get(low, "an integer")
    wanted = f"must be {kind} within {low}..{high}"

    def parse(text: str) -> int:
        stripped = text.strip()
        digits = stripped.removeprefix("-")
        if not digits.isascii() or not digits.isdigit():
            raise argparse.ArgumentTypeError(f"{wanted}, not {text[:40]!r}")
        if len(stripped) > _MAX_INTEGER_TEXT:
            raise argparse.ArgumentTypeError(f"{wanted}, not a number of {len(digits)} digits")
        value = int(stripped)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{wanted}, not {value}")
        return value

    return parse


def seconds(low: float, high: float) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds within ``low``..``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 40 else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a number of seconds within {low:g}..{high:g}, not {text[:40]!r}"
            )
        return value

    return parse
