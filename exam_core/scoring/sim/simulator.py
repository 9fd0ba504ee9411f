"""A scripted driver that produces telemetry for tests, demonstrations and benchmarks.

It drives the shipped 科目二 field or 科目三 route cleanly, or with chosen faults (any rule code
of the table, and ``CODE:near`` for a near miss just on the right side of its threshold), and
adds sensor noise (RTK position, heading, wheel speed, engine speed) from a seeded generator, so
the same seed gives the same telemetry.  The simulator is a test instrument, not part of the
scoring: it may use floating point; what it emits is integer frames.
"""

from __future__ import annotations

from collections.abc import Iterable

from exam_core.scoring.course import K2_ITEMS, FieldCourse, RouteCourse
from exam_core.scoring.sim.field_script import simulate_field
from exam_core.scoring.sim.large_field_script import simulate_large_field
from exam_core.scoring.sim.route_script import simulate_route
from exam_core.scoring.sim.sim_car import Noise, SimRun, parse_faults

__all__ = ["Noise", "SimRun", "simulate"]


def simulate(
    course: FieldCourse | RouteCourse,
    seed: int,
    faults: Iterable[str] = (),
    noise: Noise | None = None,
) -> SimRun:
    """Telemetry frames of one scripted exam on the course, and where each fault must show.

    Raises:
        ValueError: a fault code or variant is unknown, or the course's script cannot commit
            one of ``faults`` (a caller bug: ask only for faults the script marks).
    """
    faults = tuple(faults)
    trig, _ = parse_faults(faults)
    if isinstance(course, FieldCourse) and course.has(K2_ITEMS[0]):
        run = simulate_field(course, seed, faults, noise)
    elif isinstance(course, FieldCourse):
        run = simulate_large_field(course, seed, faults, noise)
    else:
        run = simulate_route(course, seed, faults, noise)
    # Every script marks where each fault it can commit must show; a code it never marked
    # would silently give a clean run that a test or demo mistakes for a near miss.
    unknown = sorted(trig - set(run.expected))
    if unknown:
        raise ValueError(f"the simulator cannot commit {', '.join(unknown)} on {course.version}")
    return SimRun(run.frames, {c: v for c, v in run.expected.items() if c in trig})
