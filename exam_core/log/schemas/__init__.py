"""Event schemas and the role table: which role may sign which event type, with which fields.

Each domain keeps its event types in its own module (``log``, ``allocation``, ``devices``,
``exam``, ``evidence``, ``identity``, ``rooms``, ``session``, ``checkin``, and the monitoring
centre's ``warnings``); this package gathers
them into one registry that ingest and the audit both use.
"""

from __future__ import annotations

from collections.abc import Mapping

from exam_core.errors import EntryError
from exam_core.log.canonical import MAX_SAFE_INTEGER
from exam_core.log.schemas import (
    allocation,
    checkin,
    devices,
    evidence,
    exam,
    identity,
    log,
    rooms,
    session,
    warnings,
)
from exam_core.log.schemas.fields import Int, Str, check_fields
from exam_core.log.schemas.types import ALL_ROLES, COMMON_FIELDS, EventSchema, Role

__all__ = [
    "ALL_ROLES",
    "COMMON_FIELDS",
    "REGISTRY",
    "EventSchema",
    "Role",
    "check_type_fields",
    "validate_event",
]


def _build_registry() -> dict[str, EventSchema]:
    registry: dict[str, EventSchema] = {}
    for module in (
        log,
        allocation,
        devices,
        exam,
        evidence,
        identity,
        rooms,
        session,
        checkin,
        warnings,
    ):
        for schema in module.SCHEMAS:
            if schema.type in registry:
                raise RuntimeError(f"event type {schema.type} is defined twice")
            registry[schema.type] = schema
    return registry


REGISTRY: Mapping[str, EventSchema] = _build_registry()

_COMMON = {
    "v": Int(minimum=1, maximum=1),
    "log": Str(max_len=255, pattern=r"[^\s+]+"),
    "type": Str(max_len=64, pattern=r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+"),
    "ts": Int(minimum=0, maximum=MAX_SAFE_INTEGER),
    "actor": Str(max_len=255, pattern=r"[^\s+]+"),
    "seq": Int(minimum=1),
}


_COMMON_CHECKS = tuple((name, _COMMON[name]) for name in COMMON_FIELDS)


def validate_event(event: Mapping[str, object]) -> EventSchema:
    """Check the common fields and the type's own fields; return the type's schema.

    Raises:
        EntryError: code ``schema``: a common field is missing, or a common or type-specific field
            is unknown, missing or malformed (the message names it); code ``unknown_type``: the
            event's type is not registered.
    """
    for name, spec in _COMMON_CHECKS:
        if name not in event:
            raise EntryError("schema", f"{name}: missing")
        spec.check(event[name], name)
    schema = REGISTRY.get(str(event["type"]))
    if schema is None:
        raise EntryError("unknown_type", f"event type {event['type']!r} is not known")
    check_fields(event, schema.fields, schema.optional, "", checked=_COMMON)
    return schema


def check_type_fields(event_type: str, fields: Mapping[str, object]) -> None:
    """Check the type-specific ``fields`` of an event of a known type (no common fields).

    For code that builds or reads one type's fields apart from a whole event (a configuration
    file before it is signed, the fields of an entry already admitted).

    Raises:
        EntryError: a field is missing, unknown or malformed.
        KeyError: ``event_type`` is not a known type (a caller bug).
    """
    schema = REGISTRY[event_type]
    check_fields(fields, schema.fields, schema.optional, "")
