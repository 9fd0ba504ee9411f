"""Field validators for event schemas: small, strict, and integer-only.

A schema refuses unknown fields, missing required fields and values of the wrong kind, and
says which field (as a dotted path) is wrong.  Validators raise ``EntryError("schema", ...)``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from exam_core.errors import EntryError
from exam_core.log.canonical import (
    FLAT_ASCII_CHAR,
    FLAT_ASCII_TEXT,
    FLAT_INTEGER,
    FLAT_INTEGER_MAX,
    MAX_SAFE_INTEGER,
)

_PASSED_LIMIT = 4096
"""How many passing values a string field remembers (a bound on memory, not on correctness)."""
_WHOLE_BYTES_HEX = re.compile(r"(?:[0-9a-f]{2})*")


def _fail(path: str, message: str) -> EntryError:
    return EntryError("schema", f"{path}: {message}")


class FlatValue(NamedTuple):
    """Values of a field as a regular expression over their canonical JSON, in the flat-ASCII
    form (``exam_core.log.canonical.FLAT_ASCII_OBJECT``): what ``FieldSpec.flat_value`` gives,
    from which ``exam_core.log.entry_shapes`` compiles an event type's whole entry."""

    pattern: bytes
    """The regular expression: of the JSON value, or with ``string``, of the characters
    between its quotes."""
    exact: bool
    """Every value it matches passes the spec; else each one matched is put to ``passes``."""
    string: bool = False


_FLAT_STRING = FLAT_ASCII_CHAR + rb"{%d,%d}+"
_FLAT_NATURAL = rb"0|[1-9][0-9]{0,14}+"
_FLAT_POSITIVE = rb"[1-9][0-9]{0,14}+"


class FieldSpec:
    """Base of all validators."""

    def check(self, value: object, path: str) -> None:
        raise NotImplementedError

    def flat_value(self) -> FlatValue | None:
        """This field's values in the flat-ASCII form, or None: none are written so.

        The pattern may match fewer values than ``check`` passes (the others are decided by
        ``check`` through the full parse), never one that it refuses, unless ``exact`` is
        False.  It is the same rule as ``check``, written beside it: a subclass that changes
        ``check`` and not this has no pattern (``flat_value_of``).
        """
        return None

    def passes(self, value: object) -> bool:
        """Whether ``check`` passes ``value``, decided without a path: an error's message is
        built only when a value fails, which valid events never do."""
        try:
            self.check(value, "")
        except EntryError:
            return False
        return True


@dataclass(frozen=True)
class Int(FieldSpec):
    minimum: int = -MAX_SAFE_INTEGER
    maximum: int = MAX_SAFE_INTEGER

    def check(self, value: object, path: str) -> None:
        if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
            raise _fail(path, "must be an integer")
        if not self.minimum <= value <= self.maximum:
            raise _fail(path, f"{value} is outside [{self.minimum}, {self.maximum}]")

    def flat_value(self) -> FlatValue | None:
        if self.minimum == self.maximum and abs(self.minimum) <= FLAT_INTEGER_MAX:
            return FlatValue(str(self.minimum).encode(), exact=True)
        if self.minimum >= 1:
            low, pattern = 1, _FLAT_POSITIVE
        elif self.minimum >= 0:
            low, pattern = 0, _FLAT_NATURAL
        else:
            low, pattern = -FLAT_INTEGER_MAX, FLAT_INTEGER
        if self.maximum < low:
            return None
        return FlatValue(pattern, exact=self.minimum <= low and self.maximum >= FLAT_INTEGER_MAX)


@dataclass(frozen=True)
class Bool(FieldSpec):
    def check(self, value: object, path: str) -> None:
        if not isinstance(value, bool):
            raise _fail(path, "must be true or false")

    def flat_value(self) -> FlatValue:
        return FlatValue(rb"true|false", exact=True)


@dataclass(frozen=True)
class Str(FieldSpec):
    max_len: int = 256
    pattern: str | None = None
    min_len: int = 1

    _compiled: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    """The pattern compiled once: every event checks several strings."""
    _passed: dict[str, None] = field(init=False, repr=False, compare=False)
    """Values that passed already: a log repeats its origin, actors and types in every entry."""

    def __post_init__(self) -> None:
        compiled = re.compile(self.pattern) if self.pattern is not None else None
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_passed", {})

    @property
    def passed(self) -> Container[str]:
        """Values that passed (a view of ``_passed``, for checks written out inline)."""
        return self._passed

    def passes(self, value: object) -> bool:
        if type(value) is str and value in self._passed:
            return True
        return super().passes(value)

    def check(self, value: object, path: str) -> None:
        if type(value) is str and value in self._passed:
            return
        if not isinstance(value, str):
            raise _fail(path, "must be a string")
        if not self.min_len <= len(value) <= self.max_len:
            raise _fail(path, f"length {len(value)} is outside [{self.min_len}, {self.max_len}]")
        if self._compiled is not None and self._compiled.fullmatch(value) is None:
            raise _fail(path, f"does not match {self.pattern}")
        if type(value) is str and len(self._passed) < _PASSED_LIMIT:
            self._passed[value] = None

    def flat_value(self) -> FlatValue | None:
        if self.min_len > self.max_len:
            return None
        pattern = _FLAT_STRING % (max(self.min_len, 0), self.max_len)
        return FlatValue(pattern, exact=self.pattern is None, string=True)


@dataclass(frozen=True)
class Hex(FieldSpec):
    """Lowercase hex; ``nbytes`` fixes the decoded length when given."""

    nbytes: int | None = None
    max_bytes: int = 4096

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, str) or _WHOLE_BYTES_HEX.fullmatch(value) is None:
            raise _fail(path, "must be lowercase hex of whole bytes")
        size = len(value) // 2
        if self.nbytes is not None and size != self.nbytes:
            raise _fail(path, f"must be {self.nbytes} bytes, not {size}")
        if size > self.max_bytes:
            raise _fail(path, f"longer than {self.max_bytes} bytes")

    def flat_value(self) -> FlatValue | None:
        low, high = (self.nbytes, self.nbytes) if self.nbytes is not None else (0, self.max_bytes)
        if low > self.max_bytes:
            return None
        return FlatValue(rb"(?:[0-9a-f]{2}){%d,%d}+" % (low, high), exact=True, string=True)


@dataclass(frozen=True)
class Enum(FieldSpec):
    values: frozenset[str]

    def check(self, value: object, path: str) -> None:
        # A list or object is unhashable: tested for membership it would raise TypeError.
        if not isinstance(value, str) or value not in self.values:
            raise _fail(path, f"must be one of {sorted(self.values)}")

    def flat_value(self) -> FlatValue | None:
        flat = FLAT_ASCII_TEXT.fullmatch
        written = sorted(re.escape(v).encode() for v in self.values if flat(v))
        return FlatValue(b"|".join(written), exact=True, string=True) if written else None


@dataclass(frozen=True)
class ListOf(FieldSpec):
    item: FieldSpec
    max_items: int = 1024
    min_items: int = 0

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, list):
            raise _fail(path, "must be a list")
        if not self.min_items <= len(value) <= self.max_items:
            raise _fail(path, f"{len(value)} items, outside [{self.min_items}, {self.max_items}]")
        for i, item in enumerate(value):
            self.item.check(item, f"{path}[{i}]")


@dataclass(frozen=True)
class Obj(FieldSpec):
    """An object with exactly these fields; names in ``optional`` may be absent."""

    fields: Mapping[str, FieldSpec]
    optional: frozenset[str] = field(default_factory=frozenset)

    def check(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise _fail(path, "must be an object")
        check_fields(value, self.fields, self.optional, path)


@dataclass(frozen=True)
class AnyJson(FieldSpec):
    """Any canonical JSON value; its meaning is checked by the domain verifier that replays it."""

    def check(self, value: object, path: str) -> None:
        return None

    def flat_value(self) -> FlatValue:
        string = rb'"' + FLAT_ASCII_CHAR + rb'*+"'
        return FlatValue(string + rb"|" + FLAT_INTEGER + rb"|true|false|null", exact=True)


@dataclass(frozen=True)
class Nullable(FieldSpec):
    inner: FieldSpec

    def check(self, value: object, path: str) -> None:
        if value is not None:
            self.inner.check(value, path)

    def flat_value(self) -> FlatValue | None:
        inner = flat_value_of(self.inner)
        if inner is None:
            return None
        written = rb'"(?:' + inner.pattern + rb')"' if inner.string else inner.pattern
        return FlatValue(rb"null|" + written, exact=inner.exact)


def flat_value_of(spec: FieldSpec) -> FlatValue | None:
    """``spec.flat_value()`` if the class whose ``check`` it runs also wrote its
    ``flat_value``, else None: a pattern inherited past a changed ``check`` could match a value
    the new ``check`` refuses."""
    owner = next(c for c in type(spec).__mro__ if "check" in c.__dict__)
    return spec.flat_value() if "flat_value" in owner.__dict__ else None


def check_fields(
    value: Mapping[str, object],
    fields: Mapping[str, FieldSpec],
    optional: frozenset[str],
    path: str,
    checked: Container[str] = (),
) -> None:
    """Check an object against its field specs: no unknown, no missing, every value valid.

    Names in ``checked`` were checked by the caller (an event's common fields) and are
    neither unknown nor checked again.

    Raises:
        EntryError: code ``schema``: a field is unknown, a required one is missing, or a value fails
            its spec; the message names the field's path.
    """  # noqa: DOC501 - _fail builds an EntryError
    for name in value:
        if name not in fields and name not in checked:
            raise _fail(f"{path}.{name}" if path else name, "unknown field")
    for name, spec in fields.items():
        where = f"{path}.{name}" if path else name
        if name not in value:
            if name in optional:
                continue
            raise _fail(where, "missing")
        spec.check(value[name], where)


_ABSENT = object()


def fields_checker(
    fields: Mapping[str, FieldSpec], optional: frozenset[str]
) -> Callable[[Mapping[str, object]], int]:
    """A function that checks an object's ``fields`` as ``check_fields`` does, built once per
    schema, for the common case that nothing fails: it returns how many of ``fields`` the
    object has (so the caller tells whether any other name is there by counting), or -1 when
    one is missing or fails, for ``check_fields`` then to say which and why.

    Every event an audit or ingest admits goes through here; ``check_fields`` builds a path
    text per field and calls a method per spec even when all pass.  Integers and remembered
    strings, most of an event, are checked inline; other specs by ``FieldSpec.passes``.
    """
    plan = tuple(
        (
            name,
            spec,
            name in optional,
            type(spec) is Int,
            spec.minimum if type(spec) is Int else 0,
            spec.maximum if type(spec) is Int else 0,
            spec._passed if type(spec) is Str else None,
        )
        for name, spec in fields.items()
    )

    def present_fields(value: Mapping[str, object]) -> int:
        count = 0
        get = value.get
        for name, spec, is_optional, is_int, low, high, passed in plan:
            item = get(name, _ABSENT)
            if item is _ABSENT:
                if is_optional:
                    continue
                return -1
            if is_int:
                if type(item) is not int or not low <= item <= high:
                    return -1
            elif passed is not None and type(item) is str and item in passed:
                pass
            elif not spec.passes(item):
                return -1
            count += 1
        return count

    return present_fields
