"""The simulated candidate as the in-car unit's v2 sensors see them: eyes, hands, feet, gearbox.

The scripts say when the candidate glances at a mirror or turns the head (``glance``), what the
in-car computer says (``command``), and when a foot or the gearbox does something unusual (the
overrides); the rest follows from how the car moves: the accelerator is pressed while speeding
up or cruising and released when slowing, the clutch is down while standing in gear, slipping
as the car moves off and down for each gear change, the steering wheel turns with the path's
curvature.  ``Driver.emit`` asks for the values of each frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from exam_core.scoring.cab_inputs import MIRROR_INTERIOR, PEDAL_FULL
from exam_core.scoring.telemetry import AIR_NONE

WHEELBASE_MM = 2700.0
STEERING_RATIO = 15.0
"""Steering-wheel angle per road-wheel angle."""
START_SLIP_FRAMES = 10
"""Frames of half clutch as the car moves off."""
ROUTINE_GLANCE_FRAMES = 5


@dataclass
class Cab:
    """What the candidate does in the cab, frame by frame."""

    glances: list[tuple[int, int, int]] = field(default_factory=list)
    """(first frame, end frame, observation bits) the camera will see."""
    mirror_every: int | None = None
    """While moving, a look in the interior mirror every this many frames (None: never)."""
    accel: int | None = None
    """Accelerator pedal ‰ when the script presses it, else from the motion."""
    clutch: int | None = None
    """Clutch pedal ‰ when the script holds it, else from the motion and the gearbox."""
    engaged: int | None = None
    """The gear the gearbox really has, when it is not the lever's (a failed engagement)."""
    clutchless_shift: bool = False
    """The next automatic gear change is made without the clutch."""
    air_kpa: int = AIR_NONE
    """The brake air pressure gauge (``AIR_NONE``: the car has no air brakes)."""
    pending_command: int = 0
    slip_left: int = 0
    moving_frames: int = 0

    def glance(self, frame: int, bits: int, ms: int, after_ms: int = 0, period: int = 100) -> None:
        """Let the camera see ``bits`` for ``ms``, starting ``after_ms`` after ``frame``."""
        first = frame + after_ms // period
        self.glances.append((first, first + max(1, ms // period), bits))

    def command(self, code: int) -> None:
        """The in-car computer says ``code`` with the next frame."""
        self.pending_command = code

    def vision(self, frame: int, moving: bool) -> int:
        bits = 0
        for first, end, seen in self.glances:
            if first <= frame < end:
                bits |= seen
        if moving:
            self.moving_frames += 1
            every = self.mirror_every
            if every is not None and self.moving_frames % every < ROUTINE_GLANCE_FRAMES:
                bits |= MIRROR_INTERIOR
        return bits

    def next_command(self) -> int:
        code, self.pending_command = self.pending_command, 0
        return code


def accelerator(speed: float, before: float, period_ms: int) -> int:
    """The pedal ‰ that explains the motion: pressed to speed up, eased to cruise, released
    to slow down or stand."""
    dv = (abs(speed) - abs(before)) * 1000 / period_ms
    if abs(speed) < 1 or dv < -200:
        return 0
    if dv > 200:
        return min(PEDAL_FULL, round(250 + dv * 0.2))
    return min(PEDAL_FULL, round(100 + abs(speed) * 0.012))


def steering_wheel(turned: float, step_mm: float) -> int:
    """The steering-wheel angle (0.1°, left positive) that turns the car by ``turned`` radians
    over ``step_mm`` of travel."""
    if step_mm < 1:
        return 0
    road_wheel = math.atan(WHEELBASE_MM * turned / step_mm)
    return max(-5400, min(5400, round(math.degrees(road_wheel) * STEERING_RATIO * 10)))
