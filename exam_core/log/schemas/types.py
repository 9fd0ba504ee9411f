"""Roles and the shape of an event schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NewType

from exam_core.log.schemas.fields import FieldSpec

Role = NewType("Role", str)

ADMIN = Role("admin")
"""Registers and revokes keys; opens sessions; registers people, vehicles and devices."""
ALLOCATOR = Role("allocator")
"""Commits and makes examiner allocations (its VRF key is separate and used for nothing else)."""
GATEWAY = Role("gateway")
"""A device gateway: signs device status, alarms and gate decisions for its room."""
SCORER = Role("scorer")
"""Scores exams from telemetry; can never sign a check-in."""
VEHICLE = Role("vehicle")
"""An in-car unit: signs telemetry chunks."""
TABLET = Role("tablet")
"""An examiner's tablet: boarding, emergency stop; can never sign a score."""
TERMINAL = Role("terminal")
"""A check-in kiosk: identity checks and check-ins."""
SUPERVISOR = Role("supervisor")
"""An exam-hall supervisor: admits or refuses a candidate whose face check locked the terminal."""
INVESTIGATOR = Role("investigator")
"""An authorised investigator: may have the centre open a keyed hash to the person behind it;
every opening is an entry this role signs before anything is shown."""
DUTY = Role("duty")
"""A person on duty at the monitoring centre: acknowledges and closes warnings in its own log."""
DEMO = Role("demo")
"""Test and benchmark keys: may sign only ``demo.*`` events."""

ALL_ROLES: frozenset[Role] = frozenset(
    {
        ADMIN,
        ALLOCATOR,
        GATEWAY,
        SCORER,
        VEHICLE,
        TABLET,
        TERMINAL,
        SUPERVISOR,
        INVESTIGATOR,
        DUTY,
        DEMO,
    }
)

COMMON_FIELDS = ("v", "log", "type", "ts", "actor", "seq")
"""Fields every event carries (DESIGN §3.1); schemas name only their type-specific fields."""


@dataclass(frozen=True)
class EventSchema:
    """One event type: who may sign it and which type-specific fields it carries."""

    type: str
    roles: frozenset[Role]
    fields: Mapping[str, FieldSpec]
    optional: frozenset[str] = field(default_factory=frozenset)
    doc: str = ""
