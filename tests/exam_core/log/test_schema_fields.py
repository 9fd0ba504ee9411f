"""String fields remember values that passed; that memory never changes a verdict."""

from __future__ import annotations

import pytest

from exam_core.errors import EntryError
from exam_core.log.schemas import _checked_schema, validate_event
from exam_core.log.schemas.fields import Enum, Int, Str, check_fields, fields_checker


def test_a_remembered_value_passes_and_others_are_still_checked() -> None:
    spec = Str(max_len=8, pattern=r"[a-z]+")
    for _ in range(2):  # the second round is answered from memory
        spec.check("abc", "f")
    for bad, why in [("ABC", "does not match"), ("abcdefghi", "length 9"), ("", "length 0")]:
        with pytest.raises(EntryError, match=why):
            spec.check(bad, "f")
        with pytest.raises(EntryError, match=why):  # a refusal is never remembered as a pass
            spec.check(bad, "f")
    with pytest.raises(EntryError, match="must be a string"):
        spec.check(b"abc", "f")


def test_memory_is_bounded_and_checks_go_on_past_it() -> None:
    spec = Str(max_len=8, pattern=r"[0-9]+")
    for n in range(5000):
        spec.check(str(n), "f")
    with pytest.raises(EntryError, match="does not match"):
        spec.check("x", "f")
    spec.check("4999", "f")


class _Text(str):
    """A string subclass: the quick checks leave it to the full ones."""


class _Number(int):
    """An integer subclass (not bool): valid for an integer field, checked the full way."""


def _full_check(event: dict[str, object]) -> str:
    """What ``validate_event`` answers by the full checks alone (the type, or the error)."""
    try:
        return _checked_schema(event).type
    except EntryError as e:
        return f"{e.code}: {e}"


def _answer(event: dict[str, object]) -> str:
    try:
        return validate_event(event).type
    except EntryError as e:
        return f"{e.code}: {e}"


_VALUES: list[object] = [
    True, False, 0, 1, 2, -1, 2**53, 2**53 - 1, _Number(3), None, "", "x", "ABC", "a.b",
    _Text("exam.example/c/1"), _Text("demo.event"), "a b", [], ["x"], {}, {"a": 1}, b"x", 1.0,
]  # fmt: skip


@pytest.mark.parametrize(
    "base",
    [
        {"n": 7, "note": "poll"},
        {"n": 7},
        {"name": "exam.example/c/1/demo/d1", "reason": "lost"},
    ],
)
def test_the_quick_checks_answer_as_the_full_ones(base: dict[str, object]) -> None:
    """``validate_event`` first checks without building messages and, on any doubt, checks
    again the full way: every answer (type, or error code and message) is the full checks'."""
    kind = "key.revoked" if "reason" in base else "demo.event"
    actor = "exam.example/c/1/demo/d1"
    event: dict[str, object] = {
        "v": 1, "log": "exam.example/c/1", "type": kind, "ts": 5, "actor": actor, "seq": 1,
    } | base  # fmt: skip
    assert _answer(event) == _full_check(event) == kind
    variants = [event | {"x": 1}, event | {"n2": 1}, event | {"type": "demo.other"}]
    variants += [{k: v for k, v in event.items() if k != name} for name in event]
    variants += [event | {name: value} for name in event for value in _VALUES]
    for variant in variants:
        assert _answer(variant) == _full_check(variant), variant


def test_a_fields_checker_counts_the_fields_present_or_says_no() -> None:
    spec = {"a": Int(minimum=0), "b": Str(max_len=4), "c": Enum(frozenset({"x"}))}
    present = fields_checker(spec, frozenset({"b", "c"}))
    assert present({"a": 1}) == 1
    assert present({"a": 1, "b": "ok", "c": "x", "z": 0}) == 3  # other names: the caller counts
    assert present({"a": 1, "b": "ok", "c": "x", "z": 0}) == 3  # "ok" now remembered
    bad: list[dict[str, object]] = [{}, {"a": -1}, {"a": True}, {"a": 1, "c": 0}]
    for value in [*bad, {"a": 1, "b": "toolong"}, {"a": 1, "c": "y"}]:
        assert present(value) == -1
    assert present({"a": _Number(1)}) == -1  # left to check_fields, which accepts it
    check_fields({"a": _Number(1)}, spec, frozenset({"b", "c"}), "")
