"""What a step of the scripted 科目三 candidate sees of the script it belongs to.

``RouteScript.run`` (``route_script``) calls the steps kept in ``route_cab``, ``route_faults``,
``route_lanes``, ``route_places`` and ``route_pull_over``, each with the script itself.  The
steps name the script by this protocol, not by ``RouteScript``: the script imports the steps,
so the steps importing the script, even for types alone, would make the modules a cycle.
"""

from __future__ import annotations

from typing import Protocol

from exam_core.scoring.course import RouteZone
from exam_core.scoring.geometry import VehicleDims
from exam_core.scoring.sim.route_driver import SLOW, RouteDriver, RoutePath
from exam_core.scoring.sim.sim_car import Driver


class RouteSteps(Protocol):
    """The state a step reads and changes, and the script's own manoeuvres it reuses."""

    trig: set[str]
    """The faults committed."""
    near: set[str]
    """The faults only just missed."""
    both: set[str]
    """``trig | near``: every fault the run is about."""
    cruise: float
    """The speed between places, mm/s."""
    drv: Driver
    path: RoutePath
    car: RouteDriver
    vehicle: VehicleDims
    zones: dict[str, RouteZone]
    """The route's zones by item."""
    lane_change_starts: list[int]
    night: bool
    late_parking_lights: bool
    flash_at_bends: bool
    bend_flash_lead_s: float

    def amt(self, code: str, hit: float, miss: float, clean: float = 0.0) -> float:
        """The amount of fault ``code``: ``hit`` when committed, ``miss`` for its near miss."""
        ...

    def once(self, code: str) -> str:
        """``trig`` or ``near`` the first time a repeated step asks for ``code``, then ``""``."""
        ...

    def change_lane(
        self, to_lane: int, length: float = 40_000, looks: tuple[int, ...] | None = None
    ) -> None:
        """Signal, look, and move across to the middle of ``to_lane`` over ``length``."""
        ...

    def skip_section(self, zone: RouteZone, code: str) -> bool:
        """Drive into a manoeuvre's section, or past it when ``code`` skips the manoeuvre."""
        ...

    def slow_through(
        self, zone: RouteZone, code: str, hit: float = 8600, miss: float = 8100
    ) -> None:
        """Slow down before the zone and drive through it (too fast if ``code`` is committed)."""
        ...

    def turn(self, zone: RouteZone, code: str | None, bit: int, speed: float = SLOW) -> None:
        """Signal, slow down and drive through the turn (too fast if ``code``)."""
        ...
