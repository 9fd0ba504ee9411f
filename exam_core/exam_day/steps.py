"""A step of the exam day as the state machines see it, and the room's latest gate decision.

Why it exists: the session's state machine is pure — it reads values, not entries from a
database — so an admitted entry is handed to it as a ``Step`` (its index in the log, type,
actor, time and fields), and the gate decisions of every room as a ``GateBoard`` that the day
keeps up to date.  The same values reach it live (before an entry is sequenced, with the index
it would get) and in a replay of the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exam_core.log.entry import Entry
from exam_core.log.schemas.types import COMMON_FIELDS


@dataclass(frozen=True)
class Step:
    """One entry: where it is (or would be) in the log, who signed it, when, and its fields."""

    index: int
    type: str
    actor: str
    ts: int
    event: Mapping[str, Any]

    @classmethod
    def of(cls, index: int, entry: Entry) -> Step:
        return cls(index, entry.type, entry.actor, entry.ts, entry.event)

    def fields(self) -> dict[str, Any]:
        """The type-specific fields: the event without its common fields."""
        return {k: v for k, v in self.event.items() if k not in COMMON_FIELDS}

    def text(self, name: str) -> str:
        """The string field ``name`` (the schema has checked it)."""
        return str(self.event[name])

    def number(self, name: str) -> int:
        """The integer field ``name`` (the schema has checked it)."""
        return int(self.event[name])


@dataclass(frozen=True)
class GateRecord:
    """A ``device.gate`` decision: which entry, when, whether it allows, for which exam."""

    index: int
    ts: int
    allowed: bool
    exam: str | None
    actor: str


class GateBoard:
    """The latest gate decision of each room, as the log shows them so far."""

    def __init__(self) -> None:
        self._latest: dict[str, GateRecord] = {}

    def record(self, step: Step) -> None:
        """Take ``step`` (a ``device.gate``) as its room's latest decision."""
        exam = step.event.get("exam")
        self._latest[step.text("room")] = GateRecord(
            step.index,
            step.ts,
            bool(step.event["allowed"]),
            None if exam is None else str(exam),
            step.actor,
        )

    def latest(self, room: str) -> GateRecord | None:
        return self._latest.get(room)
