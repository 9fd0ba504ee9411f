"""Event types of the exam domain."""

from __future__ import annotations

from exam_core.schemas.types import EventSchema

SCHEMAS: tuple[EventSchema, ...] = ()
