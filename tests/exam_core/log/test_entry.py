"""Entries: make_entry / parse_entry round trip and every refusal code of entry.py."""

from __future__ import annotations

import pytest

from exam_core.errors import EntryError
from exam_core.log.canonical import canonical_json
from exam_core.log.entry import MAX_ENTRY_BYTES, make_entry, parse_entry, verify_entry_signature
from exam_core.log.note import Ed25519Signer, sign_note
from tests.exam_core.log.demo_event import ACTOR, ORIGIN, demo_event

OTHER = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d2", bytes(range(1, 33)))


def test_round_trip() -> None:
    data = make_entry(ACTOR, demo_event(note="科目三"))
    assert data.startswith(canonical_json(demo_event(note="科目三")) + b"\n\n")
    entry = parse_entry(data)
    assert entry.data == data
    assert entry.event == demo_event(note="科目三")
    assert (entry.type, entry.actor, entry.seq, entry.ts) == (
        "demo.event",
        ACTOR.name,
        1,
        1_790_000_000_000,
    )
    verify_entry_signature(entry, ACTOR.verifier)


def test_make_entry_is_deterministic_and_canonical() -> None:
    reordered = dict(reversed(list(demo_event().items())))
    assert make_entry(ACTOR, reordered) == make_entry(ACTOR, demo_event())


def test_make_entry_refusals() -> None:
    with pytest.raises(RuntimeError):
        make_entry(OTHER, demo_event())
    with pytest.raises(EntryError) as too_large:
        make_entry(ACTOR, demo_event(note="x" * MAX_ENTRY_BYTES))
    assert too_large.value.code == "too_large"


def _refusal(data: bytes) -> str:
    with pytest.raises(EntryError) as caught:
        parse_entry(data)
    return caught.value.code


def _signed(text: bytes, *signers: Ed25519Signer) -> bytes:
    return sign_note(text, list(signers or [ACTOR]))


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"x" * (MAX_ENTRY_BYTES + 1), "too_large"),
        (b"", "malformed_note"),
        (canonical_json(demo_event()) + b"\n", "malformed_note"),
        (b"\xff" + make_entry(ACTOR, demo_event()), "malformed_note"),
        (make_entry(ACTOR, demo_event())[:-1], "malformed_note"),
        (make_entry(ACTOR, demo_event())[:-10] + b"\n", "malformed_note"),
        (_signed(b'{"a":1}\n{"b":2}\n'), "malformed_event"),
        (_signed(b'{"a": 1}\n'), "malformed_event"),
        (_signed(b'{"a":1.5}\n'), "malformed_event"),
        (_signed(b'{"a":1,"a":1}\n'), "malformed_event"),
        (_signed(b"not json\n"), "malformed_event"),
        (_signed(b"[1,2]\n"), "malformed_event"),
        (_signed(b"\n"), "malformed_event"),
        (
            _signed(
                canonical_json({k: v for k, v in demo_event().items() if k != "actor"}) + b"\n"
            ),
            "schema",
        ),
        (_signed(canonical_json(demo_event(actor=7)) + b"\n"), "schema"),
        (_signed(canonical_json(demo_event()) + b"\n", OTHER), "bad_signature"),
        (_signed(canonical_json(demo_event()) + b"\n", ACTOR, OTHER), "bad_signature"),
        (_signed(canonical_json(demo_event()) + b"\n", ACTOR, ACTOR), "bad_signature"),
    ],
)
def test_parse_entry_refusals(data: bytes, code: str) -> None:
    assert _refusal(data) == code


def test_signature_check_against_the_registered_key() -> None:
    entry = parse_entry(make_entry(ACTOR, demo_event()))
    impostor = Ed25519Signer.from_seed(ACTOR.name, bytes(32))
    with pytest.raises(EntryError) as wrong_key:
        verify_entry_signature(entry, impostor.verifier)
    assert wrong_key.value.code == "bad_signature"
    forged = make_entry(impostor, demo_event())
    with pytest.raises(EntryError) as forged_sig:
        verify_entry_signature(parse_entry(forged), ACTOR.verifier)
    assert forged_sig.value.code == "bad_signature"
    tampered = make_entry(ACTOR, demo_event()).replace(b'"n":7', b'"n":8')
    with pytest.raises(EntryError) as tampered_sig:
        verify_entry_signature(parse_entry(tampered), ACTOR.verifier)
    assert tampered_sig.value.code == "bad_signature"
    with pytest.raises(EntryError) as other_actor:
        verify_entry_signature(entry, OTHER.verifier)
    assert other_actor.value.code == "bad_signature"
