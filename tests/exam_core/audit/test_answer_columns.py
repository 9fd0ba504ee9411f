"""Answers as columns read back as the answers they encode, through a pickle and in order."""

from __future__ import annotations

import pickle

from exam_core.audit.answer_columns import (
    NO_KEY,
    NOT_PROVEN,
    answer_columns,
    key_list,
    prove_entries,
    read_answers,
)
from exam_core.audit.signatures import _PROVING_BLOCK, ProvingKeys, registered_keys
from tests.exam_core.audit.bundle_factory import ORIGIN, entries_some_unprovable


def test_columns_read_back_as_the_answers_they_encode() -> None:
    entries = entries_some_unprovable()
    keys = registered_keys(entries)
    answers = ProvingKeys(keys, ORIGIN).prove(entries)
    columns = pickle.loads(pickle.dumps(answer_columns(answers, key_list(keys))))
    assert list(read_answers(columns, key_list(keys))) == answers
    kinds = {type(a).__name__ for a in answers}
    assert kinds == {"Proof", "bytes", "NoneType"}  # key events are only verified


def test_prove_entries_is_proving_keys_as_columns() -> None:
    entries = entries_some_unprovable()
    keys = registered_keys(entries)
    columns = prove_entries(entries, keys, ORIGIN)
    assert list(read_answers(columns, key_list(keys))) == ProvingKeys(keys, ORIGIN).prove(entries)
    assert list(columns.keys[-2:]) == [NO_KEY, NO_KEY]
    assert list(columns.types[-2:]) == [NOT_PROVEN, NOT_PROVEN]
    other = prove_entries(entries, keys, "other.example/log")  # not this log: nothing proven
    assert set(other.types) == {NOT_PROVEN}


def test_proving_a_block_at_a_time_answers_as_one_entry_at_a_time() -> None:
    """``prove`` parses a block of entries, then verifies it, then proves it: across block
    edges, with entries that do not parse or verify among them, each answer is what the
    entry alone gets."""
    base = entries_some_unprovable()
    entries = [*base] * 20 + base[-2:] + base[:3]  # > two blocks, odd edges, bad entries astride
    assert len(entries) > 2 * _PROVING_BLOCK
    assert len(entries) % _PROVING_BLOCK
    prover = ProvingKeys(registered_keys(entries), ORIGIN)
    answers = prover.prove(entries)
    assert answers == [prover.prove([data])[0] for data in entries]
    assert prover.prove([]) == []
