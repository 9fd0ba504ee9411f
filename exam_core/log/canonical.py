"""Canonical, integer-only JSON: the bytes every event is signed and hashed as.

Events are serialised with RFC 8785 (JSON Canonicalization Scheme) restricted to the subset the
design allows (DESIGN §3.1): objects, arrays, strings, integers within ±(2^53−1), ``true``,
``false`` and ``null``.  No floats ever, so JCS's ECMAScript number formatting reduces to
decimal integers and the only subtle rule left is key order by UTF-16 code units.

``canonical_json`` is the one function that makes these bytes; ``parse_canonical`` is the
strict inverse: it accepts a byte string only when re-serialising the parsed value gives back
exactly the same bytes, so a verifier can hash the stored bytes and still know they are the
unique encoding of the value.  The tests cross-check both against the ``rfc8785`` package.

``parse_strict_json`` applies the same value rules to JSON that people write (configuration
files, scenarios, exam descriptions): any whitespace and key order, but no floats, no integer
outside the range, no duplicate key, no lone surrogate, no nesting deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

from exam_core.errors import CanonicalError

MAX_SAFE_INTEGER = 2**53 - 1
"""The largest integer every JSON implementation represents exactly (I-JSON, RFC 7493 §2.2)."""

MAX_DEPTH = 32
"""Nesting deeper than this is refused: no event needs it and it bounds recursion."""


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _encode_string(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise CanonicalError("string holds a lone surrogate, which is not valid Unicode") from e
    return encode_basestring(value)


def _encode(value: object, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise CanonicalError(f"nesting deeper than {MAX_DEPTH}")
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalError(f"integer {value} is outside ±(2^53−1)")
        out.append(str(int(value)))
    elif isinstance(value, float):
        raise CanonicalError(f"float {value!r} is not allowed: events carry integers only")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, Mapping):
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise CanonicalError(f"object key {key!r} is not a string")
        out.append("{")
        for i, key in enumerate(sorted(keys, key=_utf16_key)):
            if i:
                out.append(",")
            out.append(_encode_string(key))
            out.append(":")
            _encode(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out, depth + 1)
        out.append("]")
    else:
        raise CanonicalError(f"value of type {type(value).__name__} is not JSON")


def canonical_json(value: object) -> bytes:
    """Serialise ``value`` as RFC 8785 canonical JSON, refusing anything outside the subset."""
    out: list[str] = []
    _encode(value, out, 0)
    return "".join(out).encode("utf-8")


def _refuse_float(text: str) -> Any:
    raise CanonicalError(f"number {text} is a float: only integers are allowed")


def _refuse_constant(text: str) -> Any:
    raise CanonicalError(f"{text} is not JSON")


_MAX_INTEGER_CHARS = len(str(-MAX_SAFE_INTEGER))
"""A sign and sixteen digits: any longer integer text is outside ±(2^53−1) (no leading zeros)."""


def _safe_int(text: str) -> int:
    # Refused before ``int`` sees it: Python will not convert more than 4,300 digits (a
    # ValueError of its own), and no text this long can hold an integer within range.
    if len(text) > _MAX_INTEGER_CHARS:
        shown = text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"
        raise CanonicalError(f"integer {shown} is outside ±(2^53−1)")
    return int(text)


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, item in pairs:
        if key in obj:
            raise CanonicalError(f"duplicate object key {key!r}")
        obj[key] = item
    return obj


_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 16
"""Sixteen digits in a row may be an integer beyond 2^53 − 1: the exact path decides.  With
every digit mapped to ``0`` (and nothing else is), a plain substring search finds the run."""


def _not_json(value: object) -> Any:
    raise TypeError(f"value of type {type(value).__name__} is not JSON")


def _fast_encoder() -> Callable[[Any], str]:
    """The C encoder with JCS's separators and key order, built once.

    ``JSONEncoder.encode`` builds this encoder afresh on every call, which is a third of its
    cost for an event; the parsed values it checks come from the decoder, so they hold no
    cycles and need no circular-reference markers.
    """
    settings: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":"), "sort_keys": True}
    try:  # the json module's C accelerator, imported as json.encoder imports it
        from _json import make_encoder  # noqa: PLC0415
    except ImportError:  # pragma: no cover - an interpreter without it: same output, slower
        return json.JSONEncoder(**settings).encode
    encode_chunks = make_encoder(
        None, _not_json, encode_basestring, None, ":", ",", True, False, False
    )
    return lambda value: "".join(encode_chunks(value, 0))


_FAST_DUMPS = _fast_encoder()


def _fast_path_applies(data: bytes) -> bool:
    """Whether the C encoder's output is exactly JCS for this input.

    ``sort_keys`` orders keys by code point, which equals UTF-16 order unless a key holds a
    character beyond U+FFFF (a four-byte UTF-8 sequence, lead byte ≥ 0xF0); string escapes are
    the same function ``_encode_string`` uses.  Nesting and integer range are what the fast
    path does not check, so inputs that could break them take the exact path.
    """
    return (
        (data.isascii() or max(data) < 0xF0)
        and _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO)
        and data.count(b"{") + data.count(b"[") <= MAX_DEPTH
    )


_FLAT_VALUE = rb'(?:"[^"\\\x00-\x1f]*+"|-?[1-9][0-9]{0,14}+|0|true|false|null)'
_FLAT_PAIR = rb'"[ !#-\[\]-~]*+":' + _FLAT_VALUE
_FLAT_OBJECT = re.compile(rb"\{(?:" + _FLAT_PAIR + rb"(?:," + _FLAT_PAIR + rb")*+)?\}")
"""A flat object whose every member is already in canonical form: an ASCII key that needs no
escape, and a string that needs none (no quote, backslash or C0 control), an integer of at most
fifteen digits without leading zeros or ``-0``, or a literal.  Most events are such an object;
for one, canonical means only: keys in order, none twice (``_flat_canonical``)."""


FLAT_ASCII_CHAR = rb"[ !#-\[\]-~]"
"""A character of a string in the flat-ASCII form: printable ASCII but the quote and the
backslash, which canonical JSON writes as they are (no escape) and a note accepts."""
FLAT_ASCII_TEXT = re.compile(FLAT_ASCII_CHAR.decode() + "*")
"""A string every character of which is ``FLAT_ASCII_CHAR``: written as it is, no escape."""
FLAT_INTEGER = rb"-?[1-9][0-9]{0,14}+|0"
"""An integer in canonical form (no leading zero, no ``-0``) of at most fifteen digits, so
within ±(2^53−1) whatever they are (``FLAT_INTEGER_MAX``)."""
FLAT_INTEGER_MAX = 10**15 - 1

_ASCII_STRING = rb'"' + FLAT_ASCII_CHAR + rb'*+"'
_ASCII_VALUE = _ASCII_STRING + rb"|" + FLAT_INTEGER + rb"|true|false|null"
FLAT_ASCII_OBJECT = (
    rb"\{"
    + _ASCII_STRING
    + rb":(?:"
    + _ASCII_VALUE
    + rb")(?:,"
    + _ASCII_STRING
    + rb":(?:"
    + _ASCII_VALUE
    + rb"))*+\}"
)
"""A regular expression (its source, for larger patterns): a non-empty flat object of
printable ASCII whose every member is in canonical form (as ``_FLAT_OBJECT``, and no byte a
note refuses: no control character, no DEL).  ``flat_object`` decides the rest.

Its repetitions are possessive (``*+``): each stops where the next token must begin (a string
at its closing quote, digits at ``,`` or ``}``, the members at ``}``), so giving characters
back could never lead to a match, and the engine no longer keeps the states to try."""


def flat_object(data: bytes) -> dict[str, Any] | None:
    """The value of ``data``, which matched ``FLAT_ASCII_OBJECT``, if it is canonical JSON:
    its keys in order and none twice (see ``_flat_canonical``); else None."""
    value: dict[str, Any] = _FAST_SCAN(data.decode("ascii"), 0)[0]
    keys = list(value)
    if len(keys) == data.count(b'":') and keys == sorted(keys):
        return value
    return None


def _flat_canonical(data: bytes, text: str) -> Any:
    """The value of ``data`` if it is a flat object in canonical form, else None (undecided).

    Keys of printable ASCII order by UTF-16 code units as by code points, so Python's sort is
    JCS's.  No string in a flat object holds a quote, so ``":`` ends a key and nothing else:
    when the decoded object has as many keys as the text has ``":``, no key came twice.
    """
    if _FLAT_OBJECT.fullmatch(data) is None:
        return None
    value = _FAST_SCAN(text, 0)[0]
    keys = list(value)
    if len(keys) == data.count(b'":') and keys == sorted(keys):
        return value
    return None


def parse_canonical(data: bytes) -> Any:
    """Parse canonical JSON bytes strictly; raise ``CanonicalError`` for any other encoding.

    Refused: invalid UTF-8, duplicate keys, floats and exponents, NaN/Infinity, integers
    outside ±(2^53−1), lone surrogates, whitespace, unsorted keys, trailing bytes — in short
    every byte string that is not exactly ``canonical_json`` of its value.

    Raises:
        CanonicalError: for every defect, including integers of any length outside the
            range and nesting of any depth; no other exception leaves this function.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalError(f"invalid UTF-8 at byte {e.start}") from e
    flat = _flat_canonical(data, text)
    if flat is not None:
        return flat
    if _fast_path_applies(data):
        # Any doubt goes to the exact path, which names the defect.  Duplicate keys need no
        # hook here: the parsed value keeps one of them, so its encoding cannot equal the
        # text.  Neither can a lone surrogate's: the encoder writes it as a character, where
        # valid UTF-8 text can only hold the six-character escape.
        try:
            value, end = _FAST_SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError, CanonicalError):
            pass  # not JSON, a float, too deep: JSONDecodeError is a ValueError
        else:
            if end == len(text) and _FAST_DUMPS(value) == text:
                return value
    value = _loads(text, _unique_object)
    if canonical_json(value) != data:
        raise CanonicalError("JSON is not in canonical form (RFC 8785: order, spacing, escapes)")
    return value


_DECODERS: dict[Callable[[list[tuple[str, Any]]], Any] | None, json.JSONDecoder] = {
    hook: json.JSONDecoder(
        parse_float=_refuse_float,
        parse_int=None if hook is None else _safe_int,
        parse_constant=_refuse_constant,
        object_pairs_hook=hook,
    )
    for hook in (None, _unique_object)
}
"""Built once: ``json.loads`` with options builds a decoder per call, a third of its cost.  The
fast path's decoder (no hook) keeps the C scanner's own integer conversion: it only ever sees
inputs without a run of sixteen digits."""

_FAST_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODERS[None].scan_once  # type: ignore[attr-defined]
"""The decoder's scanner itself (an attribute typeshed does not list): ``decode`` around it only
skips whitespace, which canonical JSON never has, and reports trailing bytes, which the fast
path checks by position."""


def _loads(text: str, pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None) -> Any:
    try:
        if text.startswith("\ufeff"):  # as json.loads does before decoding
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODERS[pairs_hook].decode(text)
    except json.JSONDecodeError as e:
        raise CanonicalError(f"not JSON: {e.msg} at byte {e.pos}") from e
    except RecursionError as e:
        raise CanonicalError("nesting too deep") from e


def parse_strict_json(data: bytes) -> Any:
    """Parse hand-written JSON under the value rules of canonical JSON, in any layout.

    Raises:
        CanonicalError: the bytes are not UTF-8 JSON, or hold a float, an integer outside
            ±(2^53−1), a duplicate key, a lone surrogate or nesting deeper than ``MAX_DEPTH``;
            no other exception leaves this function.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalError(f"invalid UTF-8 at byte {e.start}") from e
    value = _loads(text, _unique_object)
    _check_values(value)
    return value


def _check_values(value: object) -> None:
    """Depth and strings of a decoded document, walked without recursion.

    Raises:
        CanonicalError: the document nests deeper than ``MAX_DEPTH`` or a string holds a lone
            surrogate.
    """
    pending: list[tuple[object, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise CanonicalError(f"nesting deeper than {MAX_DEPTH}")
        if isinstance(item, str):
            _encode_string(item)
        elif isinstance(item, dict):
            for key, member in item.items():
                _encode_string(key)
                pending.append((member, depth + 1))
        elif isinstance(item, list):
            pending.extend((member, depth + 1) for member in item)


def compact_json(value: object) -> bytes:
    """A state file's JSON as this project writes it: keys sorted, no spaces, UTF-8.

    For the centre's snapshot and the audit's saved state, whose registries hold thousands of
    keys: the json module's C encoder, ten times faster than ``canonical_json`` and the same
    bytes for their values (integers, strings, lists and objects with BMP keys).
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def parse_compact_json(data: bytes) -> Any:
    """The value of bytes that ``compact_json`` wrote, and of nothing else.

    Raises:
        CanonicalError: the bytes are not UTF-8 JSON, repeat an object key, hold a float, a
            constant (NaN, Infinity) or a lone surrogate, or are not exactly the form
            ``compact_json`` writes.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CanonicalError(f"invalid UTF-8 at byte {e.start}") from e
    value = _loads(text, _unique_object)
    try:
        written = compact_json(value)
    except UnicodeEncodeError as e:  # an escaped lone surrogate: ``compact_json`` writes none
        raise CanonicalError("string holds a lone surrogate, which is not valid Unicode") from e
    if written != data:
        raise CanonicalError("not in the form it is written in (key order, spacing)")
    return value
