"""An entry's whole shape per event type, compiled from the type's schema: one match proves it.

An audit proves every entry of a log (``exam_core.audit.signatures.ProvingKeys``): it parses
(``parse_entry``), names the log, and passes its type's schema (``validate_event``).  Done as
written — match the common shape, decode the object, check its keys' order, then each field —
that is ~6 µs an entry in Python, a tenth of the audit beside the signature.  But an event of a
known type in the flat-ASCII form has one possible layout: its keys in canonical order, each
value of its field's kind.  So, per log and event type, the layout is compiled into one regular
expression of the entry's bytes — object, blank line and signature line — from the schema's
own specs (``FieldSpec.flat_value``, written beside each ``check``), with the log's origin and
the type written in, and ``EntryShapes.match`` reads the parts a proof needs from one match.

A match proves what the full path would find, never more: every value the pattern takes is
canonical JSON its spec passes (a spec whose pattern is not ``exact``, such as a string with
its own pattern, has each value put to ``passes`` as well), the keys are those of the type in
their order (so none is unknown, missing or twice), and the signature line is
``parse_plain_entry``'s.  Bytes that do not match are left to that full path, which decides
them and says why (``tests/exam_core/log/test_entry_shapes.py`` holds the two together).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

from exam_core.log.canonical import FLAT_ASCII_TEXT
from exam_core.log.entry import MAX_ENTRY_BYTES, PLAIN_SIGNATURE_LINE, key_id_and_signature
from exam_core.log.schemas import COMMON_SPECS, REGISTRY, EventSchema
from exam_core.log.schemas.fields import FieldSpec, FlatValue, flat_value_of

__all__ = ["EntryShapes", "ShapedEntry", "entry_pattern"]


class ShapedEntry(NamedTuple):
    """What a match of an entry's shape gives: the parts of ``PlainEntry`` a verifier needs
    (``actor`` to ``text``, at the same places) and what a proof takes from the event."""

    type: str
    actor: str
    key_id: int
    signature: bytes
    text: bytes
    """The signed text: the event's line and its newline."""
    seq: int
    ts: int


_new_tuple = tuple.__new__
"""Builds a named tuple from its fields in order, without parsing them in Python: per entry."""

_TYPE_KEY = b'"type":"'


class _Shape(NamedTuple):
    """One event type's compiled shape in one log."""

    type: str
    pattern: re.Pattern[bytes]
    groups: tuple[int, ...]
    """The groups of body, actor, signer's name, seq, ts and signature line's base64."""
    actor: FieldSpec
    """The actor's spec: its name is read as any string of the flat form, then checked."""
    checks: tuple[tuple[int, FieldSpec, bool], ...]
    """(group, spec, is a string) of the other values its pattern does not decide alone."""


class EntryShapes:
    """The compiled shapes of the log ``origin``'s event types, each compiled when an entry
    first names it."""

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._shapes: dict[bytes, _Shape | None] = {}

    def match(self, data: bytes) -> ShapedEntry | None:
        """The entry's parts if ``data`` has the shape of the type it names, else None: the
        full parse must decide (it may be valid all the same, in a layout not compiled)."""
        at = data.find(_TYPE_KEY)
        if at < 0 or len(data) > MAX_ENTRY_BYTES:
            return None
        at += len(_TYPE_KEY)
        named = data[at : data.find(b'"', at)]
        try:
            shape = self._shapes[named]
        except KeyError:
            shape = self._compile(named)
        if shape is None:
            return None
        match = shape.pattern.fullmatch(data)
        if match is None:
            return None
        body, actor, signer, seq, ts, encoded = match.group(*shape.groups)
        name = actor.decode("ascii")
        if actor != signer or not shape.actor.passes(name):
            return None
        if shape.checks and not _values_pass(match, shape.checks):
            return None
        key_id, signature = key_id_and_signature(encoded)
        entry = (shape.type, name, key_id, signature, data[: len(body) + 1], int(seq), int(ts))
        return _new_tuple(ShapedEntry, entry)

    def _compile(self, named: bytes) -> _Shape | None:
        """The shape of the type ``named`` (remembered), or None: no such type, or its entries
        have no flat layout.  Only registered names are remembered: the bytes are untrusted."""
        kind = named.decode("ascii", "replace")
        if kind not in REGISTRY:
            return None
        compiled = _compile_shape(kind, self._origin)
        self._shapes[named] = compiled
        return compiled


class _Field(NamedTuple):
    """A field of a type's events as its shape writes it."""

    name: str
    spec: FieldSpec
    value: FlatValue
    captured: bool
    """Its value is a group of the pattern: read (actor, seq, ts) or put to ``passes``."""
    place: int
    """Its place among the type's fields, sorted."""


_READ = ("actor", "seq", "ts")
"""The common fields a proof reads from a match: named groups of every shape."""


@lru_cache(maxsize=4096)
def _compile_shape(kind: str, origin: str) -> _Shape | None:
    """The shape of the registered type ``kind`` in the log ``origin``, built once per
    process: a prover is made per set of keys (a worker's grows as registrations come), and a
    monitoring centre proves the entries of many logs."""
    schema = REGISTRY[kind]
    fields = _flat_fields(schema, origin)
    if fields is None:
        return None
    pattern = re.compile(_entry_pattern(fields, schema.optional))
    index = pattern.groupindex
    return _Shape(
        schema.type,
        pattern,
        tuple(index[g] for g in ("body", "actor", "signer", "seq", "ts", "signature")),
        COMMON_SPECS["actor"],
        tuple(
            (index[_group(f)], f.spec, f.value.string)
            for f in fields
            if f.captured and not f.value.exact and f.name != "actor"
        ),
    )


def _values_pass(match: re.Match[bytes], checks: Sequence[tuple[int, FieldSpec, bool]]) -> bool:
    """Whether the values of the groups ``checks`` names pass their specs (a group that did
    not take part is an optional field left out)."""
    for group, spec, string in checks:
        value = match.group(group)
        if value is not None and not spec.passes(_flat_scalar(value, string)):
            return False
    return True


def entry_pattern(schema: EventSchema, origin: str) -> bytes | None:
    """The regular expression (source) of the entries of ``schema``'s type in the log
    ``origin`` in the flat-ASCII form, or None if it has none (a field that is a list or an
    object, a name that needs an escape, an origin that is not a valid ``log``).  The values
    of fields whose specs are not ``exact`` must also pass them (``EntryShapes.match``)."""
    fields = _flat_fields(schema, origin)
    return None if fields is None else _entry_pattern(fields, schema.optional)


def _flat_fields(schema: EventSchema, origin: str) -> list[_Field] | None:
    """The type's fields as its shape writes them, sorted by name as canonical JSON sorts
    them; the log and the type are written in as the one value each may have here."""
    log, kind = COMMON_SPECS["log"], COMMON_SPECS["type"]
    if set(schema.fields) & set(COMMON_SPECS):
        return None
    fields: list[_Field] = []
    for name, spec in sorted([*COMMON_SPECS.items(), *schema.fields.items()]):
        if name == "log":
            value: FlatValue | None = _written_in(origin, log)
        elif name == "type":
            value = _written_in(schema.type, kind)
        else:
            value = flat_value_of(spec)
        if value is None or FLAT_ASCII_TEXT.fullmatch(name) is None:
            return None
        if name in _READ and value.string != (name == "actor"):
            return None  # the actor is read as a string, seq and ts as integers
        captured = name in _READ or not value.exact
        fields.append(_Field(name, spec, value, captured, len(fields)))
    return fields


def _written_in(value: str, spec: FieldSpec) -> FlatValue | None:
    """The one string a field may hold in this shape, if its spec passes it."""
    if FLAT_ASCII_TEXT.fullmatch(value) is None or not spec.passes(value):
        return None
    return FlatValue(re.escape(value.encode()), exact=True, string=True)


def _group(f: _Field) -> str:
    """The group of a captured field's value: a field's name need not be a group's name."""
    return f.name if f.name in _READ else f"field{f.place}"


def _entry_pattern(fields: Sequence[_Field], optional: frozenset[str]) -> bytes:
    members = []
    for f in fields:
        value = f.value.pattern
        if f.captured:
            value = rb"(?P<" + _group(f).encode() + rb">" + value + rb")"
        elif b"|" in value:
            value = rb"(?:" + value + rb")"
        if f.value.string:
            value = rb'"' + value + rb'"'
        members.append((f.name in optional, rb'"' + re.escape(f.name.encode()) + rb'":' + value))
    # commas: before every member after the first required one, after each optional before it
    first = next(i for i, (is_optional, _) in enumerate(members) if not is_optional)
    body = b""
    for i, (is_optional, member) in enumerate(members):
        if i < first:
            body += rb"(?:" + member + rb",)?"
        elif i == first:
            body += member
        else:
            body += rb"(?:," + member + rb")?" if is_optional else rb"," + member
    return rb"(?P<body>\{" + body + rb"\})" + PLAIN_SIGNATURE_LINE


_LITERALS: dict[bytes, object] = {b"null": None, b"true": True, b"false": False}


def _flat_scalar(value: bytes, string: bool) -> object:
    """The JSON value a group holds: a string's characters, or a flat scalar's text."""
    if string:
        return value.decode("ascii")
    if value[:1] == b'"':
        return value[1:-1].decode("ascii")
    if value in _LITERALS:
        return _LITERALS[value]
    return int(value)
