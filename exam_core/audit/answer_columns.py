"""Signature answers and proofs as four columns of integers: how they cross between processes.

A worker that proves entries (``exam_core.audit.signatures.ProvingKeys``) answers per entry a
``Proof``, a bare key or None.  Sent as objects, each answer costs pickling on one side and an
object on the other; as columns — which registered key, which type, the ``seq`` and the ``ts``
— an answer is four machine integers, and the process that reads them builds nothing for an
entry it admits (``KeyRegistry.admit_proven`` takes the actor, key, type and seq as they are).
The audit's shared-memory board (``exam_core.audit.pool``) and the monitoring centre's mirror,
whose worker calls return ``AnswerColumns`` (``prove_entries``), both use this encoding.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

from exam_core.audit.signatures import PROVEN_TYPES, Answer, Proof, ProvingKeys

__all__ = [
    "NOT_PROVEN",
    "NO_KEY",
    "AnswerColumns",
    "KeyList",
    "answer_columns",
    "key_list",
    "prove_entries",
    "read_answers",
]

NO_KEY = -1
"""A key column's value: no registered key verified the entry."""
NOT_PROVEN = -1
"""A type column's value: the entry was not proven (``Proof``), only its key is known."""

KeyList = list[tuple[str, bytes]]
"""(name, public key) of every registered key, sorted: a key column holds a place in it."""


class AnswerColumns(NamedTuple):
    """Answers for consecutive entries, a column each (built as ``array``s: pickled as raw
    bytes)."""

    keys: Sequence[int]
    types: Sequence[int]
    seqs: Sequence[int]
    times: Sequence[int]


def key_list(keys: Mapping[str, frozenset[bytes]]) -> KeyList:
    """The places of ``keys`` in a key column: the same list in every process given them."""
    return sorted({(name, public_key) for name, found in keys.items() for public_key in found})


def answer_columns(found: Sequence[Answer], keys: KeyList) -> AnswerColumns:
    """``found`` as columns, keys numbered by their place in ``keys`` (which holds them all)."""
    by_pair = {pair: i for i, pair in enumerate(keys)}
    by_key = {public_key: i for (_, public_key), i in reversed(by_pair.items())}
    type_index = {kind: i for i, kind in enumerate(PROVEN_TYPES)}
    key_column, types, seqs, times = array("i"), array("h"), array("q"), array("q")
    for answer in found:
        if answer is None:
            key_column.append(NO_KEY)
            types.append(NOT_PROVEN)
            seqs.append(0)
            times.append(0)
        elif isinstance(answer, bytes):
            key_column.append(by_key[answer])
            types.append(NOT_PROVEN)
            seqs.append(0)
            times.append(0)
        else:
            key_column.append(by_pair[answer.actor, answer.public_key])
            types.append(type_index[answer.type])
            seqs.append(answer.seq)
            times.append(answer.ts)
    return AnswerColumns(key_column, types, seqs, times)


def read_answers(columns: AnswerColumns, keys: KeyList) -> Iterator[Answer]:
    """The answers ``columns`` hold, keys named by their place in ``keys``."""
    new = tuple.__new__  # as Proof(...), without parsing its arguments in Python per entry
    for key, kind, seq, ts in zip(*columns, strict=True):
        if key == NO_KEY:
            yield None
        elif kind == NOT_PROVEN:
            yield keys[key][1]
        else:
            name, public_key = keys[key]
            yield new(Proof, (public_key, name, seq, ts, PROVEN_TYPES[kind]))


def prove_entries(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str
) -> AnswerColumns:
    """Verify and prove ``entries`` of the log ``origin`` against ``keys``
    (``ProvingKeys.prove``), as columns numbered by ``key_list(keys)``.

    Pure and order-free: a worker process runs it on a call's entries.
    """
    return answer_columns(ProvingKeys(keys, origin).prove(entries), key_list(keys))
