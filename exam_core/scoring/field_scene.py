"""科目二: a track seen on its field: item windows and the body's outline, worked out once.

Each item is decided over its window (the frames from the car's first entry into the item's
zone until it leaves) by checks on the body polygon and tyre contact points against the map's
lines, bays and zones, all in integer millimetres.  Lines are looked up through a grid so that
a frame is tested only against lines near the car.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from exam_core.scoring.course import FieldCourse, FieldItem
from exam_core.scoring.facts import Run, TrackFacts, runs_of
from exam_core.scoring.geometry import (
    Point,
    Segment,
    SegmentIndex,
    VehicleDims,
    body_corners,
    bounding_box,
    distance_to_segment,
    point_in_polygon,
    polygon_crosses,
    segments_intersect,
    wheel_points,
)
from exam_core.scoring.result import Deduction
from exam_core.scoring.rules import Rule


def inside(p: Point, box: tuple[int, int, int, int], polygon: tuple[Point, ...]) -> bool:
    """``p`` strictly inside ``polygon``, whose bounding ``box`` rejects most points cheaply."""
    return box[0] < p[0] < box[2] and box[1] < p[1] < box[3] and point_in_polygon(p, polygon)


@dataclass
class FieldScene:
    """A track on a field: facts, item windows and cached body geometry."""

    facts: TrackFacts
    course: FieldCourse
    tyre_half_width: int

    @property
    def dims(self) -> VehicleDims:
        return self.course.vehicle

    def item(self, name: str) -> FieldItem:
        """The field's item ``name`` (ask ``window`` first: a field may lack the item)."""
        return next(i for i in self.course.items if i.item == name)

    def window(self, name: str) -> Run | None:
        """The item's window, or None if the car never entered it or the field lacks it."""
        return self.windows.get(name)

    def completed(self, name: str) -> Run | None:
        """The item's window if the car also left it before the end of the recording."""
        window = self.windows.get(name)
        if window is None or window[1] >= self.facts.n:
            return None
        return window

    def passage(self, name: str) -> Run | None:
        """The frames from the body first touching the item's ``inside`` polygon (a tunnel, a
        wet stretch) to the first frame with the whole body out again (which may be the end of
        the recording), within the item's window; None if it never touches it."""
        if name in self._passages:
            return self._passages[name]
        window = self.window(name)
        found: Run | None = None
        if window is not None:
            polygon = self.item(name).inside
            box = bounding_box(polygon)
            touching = [
                any(inside(c, box, polygon) for c in self.corners(i)) for i in range(*window)
            ]
            runs = runs_of(touching)
            if runs:
                found = (window[0] + runs[0][0], window[0] + runs[0][1])
        self._passages[name] = found
        return found

    def index(self, segments: tuple[Segment, ...]) -> SegmentIndex:
        """A grid over these lines, built once per set of lines."""
        found = self._indexes.get(segments)
        if found is None:
            found = self._indexes[segments] = SegmentIndex(segments)
        return found

    @cached_property
    def windows(self) -> dict[str, Run | None]:
        """Each item's window: the first run of frames with the pose point in its zone."""
        tr = self.facts.track
        out: dict[str, Run | None] = {}
        for item in self.course.items:
            box = bounding_box(item.zone)
            flags = [inside(p, box, item.zone) for p in zip(tr.x, tr.y, strict=True)]
            runs = runs_of(flags)
            out[item.item] = runs[0] if runs else None
        return out

    @cached_property
    def _passages(self) -> dict[str, Run | None]:
        return {}

    @cached_property
    def _indexes(self) -> dict[tuple[Segment, ...], SegmentIndex]:
        return {}

    @cached_property
    def _corners(self) -> dict[int, tuple[Point, ...]]:
        return {}

    @cached_property
    def _wheels(self) -> dict[int, tuple[Point, ...]]:
        return {}

    def corners(self, i: int) -> tuple[Point, ...]:
        found = self._corners.get(i)
        if found is None:
            tr = self.facts.track
            found = self._corners[i] = body_corners(tr.x[i], tr.y[i], tr.heading[i], self.dims)
        return found

    def wheels(self, i: int) -> tuple[Point, ...]:
        found = self._wheels.get(i)
        if found is None:
            tr = self.facts.track
            found = self._wheels[i] = wheel_points(tr.x[i], tr.y[i], tr.heading[i], self.dims)
        return found

    def body_in(self, i: int, polygon: tuple[Point, ...]) -> bool:
        """The whole body strictly inside a convex polygon (a bay)."""
        tr = self.facts.track
        # the pose point is inside the body, so outside the polygon means the body is not in it
        if not point_in_polygon((tr.x[i], tr.y[i]), polygon):
            return False
        return all(point_in_polygon(c, polygon) for c in self.corners(i))

    def body_touches(self, i: int, index: SegmentIndex) -> bool:
        corners = self.corners(i)
        return polygon_crosses(corners, index.near(corners))

    def wheel_on_line(self, i: int, index: SegmentIndex) -> bool:
        """A tyre's contact point within half a tyre width of a line, or crossing it since the
        previous frame (so that a fast crossing between two samples is not missed)."""
        now = self.wheels(i)
        before = self.wheels(i - 1) if i > 0 else now
        half = self.tyre_half_width
        for p, q in zip(before, now, strict=True):
            x0, x1 = min(p[0], q[0]) - half, max(p[0], q[0]) + half
            y0, y1 = min(p[1], q[1]) - half, max(p[1], q[1]) + half
            for a, b in index.near(((x0, y0), (x1, y1))):
                if (
                    max(a[0], b[0]) < x0
                    or min(a[0], b[0]) > x1
                    or max(a[1], b[1]) < y0
                    or min(a[1], b[1]) > y1
                ):
                    continue
                if distance_to_segment(q, a, b) <= half or segments_intersect(p, q, a, b):
                    return True
        return False

    def stops_in(self, window: Run) -> list[Run]:
        a, b = window
        return [(max(s, a), min(e, b)) for s, e in self.facts.stationary if s < b and e > a]

    def moving(self, i: int) -> bool:
        v = self.facts.track.speed[i]
        return v >= self.facts.stop_speed or v <= -self.facts.stop_speed


FieldRuleFunction = Callable[[FieldScene, Rule], list[Deduction]]
"""A rule function: decides one rule of the table, one deduction per occurrence, each with
the frame that proves it."""
