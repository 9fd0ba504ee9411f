"""科目三: a track seen along its route: projection, zones, lanes, manoeuvres.

The route is the right road edge as a polyline; every frame is projected onto it once (a
cursor that only moves to the neighbouring segment, so the pass is linear) to get ``s``, the
distance along the route, and ``d``, the lateral offset to the left, both in integer mm.  Zones
are stretches of ``s``; lanes are bands of ``d``.  The rules of ``route_general`` and
``route_items`` read these columns instead of the raw positions.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from math import isqrt

from exam_core.scoring.course import RouteCourse, RouteZone
from exam_core.scoring.facts import Run, TrackFacts
from exam_core.scoring.geometry import ONE, Q, cos_q, sin_q
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule
from exam_core.scoring.telemetry import INDICATOR_LEFT, INDICATOR_RIGHT


@dataclass
class RouteScene:
    """A track on a route: facts, projection onto the route, zone windows and lanes.

    The table's common thresholds it uses (lane hysteresis, manoeuvre onset) come through
    ``facts``.
    """

    facts: TrackFacts
    course: RouteCourse
    _manoeuvres: dict[int, list[tuple[int, int]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def setting(self, name: str) -> int:
        """A common threshold of the rule table.

        Raises:
            ScoringError: if the table lacks it.
        """
        return self.facts.setting(name)

    @cached_property
    def projection(self) -> tuple[list[int], list[int], list[int]]:
        """Per frame: distance along the route, lateral offset (left +), segment number."""
        ref = self.course.reference
        segs = []
        s0 = 0
        for (ax, ay), (bx, by) in itertools.pairwise(ref):
            dx, dy = bx - ax, by - ay
            length = isqrt(dx * dx + dy * dy)
            segs.append((ax, ay, dx, dy, length, dx * dx + dy * dy, s0))
            s0 += length
        last = len(segs) - 1
        tr = self.facts.track
        s_col: list[int] = []
        d_col: list[int] = []
        k_col: list[int] = []
        k = 0
        ax, ay, dx, dy, length, l2, base = segs[0]
        for px, py in zip(tr.x, tr.y, strict=True):
            rx, ry = px - ax, py - ay
            dot = rx * dx + ry * dy
            while dot > l2 and k < last:
                nx, ny, ndx, ndy, nl, nl2, nbase = segs[k + 1]
                ndot = (px - nx) * ndx + (py - ny) * ndy
                if ndot < 0:
                    break
                k += 1
                ax, ay, dx, dy, length, l2, base = nx, ny, ndx, ndy, nl, nl2, nbase
                rx, ry, dot = px - ax, py - ay, ndot
            while dot < 0 < k:
                k -= 1
                ax, ay, dx, dy, length, l2, base = segs[k]
                rx, ry = px - ax, py - ay
                dot = rx * dx + ry * dy
                if dot <= l2:
                    break
            s_col.append(base + dot // length)
            d_col.append((dx * ry - dy * rx) // length)
            k_col.append(k)
        return s_col, d_col, k_col

    @cached_property
    def progress(self) -> list[int]:
        """The furthest distance along the route reached so far: monotone, for zone lookup."""
        return list(itertools.accumulate(self.projection[0], max))

    def window(self, zone: RouteZone) -> Run | None:
        """Frames from first reaching the zone's start to first reaching its end."""
        a = bisect_left(self.progress, zone.start)
        b = bisect_left(self.progress, zone.end)
        return (a, b) if a < b else None

    def zones(self, item: str) -> list[RouteZone]:
        return [z for z in self.course.zones if z.item == item]

    @cached_property
    def lanes(self) -> list[int]:
        """Lane of the pose point per frame (0 = rightmost), changing only past the hysteresis."""
        width, top = self.course.lane_width, self.course.lanes - 1
        h = self.setting("lane_hysteresis_mm")
        out = []
        lane = 0
        for d in self.projection[1]:
            low, high = lane * width - h, (lane + 1) * width + h
            if d < low or d > high:
                lane = min(max(d // width, 0), top)
            out.append(lane)
        return out

    @cached_property
    def lane_changes(self) -> list[tuple[int, int, int]]:
        """(frame, from lane, to lane) for each change."""
        lanes = self.lanes
        return [
            (i, lanes[i - 1], lanes[i]) for i in range(1, len(lanes)) if lanes[i] != lanes[i - 1]
        ]

    def lateral_onset(self, frame: int, leftwards: bool, earliest: int) -> int:
        """The frame at which the sideways movement that ends at (or just before) ``frame``
        began: the last frame the car was still where it moved away from.

        (1) The car is moving sideways towards the new lane (left if ``leftwards``) while its
        lateral offset has grown by more than ``manoeuvre_onset_speed_mm_s`` over the last
        ``manoeuvre_onset_window_ms``; slower drift and position noise stay below that.  Find
        the last such frame up to ``frame`` (a pull-over's movement ends before its stop) and
        the first frame of that run.  (2) Where the car stood is its offset one window before
        that first frame; the movement began after the last frame still within
        ``manoeuvre_onset_mm`` of it, a margin above the position noise.  The search looks
        back at most ``manoeuvre_lookback_ms`` and not before ``earliest``.
        """
        speed = self.setting("manoeuvre_onset_speed_mm_s")
        window = self.setting("manoeuvre_onset_window_ms")
        margin = self.setting("manoeuvre_onset_mm")
        lookback = self.setting("manoeuvre_lookback_ms")
        d, t = self.projection[1], self.facts.track.t
        k = self.facts.frames_in(window)
        start = max(earliest, bisect_left(t, t[frame] - lookback)) + k
        rise = speed * window // 1000
        sign = 1 if leftwards else -1

        def moving(f: int) -> bool:
            return sign * (d[f] - d[f - k]) > rise

        # (1)
        f = frame
        while f >= start and not moving(f):
            f -= 1
        if f < start:
            return frame
        while f > start and moving(f - 1):
            f -= 1
        # (2)
        before = f - k
        stood = d[before]
        while f > before and sign * (d[f] - stood) > margin:
            f -= 1
        return f

    def manoeuvres(self, method: int) -> list[tuple[int, int]]:
        """(frame, indicator bit required) for every manoeuvre that must be signalled, sorted.

        Starting off (left) at the first motion; each lane change (left or right); entering a
        left-turn, U-turn (left) or right-turn (right) junction zone; the pull-over (right).
        Method 1 (``ga1026-2017/1``) times a lane change at the frame the car is counted in
        the new lane and the pull-over at its stop; method 2 times both where the rule does,
        at the start of the sideways movement (``lateral_onset``).
        """
        found = self._manoeuvres.get(method)
        if found is not None:
            return found
        out: list[tuple[int, int]] = []
        first = self.facts.first_motion
        if first is not None:
            out.append((first, INDICATOR_LEFT))
        changes = (
            [(f, a, b) for f, a, b in self.lane_changes]
            if method == 1
            else [(onset, a, b) for onset, _, a, b in self.lane_change_onsets]
        )
        for start, a, b in changes:
            out.append((start, INDICATOR_LEFT if b > a else INDICATOR_RIGHT))
        for item, bit in (
            ("junction_left", INDICATOR_LEFT),
            ("u_turn", INDICATOR_LEFT),
            ("junction_right", INDICATOR_RIGHT),
        ):
            for zone in self.zones(item):
                w = self.window(zone)
                if w is not None:
                    out.append((w[0], bit))
        if method == 1:
            stops = [self.first_stop_in(zone) for zone in self.zones("pull_over")]
            out.extend((stop[0], INDICATOR_RIGHT) for stop in stops if stop is not None)
        else:
            out.extend((onset, INDICATOR_RIGHT) for onset, _ in self.pull_over_onsets)
        found = self._manoeuvres[method] = sorted(out)
        return found

    @cached_property
    def lane_change_onsets(self) -> list[tuple[int, int, int, int]]:
        """(start of the sideways movement, lane-change frame, from lane, to lane) for each
        lane change."""
        out = []
        previous = 0
        for frame, a, b in self.lane_changes:
            out.append((self.lateral_onset(frame, b > a, previous), frame, a, b))
            previous = frame
        return out

    @cached_property
    def pull_over_onsets(self) -> list[tuple[int, int]]:
        """(start of the sideways movement towards the edge, first frame of the stop) for each
        pull-over zone the car stopped in."""
        out = []
        for zone in self.zones("pull_over"):
            stop = self.first_stop_in(zone)
            if stop is not None:
                changed = [f for f, _, _ in self.lane_changes if f < stop[0]]
                onset = self.lateral_onset(stop[0], False, changed[-1] if changed else 0)
                out.append((onset, stop[0]))
        return out

    @cached_property
    def units(self) -> list[tuple[int, int]]:
        """Each reference segment's direction as a Q16 unit vector."""
        out = []
        for a, b in itertools.pairwise(self.course.reference):
            dx, dy = b[0] - a[0], b[1] - a[1]
            length = isqrt(dx * dx + dy * dy)
            out.append((dx * ONE // length, dy * ONE // length))
        return out

    def lateral_extent(self, i: int) -> tuple[int, int]:
        """Lowest and highest lateral offset of the body's corners at frame ``i``."""
        tr, dims = self.facts.track, self.course.vehicle
        _, d_col, k_col = self.projection
        ux, uy = self.units[k_col[i]]
        c, s = cos_q(tr.heading[i]), sin_q(tr.heading[i])
        sin_rel = (ux * s - uy * c) >> Q
        cos_rel = abs((ux * c + uy * s) >> Q)
        along = (dims.front * sin_rel, -dims.rear_overhang * sin_rel)
        half = (dims.width // 2) * cos_rel
        return d_col[i] + ((min(along) - half) >> Q), d_col[i] + ((max(along) + half) >> Q)

    def first_stop_in(self, zone: RouteZone) -> Run | None:
        """The first stationary run that starts within the zone's window."""
        w = self.window(zone)
        if w is None:
            return None
        a, b = w
        return next(((s, e) for s, e in self.facts.stationary if a <= s < b), None)

    def windows(self, item: str) -> list[Run]:
        """The windows of every zone of ``item`` the car reached."""
        return [w for w in map(self.window, self.zones(item)) if w is not None]

    @cached_property
    def reach(self) -> int:
        dims = self.course.vehicle
        return isqrt(dims.front**2 + (dims.width // 2) ** 2) + 1


RouteRuleFunction = Callable[[RouteScene, Rule], list[Deduction]]
"""A rule function: decides one rule of the table, one deduction per occurrence, each with
the frame that proves it."""
