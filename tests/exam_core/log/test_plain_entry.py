"""``parse_plain_entry``, the one-match parse of an entry's common shape, against ``parse_entry``.

The audit's workers prove entries with it (``exam_core.audit.signatures.ProvingKeys``), so it
must never accept bytes ``parse_entry`` refuses, nor read accepted bytes differently: whatever it
returns is what ``parse_entry`` gives.  It may leave any entry to ``parse_entry`` (None).
"""

from __future__ import annotations

import random

import pytest

from exam_core.errors import EntryError
from exam_core.log.entry import PlainEntry, make_entry, parse_entry, parse_plain_entry
from exam_core.log.note import signature_line
from tests.exam_core.log.demo_event import ACTOR, demo_event
from tests.mutations import every_mutation, mutate


def _as_parse_entry(data: bytes) -> PlainEntry | None:
    """What ``parse_entry`` makes of ``data`` in ``PlainEntry`` terms; None if it refuses."""
    try:
        entry = parse_entry(data)
    except EntryError:
        return None
    sig = entry.note.signatures[0]
    return PlainEntry(dict(entry.event), sig.name, sig.key_id, sig.signature, entry.note.text)


def _agrees(data: bytes) -> bool:
    """True if the plain parse took ``data``; fails the test if it took it wrongly."""
    plain = parse_plain_entry(data)
    if plain is None:
        return False
    assert plain == _as_parse_entry(data), data
    return True


SEEDS = [
    make_entry(ACTOR, demo_event()),
    make_entry(ACTOR, demo_event(note="exam-room-A3 poll", flag=True, none=None, neg=-12, zero=0)),
    make_entry(ACTOR, demo_event(n=999_999_999_999_999, note="")),
]


@pytest.mark.parametrize("data", SEEDS)
def test_common_entries_take_the_plain_path(data: bytes) -> None:
    assert _agrees(data)


def _signed(text: bytes) -> bytes:
    """A note laid out by hand: ``sign_note`` refuses some of these texts."""
    return text + b"\n\n" + signature_line(ACTOR.name, ACTOR.key_id, ACTOR.sign(text + b"\n"))


@pytest.mark.parametrize(
    "body",
    [
        b'{"v":1,"actor":"x"}',  # keys out of order
        b'{"a":1,"a":1,"actor":"' + ACTOR.name.encode() + b'"}',  # a key twice
        b'{"actor":"' + ACTOR.name.encode() + b'","n":-0}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":01}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":1.0}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":9007199254740992}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":"\\u0041"}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":"\x7f"}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":"\xc2\x85"}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":"\xff"}',
        b'{"actor":"someone-else"}',
        b'{"actor":"' + ACTOR.name.encode() + b'", "n":1}',
        b'{"actor":"' + ACTOR.name.encode() + b'","n":[1]}',
    ],
)
def test_what_is_not_plain_canonical_is_left_to_parse_entry(body: bytes) -> None:
    assert parse_plain_entry(_signed(body)) is None


def test_other_note_layouts_are_left_to_parse_entry() -> None:
    data = make_entry(ACTOR, demo_event())
    text, sig = data.split(b"\n\n")
    assert parse_plain_entry(data + sig) is None  # two signature lines
    assert parse_plain_entry(data + b"x") is None
    assert parse_plain_entry(text + b"\n\n\n" + sig) is None
    assert parse_plain_entry(data.replace(b"\xe2\x80\x94 ", b"- ")) is None
    assert parse_plain_entry(data[:-1]) is None


def test_mutated_entries_are_taken_only_as_parse_entry_takes_them() -> None:
    rng = random.Random("plain-entry")
    cases = [m for seed in SEEDS for m in every_mutation(seed, rng)]
    cases += [mutate(rng.choice(SEEDS), rng) for _ in range(3000)]
    # small edits the mutations rarely make: a byte changed anywhere, keys swapped
    for _ in range(3000):
        seed = bytearray(rng.choice(SEEDS))
        seed[rng.randrange(len(seed))] = rng.choice(b'{}[]",:\\-0123456789 \x7f\n+=aA')
        cases.append(bytes(seed))
    taken = sum(_agrees(data) for data in cases)
    assert taken > 0  # some mutations keep an entry valid and plain (a changed digit)
