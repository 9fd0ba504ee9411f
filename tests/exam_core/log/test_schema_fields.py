"""String fields remember values that passed; that memory never changes a verdict."""

from __future__ import annotations

import pytest

from exam_core.errors import EntryError
from exam_core.log.schemas.fields import Str


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
