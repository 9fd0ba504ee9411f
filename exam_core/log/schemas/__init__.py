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
from exam_core.log.schemas.fields import FieldSpec, Int, Str, check_fields, fields_checker
from exam_core.log.schemas.types import ALL_ROLES, COMMON_FIELDS, EventSchema, Role

__all__ = [
    "ALL_ROLES",
    "COMMON_FIELDS",
    "COMMON_SPECS",
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


_LOG = Str(max_len=255, pattern=r"[^\s+]+")
_TYPE = Str(max_len=64, pattern=r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_ACTOR = Str(max_len=255, pattern=r"[^\s+]+")
_COMMON: dict[str, FieldSpec] = {
    "v": Int(minimum=1, maximum=1),
    "log": _LOG,
    "type": _TYPE,
    "ts": Int(minimum=0, maximum=MAX_SAFE_INTEGER),
    "actor": _ACTOR,
    "seq": Int(minimum=1),
}
COMMON_SPECS: Mapping[str, FieldSpec] = _COMMON
"""The common fields' specs, by name."""
_COMMON_CHECKS = tuple((name, _COMMON[name]) for name in COMMON_FIELDS)
_LOG_SEEN, _TYPE_SEEN, _ACTOR_SEEN = _LOG.passed, _TYPE.passed, _ACTOR.passed
_TYPE_PRESENT = {
    name: fields_checker(schema.fields, schema.optional) for name, schema in REGISTRY.items()
}
"""Each type's ``fields_checker``: ``validate_event`` tries these first and, when one says
no, checks again the way that names the defect."""


def _valid_schema(event: Mapping[str, object]) -> EventSchema | None:
    """The event's schema if the event is valid, decided without building any message; None
    if it is not, or if it is valid in a way these checks leave to ``validate_event``'s own.

    The common fields are ``_COMMON``'s specs written out: every event has them.
    """
    try:
        v, log, kind = event["v"], event["log"], event["type"]
        ts, actor, seq = event["ts"], event["actor"], event["seq"]
    except KeyError:
        return None
    if (
        v != 1
        or type(v) is not int  # True == 1, but is no integer
        or type(ts) is not int
        or not 0 <= ts <= MAX_SAFE_INTEGER
        or type(seq) is not int
        or not 1 <= seq <= MAX_SAFE_INTEGER
        or not ((type(log) is str and log in _LOG_SEEN) or _LOG.passes(log))
        or not ((type(actor) is str and actor in _ACTOR_SEEN) or _ACTOR.passes(actor))
        or not ((type(kind) is str and kind in _TYPE_SEEN) or _TYPE.passes(kind))
    ):
        return None
    present = _TYPE_PRESENT.get(kind)  # type: ignore[call-overload]
    if present is None:
        return None
    count = present(event)
    if count < 0 or len(event) != len(COMMON_FIELDS) + count:
        return None  # a field failed or is missing, or a name is not the type's
    return REGISTRY[kind]  # type: ignore[index]


def validate_event(event: Mapping[str, object]) -> EventSchema:
    """Check the common fields and the type's own fields; return the type's schema.

    Raises:
        EntryError: code ``schema``: a common field is missing, or a common or type-specific field
            is unknown, missing or malformed (the message names it); code ``unknown_type``: the
            event's type is not registered.
    """
    schema = _valid_schema(event)
    return schema if schema is not None else _checked_schema(event)


def _checked_schema(event: Mapping[str, object]) -> EventSchema:
    """``validate_event`` by the full checks alone, which name what is wrong.

    Raises:
        EntryError: as ``validate_event``.
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
