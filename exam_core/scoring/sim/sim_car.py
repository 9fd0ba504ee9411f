"""The simulated car the scripted candidates drive: true state, sensor noise, manoeuvres.

The scripts (``field_script``, ``route_script``) are made of a few moves: hold still, follow a
polyline with a speed profile, roll back, turn the key.  Every call records frames with noise
from a seeded generator (RTK position, heading, wheel speed, engine speed), so a seed always
gives the same telemetry.  This is a test instrument, not part of the scoring: it may use
floating point; what it emits is integer frames.  ``SimRun.expected`` maps each injected fault
to the frames where its deduction must be found.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from exam_core.scoring.cab_inputs import PEDAL_FULL
from exam_core.scoring.sim.cab import START_SLIP_FRAMES, Cab, accelerator, steering_wheel
from exam_core.scoring.telemetry import (
    BELT,
    BRAKE_PEDAL,
    CAMERA_OK,
    CLUTCH,
    FORWARD_GEARS,
    GEAR_NEUTRAL,
    GEAR_PARK,
    GEAR_REVERSE,
    PARKING_BRAKE,
    STARTER,
    Frame,
)

Pt = tuple[float, float]
NOT_DRIVING = frozenset({GEAR_NEUTRAL, GEAR_PARK})

IDLE_RPM = 800
RPM_PER_MM_S = {1: 0.54, 2: 0.31, 3: 0.216, 4: 0.166, 5: 0.12, 6: 0.1, GEAR_REVERSE: 0.5}
"""Engine speed per wheel speed in each gear: 3000 rpm at 20, 35, 50, 65, 90, 108 km/h."""
SHIFT_UP = {1: 4167, 2: 6944, 3: 12500, 4: 16667, 5: 22222}
"""The candidate changes up above these speeds (mm/s): 15, 25, 45, 60, 80 km/h."""
SHIFT_DOWN = {2: 2778, 3: 5000, 4: 8333, 5: 11111, 6: 15000}
"""… and down below these: 10, 18, 30, 40, 54 km/h."""
CLUTCH_FRAMES = 3
"""The clutch is held down for this many frames while the gear changes."""


@dataclass
class Noise:
    """Sensor noise, Gaussian and clipped at three standard deviations."""

    position_mm: float = 8.0
    heading_centideg: float = 5.0
    speed_fraction: float = 0.005
    rpm: float = 15.0


@dataclass
class SimRun:
    """What the simulator produced: frames and, per injected fault, where it must show."""

    frames: list[Frame]
    expected: dict[str, tuple[int, int]] = field(default_factory=dict)


class Driver:
    """The car's true state; every call to ``emit`` records one noisy frame."""

    def __init__(self, seed: int, noise: Noise, period_ms: int = 100) -> None:
        self.rng = random.Random(seed)
        self.noise = noise
        self.period = period_ms
        self.frames: list[Frame] = []
        self.truth: list[Pt] = []
        self.x = self.y = 0.0
        self.heading = 0.0
        self.odo = 0.0
        self.speed = 0.0
        self.gear = GEAR_NEUTRAL
        self.engine = False
        self.rpm_override: int | None = None
        self.rpm_boost = 0
        """Extra engine speed (accelerator pressed harder than the wheels need)."""
        self.auto_gear = False
        """Change gear by speed (``SHIFT_UP``/``SHIFT_DOWN``) while in a forward gear."""
        self.clutch_left = 0
        self.decel = 2500.0
        """The hardest the candidate brakes for a lower speed limit (mm/s²)."""
        self.signals = BELT | CAMERA_OK | PARKING_BRAKE
        self.marks: dict[str, tuple[int, int]] = {}
        self.cab = Cab()
        """What telemetry v2 sees of the candidate: glances, pedals, gearbox, commands."""
        self._before: tuple[float, float] = (0.0, 0.0)
        """Speed and heading of the previous frame."""
        self.timed: list[tuple[int, int, bool]] = []
        """(frame, signal bit, on): switches the candidate makes while driving on."""

    @property
    def frame(self) -> int:
        """Index of the next frame to be emitted."""
        return len(self.frames)

    @property
    def t(self) -> int:
        return len(self.frames) * self.period

    def _noise(self) -> list[float]:
        """Five clipped standard normal draws: heading, speed, rpm, x, y."""
        gauss = self.rng.gauss
        return [max(-3.0, min(3.0, gauss(0.0, 1.0))) for _ in range(5)]

    def _shift(self, speed: float) -> None:
        """The automatic candidate's gear change, with the clutch held down for it."""
        g = self.gear
        if not self.auto_gear or g not in FORWARD_GEARS or speed <= 0:
            return
        if speed > SHIFT_UP.get(g, math.inf):
            self.gear = g + 1
        elif speed < SHIFT_DOWN.get(g, -math.inf):
            self.gear = g - 1
        if self.gear != g:
            self.clutch_left = 0 if self.cab.clutchless_shift else CLUTCH_FRAMES
            self.cab.clutchless_shift = False

    def engine_rpm(self, speed: float) -> float:
        """Idle, or what the wheels turn the engine at in the engaged gear, plus any boost."""
        ratio = RPM_PER_MM_S.get(self.gear)
        if ratio is None or self.clutch_left:
            return IDLE_RPM + self.rpm_boost
        return max(IDLE_RPM, abs(speed) * ratio) + self.rpm_boost

    def _clutch(self, speed: float) -> int:
        """Down for a gear change and while standing in gear, slipping as the car moves off."""
        cab = self.cab
        standing = abs(speed) < 1
        if standing:
            cab.slip_left = START_SLIP_FRAMES
        elif cab.slip_left:
            cab.slip_left -= 1
        if cab.clutch is not None:
            return cab.clutch
        if self.clutch_left or (standing and self.engine and self.gear not in NOT_DRIVING):
            return PEDAL_FULL
        if cab.slip_left and self.gear in (1, GEAR_REVERSE):
            return 60 * cab.slip_left
        return 0

    def switch_at(self, bit: int, on: bool, after_ms: int) -> None:
        """Switch a signal ``after_ms`` from the next frame, whatever the car is doing then."""
        self.timed.append((self.frame + after_ms // self.period, bit, on))

    def emit(self, speed: float = 0.0) -> None:
        for at, bit, on in self.timed:
            if at == self.frame:
                self.set(bit, on)
        n = self.noise
        e_heading, e_speed, e_rpm, e_x, e_y = self._noise()
        self._shift(speed)
        clutch = self._clutch(speed)
        self.set(CLUTCH, clutch >= 800)
        before_speed, before_heading = self._before
        self._before = (speed, self.heading)
        turned = (self.heading - before_heading + math.pi) % (2 * math.pi) - math.pi
        sign = -1 if speed < 0 else 1
        cab = self.cab
        if cab.accel is not None:
            accel = cab.accel
        elif self.signals & BRAKE_PEDAL:
            accel = 0
        else:
            accel = accelerator(speed, before_speed, self.period)
        heading = round(self.heading * 18_000 / math.pi + e_heading * n.heading_centideg)
        wheel = 0 if -1 < speed < 1 else round(speed * (1 + e_speed * n.speed_fraction))
        if self.rpm_override is not None:
            rpm = self.rpm_override
        elif self.engine:
            rpm = max(350, round(self.engine_rpm(speed) + e_rpm * n.rpm))
        else:
            rpm = 0
        self.clutch_left = max(0, self.clutch_left - 1)
        self.truth.append((self.x, self.y))
        self.frames.append(
            Frame(
                t=len(self.frames) * self.period,
                x=round(self.x + e_x * n.position_mm),
                y=round(self.y + e_y * n.position_mm),
                odo=round(self.odo),
                heading=heading % 36_000,
                speed=wheel,
                gear=self.gear,
                rpm=rpm,
                signals=self.signals,
                accel=accel,
                clutch=clutch,
                steering=sign * steering_wheel(turned, abs(speed) * self.period / 1000),
                engaged=cab.engaged,
                command=cab.next_command(),
                vision=cab.vision(len(self.frames), abs(speed) >= 1),
                air=cab.air_kpa,
            )
        )

    def glance(self, bits: int, ms: int, after_ms: int = 0) -> None:
        """Let the in-cab camera see ``bits`` for ``ms``, ``after_ms`` from the next frame."""
        self.cab.glance(self.frame, bits, ms, after_ms, self.period)

    def hold(self, ms: int) -> None:
        self.speed = 0.0
        for _ in range(ms // self.period):
            self.emit(0.0)

    def set(self, bit: int, on: bool) -> None:
        self.signals = self.signals | bit if on else self.signals & ~bit

    def mark(self, code: str, first: int, last: int | None = None) -> None:
        self.marks.setdefault(code, (first, first if last is None else last))

    def start_engine(self, held_ms: int = 800, gear: int = GEAR_NEUTRAL) -> None:
        """Turn the key: the engine catches after 0.3 s; the key is released ``held_ms`` later."""
        before = self.gear
        self.gear = gear
        self.set(STARTER, True)
        self.hold(300)
        self.engine = True
        self.hold(held_ms)
        self.set(STARTER, False)
        self.gear = before if gear != before else gear

    def camera_outage(self, code: str, ms: int) -> None:
        """The monitoring camera reports a fault for ``ms``; rule ``code`` shows 5 s into it."""
        self.set(CAMERA_OK, False)
        first = self.frame
        self.hold(ms)
        self.set(CAMERA_OK, True)
        self.mark(code, first + 50)

    def stall(self, code: str) -> None:
        """The engine stalls now (rule ``code`` shows at this frame); after a second the
        candidate shifts to neutral and restarts it."""
        self.mark(code, self.frame)
        self.engine = False
        self.hold(1000)
        self.gear = GEAR_NEUTRAL
        self.start_engine()

    def follow(
        self,
        points: Sequence[Pt],
        v_max: float,
        *,
        reverse: bool = False,
        v_end: float = 0.0,
        accel: float = 900.0,
        decel: float | None = None,
        on_step: Callable[[Driver], None] | None = None,
    ) -> None:
        """Drive along a polyline (its first point is where the car is) with a speed profile:
        up to ``v_max`` at ``accel``, down to a lower ``v_max`` at ``decel`` (the driver's
        ``decel`` when not given), and braking at ``accel`` to reach ``v_end`` at the end."""
        slow_down = (self.decel if decel is None else decel) * self.period / 1000
        seg = [math.dist(a, b) for a, b in itertools.pairwise(points)]
        total = sum(seg)
        dt = self.period / 1000
        s = 0.0
        v = self.speed
        k, base = 0, 0.0
        while s < total - 1e-6:
            room = math.sqrt(v_end * v_end + 2 * accel * (total - s))
            v = max(min(max(min(v + accel * dt, v_max), v - slow_down), room), 120.0)
            step = min(v * dt, total - s)
            s += step
            while k < len(seg) - 1 and s > base + seg[k]:
                base += seg[k]
                k += 1
            a, b = points[k], points[k + 1]
            f = (s - base) / seg[k] if seg[k] else 1.0
            self.x, self.y = a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f
            direction = math.atan2(b[1] - a[1], b[0] - a[0])
            self.heading = (direction + math.pi) % (2 * math.pi) if reverse else direction
            self.odo += -step if reverse else step
            self.speed = -v if reverse else v
            if on_step is not None:
                on_step(self)
            self.emit(self.speed)
        self.speed = v if v_end > 0 else 0.0  # the speed reached, not the one aimed at

    def roll_back(self, mm: float) -> None:
        """Roll backwards ``mm`` in a forward gear (a hill start gone wrong) at 300 mm/s."""
        dt = self.period / 1000
        c, s = math.cos(self.heading), math.sin(self.heading)
        remaining = mm
        while remaining > 1e-6:
            step = min(30.0, remaining)
            remaining -= step
            self.x -= c * step
            self.y -= s * step
            self.odo -= step
            self.emit(-step / dt)
        self.speed = 0.0


def line(a: Pt, b: Pt) -> list[Pt]:
    return [a, b]


def arc(centre: Pt, radius: float, a0: float, a1: float, step: float = 1.0) -> list[Pt]:
    """Points on a circle from angle ``a0`` to ``a1`` (degrees)."""
    n = max(1, round(abs(a1 - a0) / step))
    return [
        (
            centre[0] + radius * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            centre[1] + radius * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def parse_faults(codes: Iterable[str]) -> tuple[set[str], set[str]]:
    trigger: set[str] = set()
    near: set[str] = set()
    for code in codes:
        name, _, variant = code.partition(":")
        if variant not in ("", "near"):
            raise ValueError(f"unknown fault variant {code!r}")
        (near if variant else trigger).add(name)
    return trigger, near


def amount(
    code: str, faults: tuple[set[str], set[str]], hit: float, miss: float, clean: float
) -> float:
    """The fault's amount when triggered, its near-miss amount, or the clean amount."""
    trig, near = faults
    if code in trig:
        return hit
    if code in near:
        return miss
    return clean
