"""Canonical integer-only JSON: agreement with the rfc8785 package and every malformation."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import CanonicalError
from exam_core.log import canonical
from exam_core.log.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_json, parse_canonical

FIXTURES: list[Any] = [
    {"\U0001f600": 1, "\ufb33": 2},
    {"b": 1, "a": 2, "A": 3, "": 4, "aa": 5, "\u00e9": 6, "\u20ac": 7, "\U00010000": 8},
    {"control": "".join(chr(c) for c in range(0x20)) + "\x7f\u2028\u2029"},
    {"quote": '"\\/', "emoji": "\U0001f697", "cjk": "科目三"},
    [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -1, 1, 10**15],
    {"nested": {"list": [[], {}, [None, True, False]], "z": {"y": {"x": "w"}}}},
    {
        "v": 1,
        "log": "exam.example/c/370100-01",
        "type": "exam.scored",
        "ts": 1_790_000_000_123,
        "actor": "exam.example/c/370100-01/scorer/S1",
        "seq": 42,
        "points": 90,
        "deductions": [{"code": "30101", "frame": 1234, "points": -10}],
    },
    "",
    None,
    True,
    0,
]


@pytest.mark.parametrize("value", FIXTURES)
def test_agrees_with_rfc8785_and_parses_back(value: Any) -> None:
    data = canonical_json(value)
    assert data == rfc8785.dumps(value)
    assert parse_canonical(data) == value


def test_utf16_key_order_example() -> None:
    # U+1F600 is D83D DE00 in UTF-16, before U+FB33; by code point it would come after.
    data = canonical_json({"\ufb33": 0, "\U0001f600": 0})
    assert data == '{"\U0001f600":0,"\ufb33":0}'.encode()
    assert data != json.dumps({"\ufb33": 0, "\U0001f600": 0}, sort_keys=True).encode()


def test_control_characters_are_escaped_minimally() -> None:
    data = canonical_json("\x00\x08\t\n\x0c\r\x1f\x7f")
    assert data == b'"\\u0000\\b\\t\\n\\f\\r\\u001f\x7f"'
    assert b"\n" not in canonical_json({"k": "line\nbreak"})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_random_values_agree_with_rfc8785(value: Any) -> None:
    expected = rfc8785.dumps(value)
    assert canonical_json(value) == expected
    assert parse_canonical(expected) == value


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.0,
        float("nan"),
        float("inf"),
        MAX_SAFE_INTEGER + 1,
        -MAX_SAFE_INTEGER - 1,
        {"k": 2**64},
        {1: "x"},
        b"bytes",
        {"s": "\ud800"},
        {"\udc00": 1},
        object(),
        {"set"},
    ],
)
def test_values_outside_the_subset_are_refused(value: Any) -> None:
    with pytest.raises(CanonicalError):
        canonical_json(value)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_depth_limit() -> None:
    assert parse_canonical(canonical_json(_nested(MAX_DEPTH))) == _nested(MAX_DEPTH)
    with pytest.raises(CanonicalError, match="deeper"):
        canonical_json(_nested(MAX_DEPTH + 1))
    with pytest.raises(CanonicalError):
        parse_canonical(b"[" * (MAX_DEPTH + 1) + b"0" + b"]" * (MAX_DEPTH + 1))
    with pytest.raises(CanonicalError):
        parse_canonical(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"1.0", "integer"),
        (b"1.5", "integer"),
        (b"1e3", "integer"),
        (b"1E3", "integer"),
        (b"-0.0", "integer"),
        (b"NaN", "not JSON"),
        (b"Infinity", "not JSON"),
        (b"-Infinity", "not JSON"),
        (b'{"a":1,"a":2}', "duplicate"),
        (b'{"a": 1}', "canonical"),
        (b' {"a":1}', "canonical"),
        (b'{"a":1}\n', "canonical"),
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"\xef\xac\xb3":0,"\xf0\x9f\x98\x80":0}', "canonical"),
        (b"9007199254740992", "outside"),
        (b"-9007199254740992", "outside"),
        (b"01", "not JSON"),
        (b"-0", "canonical"),
        (b'"\\u00e9"', "canonical"),
        (b'"\\/"', "canonical"),
        (b'"\xff"', "UTF-8"),
        (b'"\xc3"', "UTF-8"),
        (b'"\xed\xa0\x80"', "UTF-8"),
        (b'"\\ud800"', "surrogate"),
        (b'{"a":1}x', "not JSON"),
        (b'{"a":1}{}', "not JSON"),
        (b"", "not JSON"),
        (b'"\x01"', "not JSON"),
        (b"[1,]", "not JSON"),
        (b"true ", "canonical"),
        (b"\xef\xbb\xbf{}", "not JSON"),
        (b'{"a":"\\udc00x"}', "surrogate"),
        (b'{"a":[1,2]} ', "canonical"),
    ],
)
def test_parse_refuses_every_malformation(data: bytes, reason: str) -> None:
    with pytest.raises(CanonicalError, match=reason):
        parse_canonical(data)


_FLAT_TOKENS = st.sampled_from(
    [
        '"a"',
        '"b"',
        '"A"',
        '""',
        '"é"',
        '"\\n"',
        '"\\u0041"',
        '"x\\"',
        '"\x7f"',
        '"😀"',
        ":",
        ",",
        "0",
        "-0",
        "01",
        "7",
        "-12",
        "9007199254740991",
        "123456789012345",
        "1234567890123456",
        "1.5",
        "1e3",
        "true",
        "false",
        "null",
        "[]",
        "{}",
        " ",
        "\t",
    ]
)


@settings(max_examples=3000)
@given(st.lists(_FLAT_TOKENS, max_size=12))
def test_the_flat_fast_path_accepts_only_canonical_objects(tokens: list[str]) -> None:
    """Whatever bytes the flat path accepts are ``canonical_json`` of what it returns, and the
    exact path returns the same; what it refuses is left to the exact path (None)."""
    data = ("{" + "".join(tokens) + "}").encode()
    found = canonical._flat_canonical(data, data.decode())
    if found is not None:
        assert canonical_json(found) == data
        assert canonical._loads(data.decode(), canonical._unique_object) == found


@pytest.mark.parametrize(
    "data",
    [b"{}", b'{"a":1}', b'{"a":"x","b":-7,"c":true,"d":null}', b'{"\x7f":0}', b'{"a":"\xc3\xa9"}'],
)
def test_flat_objects_parse_as_by_the_exact_path(data: bytes) -> None:
    assert parse_canonical(data) == json.loads(data)
    assert canonical_json(parse_canonical(data)) == data


@pytest.mark.parametrize("data", [b'["\\udcff"]', b'{"\\ud800":1}', b'{"a":"x\\udfffy"}'])
def test_a_state_file_with_an_escaped_lone_surrogate_is_refused(data: bytes) -> None:
    """``compact_json`` can write no lone surrogate: one escaped in a state file is refused
    with the parser's own error (re-encoding it to compare raised UnicodeEncodeError)."""
    with pytest.raises(CanonicalError, match="lone surrogate"):
        canonical.parse_compact_json(data)
