"""Event types of the devices domain."""

from __future__ import annotations

from exam_core.schemas.types import EventSchema

SCHEMAS: tuple[EventSchema, ...] = ()
