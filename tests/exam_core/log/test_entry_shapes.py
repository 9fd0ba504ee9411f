"""``EntryShapes``, an event type's whole entry in one match, against the full parse and schema.

The audit proves entries with it (``ProvingKeys``): whatever it takes must be an entry that
``parse_entry`` accepts, of the log it was compiled for, whose event passes ``validate_event``
as the type it names, with the same signer, key ID, signature, text, ``seq`` and ``ts``.  It may
leave any entry to the full path (None), and then changes nothing.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exam_core.audit.signatures import Answer, ProvingKeys, registered_keys
from exam_core.errors import EntryError
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.entry_shapes import EntryShapes, ShapedEntry, entry_pattern
from exam_core.log.schemas import REGISTRY, EventSchema, validate_event
from exam_core.log.schemas.fields import (
    AnyJson,
    Bool,
    Enum,
    FieldSpec,
    Hex,
    Int,
    ListOf,
    Nullable,
    Obj,
    Str,
    flat_value_of,
)
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.signed_day import SignedDay
from tests.exam_core.log.demo_event import ACTOR, ORIGIN, demo_event
from tests.mutations import every_mutation, mutate


def _agrees(shapes: EntryShapes, origin: str, data: bytes) -> bool:
    """True if the shape took ``data``; fails the test if the full path reads it otherwise."""
    shaped = shapes.match(data)
    if shaped is None:
        return False
    try:
        entry = parse_entry(data)
        kind = validate_event(entry.event).type
    except EntryError as e:
        pytest.fail(f"the shape took an entry the full path refuses ({e}): {data!r}")
    sig = entry.note.signatures[0]
    assert entry.event["log"] == origin, data
    assert shaped == ShapedEntry(
        kind, sig.name, sig.key_id, sig.signature, entry.note.text, entry.seq, entry.ts
    ), data
    return True


def _demo(**extra: Any) -> bytes:
    return make_entry(ACTOR, demo_event(**extra))


DEMO_SEEDS = [_demo(), _demo(note="exam-room-A3 poll"), _demo(n=999_999_999_999_999, note="x")]


@pytest.fixture(scope="module")
def day() -> SignedDay:
    day = SignedDay()
    day.whole_day()
    return day


def test_a_scripted_exam_days_entries_take_their_shapes(day: SignedDay) -> None:
    shapes = EntryShapes(ds.ORIGIN)
    taken: dict[str, int] = {}
    for data in day.log.entries:
        if _agrees(shapes, ds.ORIGIN, data):
            kind = json.loads(data.split(b"\n")[0])["type"]
            taken[kind] = taken.get(kind, 0) + 1
    # every type whose fields are all flat is taken; the others (lists, objects) are not
    compiled = {t for t, s in REGISTRY.items() if entry_pattern(s, ds.ORIGIN) is not None}
    written = {json.loads(d.split(b"\n")[0])["type"] for d in day.log.entries}
    assert set(taken) == compiled & written
    assert {"allocation.made", "exam.scored"} <= written - set(taken)


@pytest.mark.parametrize("data", DEMO_SEEDS)
def test_demo_entries_take_their_shape(data: bytes) -> None:
    assert _agrees(EntryShapes(ORIGIN), ORIGIN, data)


def test_another_logs_entries_are_left_to_the_full_path() -> None:
    assert EntryShapes("exam.example/c/999999-01").match(DEMO_SEEDS[0]) is None


@pytest.mark.parametrize(
    "edit",
    [
        {"n": -1},  # outside the spec's range
        {"n": 10**15},  # sixteen digits: past the flat form, left to the full path
        {"note": ""},  # shorter than the spec allows
        {"note": "a" * 1025},
        {"extra": 1},  # a field the type does not have
        {"v": 2},
        {"seq": 0},
        {"note": 'with "quotes"'},  # needs an escape: valid, but not flat
        {"note": "caf\u00e9"},
    ],
)
def test_what_the_shape_does_not_prove_is_left_to_the_full_path(edit: dict[str, Any]) -> None:
    assert EntryShapes(ORIGIN).match(_demo(**edit)) is None


def test_a_type_not_named_or_not_known_is_left_to_the_full_path() -> None:
    shapes = EntryShapes(ORIGIN)
    data = DEMO_SEEDS[0]
    assert shapes.match(data) is not None
    assert shapes.match(data.replace(b'"type":"demo.event"', b'"type":"demo.other"')) is None
    assert shapes.match(data.replace(b'"type":"demo.event",', b"")) is None
    unknown = {data.replace(b"demo.event", b"x%d.y" % i) for i in range(100)}
    assert not any(shapes.match(d) for d in unknown)
    assert list(shapes._shapes) == [b"demo.event"]  # an unknown name is not remembered


def test_mutated_entries_are_taken_only_as_the_full_path_takes_them(day: SignedDay) -> None:
    rng = random.Random("entry-shapes")
    day_seeds = [d for d in day.log.entries if EntryShapes(ds.ORIGIN).match(d) is not None]
    seeds = [(ORIGIN, d) for d in DEMO_SEEDS] + [(ds.ORIGIN, d) for d in rng.sample(day_seeds, 8)]
    cases = [(o, m) for o, seed in seeds for m in every_mutation(seed, rng)]
    cases += [(o, mutate(d, rng)) for o, d in (rng.choice(seeds) for _ in range(3000))]
    for _ in range(6000):  # one byte changed: a digit, a quote, a comma, a letter
        origin, seed = rng.choice(seeds)
        data = bytearray(seed)
        data[rng.randrange(len(data))] = rng.choice(b'{}[]",:\\-0123456789 \x7f\n+=aAz.')
        cases.append((origin, bytes(data)))
    shapes = {o: EntryShapes(o) for o in (ORIGIN, ds.ORIGIN)}
    taken = sum(_agrees(shapes[origin], origin, data) for origin, data in cases)
    assert taken > 100  # many mutations keep an entry valid and in shape (a digit changed)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_entries_written_from_a_shape_are_what_the_full_path_reads(data: st.DataObject) -> None:
    # Entries drawn from the compiled pattern itself, signed (any bytes: the parse does not
    # verify) in the name of their actor: whatever the shape takes, the full path takes alike,
    # and it takes every one whose values its pattern decides alone.
    kind = data.draw(st.sampled_from(COMPILED))
    pattern = re.compile(entry_pattern(REGISTRY[kind], ORIGIN) or b"")
    drawn = pattern.fullmatch(data.draw(st.from_regex(pattern, fullmatch=True)))
    assert drawn is not None
    actor = drawn["actor"].translate(bytes.maketrans(b" +", b"ab"))  # a valid actor's name
    body = drawn["body"].replace(b'"actor":"' + drawn["actor"], b'"actor":"' + actor, 1)
    entry = body + b"\n\n\xe2\x80\x94 " + actor + b" " + drawn["signature"] + b"\n"
    shapes = EntryShapes(ORIGIN)
    taken = _agrees(shapes, ORIGIN, entry)
    shape = shapes._shapes[kind.encode()]
    if shape is not None and not shape.checks:  # no value left to its spec but the actor
        assert taken, entry


COMPILED = sorted(t for t, s in REGISTRY.items() if entry_pattern(s, ORIGIN) is not None)


def test_the_audits_proofs_are_the_same_with_and_without_shapes(day: SignedDay) -> None:
    rng = random.Random("shaped-proofs")
    entries = list(day.log.entries)
    entries += [mutate(rng.choice(entries), rng) for _ in range(500)]
    keys = registered_keys(entries)
    with_shapes = ProvingKeys(keys, ds.ORIGIN)
    without = ProvingKeys(keys, ds.ORIGIN)
    without._shapes = None
    proven: list[Answer] = with_shapes.prove(entries)
    assert proven == without.prove(entries)
    assert sum(isinstance(a, tuple) for a in proven) > len(day.log.entries) // 2


# --- each spec's flat values against its own check ---------------------------------------

SPECS: list[FieldSpec] = [
    Int(),
    Int(minimum=0),
    Int(minimum=1),
    Int(minimum=3, maximum=9),
    Int(minimum=-5, maximum=5),
    Int(minimum=1, maximum=1),
    Int(minimum=-7, maximum=-7),
    Bool(),
    Str(),
    Str(max_len=3, min_len=0),
    Str(max_len=16, pattern=r"[a-z]+-[0-9]"),
    Hex(),
    Hex(nbytes=4),
    Hex(max_bytes=2),
    Enum(frozenset({"a", "b.c", 'q"uote', "caf\u00e9"})),
    AnyJson(),
    Nullable(Int(minimum=2, maximum=4)),
    Nullable(Str(max_len=4, pattern=r"[a-z]+")),
    Nullable(Enum(frozenset({"x"}))),
]


@pytest.mark.parametrize("spec", SPECS, ids=repr)
@settings(max_examples=150)
@given(data=st.data())
def test_a_specs_flat_values_pass_it_unless_it_asks_to_check_them(
    spec: FieldSpec, data: st.DataObject
) -> None:
    flat = flat_value_of(spec)
    assert flat is not None
    source = b'"(?:' + flat.pattern + b')"' if flat.string else b"(?:" + flat.pattern + b")"
    text = data.draw(st.from_regex(re.compile(source), fullmatch=True))
    value = json.loads(text)
    assert json.dumps(value, separators=(",", ":")).encode() == text  # canonical already
    if flat.exact:
        assert spec.passes(value), (spec, text)


@pytest.mark.parametrize(
    "spec",
    [ListOf(Int()), Obj({"a": Int()}), Nullable(ListOf(Int())), Enum(frozenset({'"'}))],
    ids=repr,
)
def test_lists_objects_and_values_that_need_escapes_have_no_flat_form(spec: FieldSpec) -> None:
    assert flat_value_of(spec) is None


def test_a_spec_whose_check_changed_has_no_inherited_pattern() -> None:
    class Even(Int):
        def check(self, value: object, path: str) -> None:
            super().check(value, path)
            if isinstance(value, int) and value % 2:
                raise EntryError("schema", f"{path}: odd")

    assert flat_value_of(Int()) is not None
    assert flat_value_of(Even()) is None


def test_optional_fields_before_the_first_required_one_and_names_that_are_no_identifiers() -> None:
    schema = EventSchema(
        type="demo.event",
        roles=frozenset(),
        fields={"a-b": Str(max_len=8, pattern=r"[a-z]+"), "aa": Int(minimum=2, maximum=5)},
        optional=frozenset({"a-b", "aa"}),
    )
    pattern = re.compile(entry_pattern(schema, ORIGIN) or b"")
    for extra in ({}, {"a-b": "xy"}, {"aa": 3}, {"a-b": "xy", "aa": 3}):
        drawn = pattern.fullmatch(_demo(**extra).replace(b'"n":7,', b""))
        assert drawn is not None, extra
        assert drawn["seq"] == b"1"
        assert drawn["ts"] == b"1790000000000"
    assert pattern.fullmatch(_demo(**{"a-b": "xy"})) is None  # "n" is not this type's
