"""Every parser of untrusted log bytes raises only ``ExamCoreError``, whatever the bytes.

Valid entries, notes, vkeys, checkpoints, cosigned notes, policies, receipts, tile paths and
entry bundles are mutated (``tests.mutations``) and fed to their parsers.  A ``ValueError``,
``RecursionError``, ``UnicodeError``, ``TypeError`` or ``IndexError`` escaping one of them would
end an audit or an ingest with a traceback instead of a finding or a refusal.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exam_core.errors import CanonicalError, EntryError, ExamCoreError
from exam_core.log.canonical import parse_canonical
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.cosignature import cosignature_timestamps, verifier_from_vkey
from exam_core.log.entry import parse_entry
from exam_core.log.note import parse_note
from exam_core.log.policy import parse_policy, render_policy
from exam_core.log.schemas import validate_event
from exam_core.log.schemas.fields import Enum
from exam_core.log.tiles import (
    decode_entry_bundle,
    encode_entry_bundle,
    parse_blob_name,
    parse_checkpoint_history_name,
    parse_tile_path,
)
from exam_core.log.tlog_proof import make_receipt, verify_receipt
from tests.exam_core.audit.bundle_factory import demo_log
from tests.mutations import HUGE_INTEGERS, refusal_share

ROUNDS = 120
"""Mutations per parser: with one of each kind first, a few seconds in all."""

_LOG = demo_log(8, checkpoint_every=4)
_POLICY = _LOG.policy()
_WITNESSES = [w.verifier for w in _LOG.witness_keys]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _entry(data: bytes) -> None:
    validate_event(parse_entry(data).event)


PARSERS: dict[str, tuple[list[bytes], Callable[[bytes], object]]] = {
    "canonical": ([e[: e.index(b"\n")] for e in _LOG.entries], parse_canonical),
    "entry": (_LOG.entries, _entry),
    "note": ([*_LOG.entries, *_LOG.checkpoints], parse_note),
    "vkey": (
        [_LOG.admin.vkey.encode(), _LOG.witness_keys[0].vkey.encode()],
        lambda d: verifier_from_vkey(_text(d)),
    ),
    "checkpoint text": ([parse_note(c).text for c in _LOG.checkpoints], parse_checkpoint_text),
    "checkpoint": (_LOG.checkpoints, _POLICY.verify_checkpoint),
    "cosignature": (_LOG.checkpoints, lambda d: cosignature_timestamps(d, _WITNESSES)),
    "policy": ([render_policy(_POLICY)], parse_policy),
    "receipt": (
        [make_receipt(0, [], _LOG.checkpoints[0])],
        lambda d: verify_receipt(d, _LOG.entries[0], _POLICY),
    ),
    "tile path": (
        [b"tile/0/x001/234.p/5", b"tile/entries/000", b"tile/1/007"],
        lambda d: parse_tile_path(_text(d)),
    ),
    "entry bundle": ([encode_entry_bundle(_LOG.entries)], decode_entry_bundle),
    "checkpoint name": ([b"000000000012"], lambda d: parse_checkpoint_history_name(_text(d))),
    "blob name": ([b"ab" * 32], lambda d: parse_blob_name(_text(d))),
}


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_log_parsers_raise_only_their_errors(name: str) -> None:
    seeds, parse = PARSERS[name]
    share = refusal_share(parse, seeds, f"log parser {name}", ROUNDS, ExamCoreError)
    # Most mutations break the bytes; a parser that refused none would not be parsing.
    assert share > 0.5


@pytest.mark.parametrize("digits", HUGE_INTEGERS)
def test_integers_of_any_length_outside_the_safe_range_are_refused(digits: bytes) -> None:
    with pytest.raises(CanonicalError, match="outside"):
        parse_canonical(b'{"n":' + digits + b"}")
    with pytest.raises(CanonicalError, match="outside"):
        parse_canonical(b"[" + digits + b"]")


def test_entry_holding_a_5000_digit_integer_is_a_malformed_event() -> None:
    text = _LOG.entries[-1]
    body = text[: text.index(b"\n")]
    start = body.index(b'"n":') + 4
    end = body.index(b",", start) if b"," in body[start:] else body.index(b"}", start)
    forged = body[:start] + b"1" * 5_000 + body[end:]
    with pytest.raises(EntryError) as refused:
        parse_entry(forged + text[text.index(b"\n") :])
    assert refused.value.code == "malformed_event"


@pytest.mark.parametrize("value", [[], {}, ["a"], {"a": 1}])
def test_enum_field_refuses_unhashable_values_as_schema_errors(value: object) -> None:
    with pytest.raises(EntryError, match="must be one of"):
        Enum(frozenset({"a"})).check(value, "kind")
