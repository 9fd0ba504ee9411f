"""Facts every rule reads from a track, computed once: stops, signal runs, starting-off.

The rules are many and the track long (12,000 frames for a 20-minute 科目三 exam), so the
engine does the per-frame passes here once and the rules work on runs (first frame, end frame)
instead of rescanning the frames.  Everything is integer and deterministic.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from functools import cached_property

from exam_core.errors import ScoringError
from exam_core.scoring.telemetry import (
    CLUTCH,
    FORWARD_GEARS,
    GEAR_NEUTRAL,
    GEAR_PARK,
    GEAR_REVERSE,
    Track,
)

Run = tuple[int, int]
"""Frames ``start`` (inclusive) to ``end`` (exclusive)."""

NOT_IN_GEAR = frozenset({GEAR_NEUTRAL, GEAR_PARK})


def runs_of(flags: Sequence[bool]) -> list[Run]:
    """Maximal runs of true values.

    The true frames are picked out at C speed (``itertools.compress``), so a pass costs in
    Python only as many steps as there are true frames: most rules look for rare events.
    """
    out: list[Run] = []
    start = end = -1
    for i in itertools.compress(range(len(flags)), flags):
        if i != end:
            if start >= 0:
                out.append((start, end))
            start = i
        end = i + 1
    if start >= 0:
        out.append((start, end))
    return out


def change_points(column: Sequence[int]) -> list[int]:
    """Frame 0 and every frame whose value differs from the previous one, found at C speed."""
    return [0, *itertools.compress(range(1, len(column)), map(operator.ne, column[1:], column))]


def value_runs(column: Sequence[int]) -> list[tuple[int, int, int]]:
    """(first frame, end, value) of each run of one value: a column that changes rarely (the
    gear, the engaged gear) is looked at a run at a time."""
    bounds = [*change_points(column), len(column)] if column else []
    return [(a, b, column[a]) for a, b in itertools.pairwise(bounds)]


class TrackFacts:
    """Derived facts of one track under the table's common thresholds (``common``)."""

    def __init__(self, track: Track, common: Mapping[str, int]) -> None:
        self.track = track
        self.n = len(track)
        self.common = common
        self.stop_speed = self.setting("stop_speed_mm_s")
        self.running_rpm = self.setting("engine_running_rpm")

    def setting(self, name: str) -> int:
        """A common threshold of the rule table.

        Raises:
            ScoringError: if the table lacks it.
        """
        try:
            return self.common[name]
        except KeyError:
            raise ScoringError(f"the rule table has no common threshold {name!r}") from None

    def first_over(self, start: int, end: int, limit_ms: int) -> int | None:
        """The first frame of [start, end) at which a condition that has held since ``start``
        has lasted more than ``limit_ms``.

        Each frame stands for one period, so k frames last k periods: a stop seen on 21 frames
        at 10 Hz lasted 2.1 s, on 20 frames 2.0 s.
        """
        t = self.track.t
        deadline = t[start] + limit_ms - self.track.period_ms
        for i in range(start, end):
            if t[i] > deadline:
                return i
        return None

    def first_reaching(self, start: int, end: int, limit_ms: int) -> int | None:
        """Like ``first_over`` but for conditions that count from ``limit_ms`` inclusive."""
        return self.first_over(start, end, limit_ms - 1)

    def over_speed(self, limit: int, max_ms: int) -> int | None:
        """The frame at which the car has been faster than ``limit`` for more than ``max_ms``
        (the first such run), or None."""
        speed = self.track.speed
        if max(speed) <= limit:
            return None
        for a, b in runs_of([v > limit for v in speed]):
            frame = self.first_over(a, b, max_ms)
            if frame is not None:
                return frame
        return None

    @cached_property
    def commands(self) -> list[tuple[int, int]]:
        """(frame, code) of every voice command, in order (none in version 1 telemetry)."""
        command = self.track.command
        return [(i, command[i]) for i in itertools.compress(range(len(command)), command)]

    @cached_property
    def vision_seen(self) -> int:
        """Every observation bit the camera reported at some frame."""
        seen = 0
        for v in set(self.track.vision):
            seen |= v
        return seen

    def frames_in(self, ms: int) -> int:
        """How many frames span ``ms``."""
        return max(1, ms // self.track.period_ms)

    @cached_property
    def stationary(self) -> list[Run]:
        """Runs of frames where the wheels do not turn (|speed| below the stop threshold)."""
        s = self.stop_speed
        return runs_of([-s < v < s for v in self.track.speed])

    @cached_property
    def first_motion(self) -> int | None:
        """The first frame the car moves, or None if it never does."""
        runs = self.stationary
        if not runs or runs[0][0] > 0:
            return 0
        return runs[0][1] if runs[0][1] < self.n else None

    @cached_property
    def signal_changes(self) -> list[int]:
        """Frames where the signal word differs from the previous frame, with 0 first."""
        return change_points(self.track.signals)

    def bit_runs(self, bit: int, on: bool = True) -> list[Run]:
        """Runs of frames where ``bit`` is set (or clear, with ``on=False``)."""
        sig = self.track.signals
        bounds = [*self.signal_changes, self.n]
        out: list[Run] = []
        for a, b in itertools.pairwise(bounds):
            if bool(sig[a] & bit) == on:
                if out and out[-1][1] == a:
                    out[-1] = (out[-1][0], b)
                else:
                    out.append((a, b))
        return out

    def bit_on_since(self, bit: int, frame: int) -> int | None:
        """The first frame of the run of ``bit`` that covers ``frame``, or None if it is off."""
        for a, b in self.bit_runs(bit):
            if a <= frame < b:
                return a
        return None

    @cached_property
    def engine_running(self) -> list[bool]:
        r = self.running_rpm
        return [v >= r for v in self.track.rpm]

    @cached_property
    def last_running(self) -> int:
        """The last frame with the engine running (-1 if it never runs): after it the exam's
        driving is over and the car is parked."""
        running = self.engine_running
        return next((i for i in range(self.n - 1, -1, -1) if running[i]), -1)

    @cached_property
    def starts(self) -> list[int]:
        """Every frame at which the car moves off from a standstill (the first moving frame
        after a stationary run), in order."""
        return [b for a, b in self.stationary if b < self.n]

    @cached_property
    def gear_runs(self) -> list[tuple[int, int, int]]:
        """(first frame, end, gear) of each run of one gear lever position."""
        return value_runs(self.track.gear)

    @cached_property
    def gear_mismatch(self) -> list[Run]:
        """Runs of frames driven in a forward gear, clutch up, at a speed outside the gear's
        band (``gearN_min_mm_s`` … ``gearN_max_mm_s`` of the table's common thresholds).

        The gear column changes rarely, so the speeds of each run of one gear are checked
        against its band at once and only a run that leaves the band is looked at frame by
        frame.
        """
        tr = self.track
        speed, sig = tr.speed, tr.signals
        bands = {
            g: (self.setting(f"gear{g}_min_mm_s"), self.setting(f"gear{g}_max_mm_s"))
            for g in sorted(FORWARD_GEARS)
        }
        stop = self.stop_speed
        flags = [False] * self.n
        for a, b, g in self.gear_runs:
            band = bands.get(g)
            if band is None:
                continue
            low, high = max(band[0], stop), band[1]
            part = speed[a:b]
            if min(part) >= low and max(part) <= high:
                continue
            for i in range(a, b):
                v = speed[i]
                if v >= stop and not low <= v <= high and not sig[i] & CLUTCH:
                    flags[i] = True
        return runs_of(flags)

    def standing_before(self, frame: int) -> bool:
        """The car stood still on the frame before ``frame``."""
        s = self.stop_speed
        return frame > 0 and -s < self.track.speed[frame - 1] < s

    @cached_property
    def rollbacks(self) -> list[tuple[int, int, int]]:
        """Episodes of rolling backwards out of reverse gear: (first frame, end, odometer peak).

        The odometer counts down when the wheels turn backwards.  An episode starts when it
        drops below the highest reading since the last reverse gear and ends when it is back
        at that reading, or reverse is engaged (reversing on purpose is never a roll-back).
        """
        odo, gear = self.track.odo, self.track.gear
        out: list[tuple[int, int, int]] = []
        peak = odo[0]
        start = -1
        for i in range(self.n):
            o = odo[i]
            if o >= peak or gear[i] == GEAR_REVERSE:
                if start >= 0:
                    out.append((start, i, peak))
                    start = -1
                peak = o
            elif start < 0:
                start = i
        if start >= 0:
            out.append((start, self.n, peak))
        return out
