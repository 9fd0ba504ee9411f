"""The mirror's hand-over to its signature workers: the audit's answers, in log order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from exam_core.audit.answer_columns import NO_KEY, NOT_PROVEN, key_list, prove_entries, read_answers
from exam_core.audit.signatures import registered_keys
from exam_core.log.note import parse_note
from exam_core.monitoring.mirror_proofs import Checked, ProofQueue, encode_keys, prove_call
from tests.exam_core.audit.bundle_factory import ORIGIN, entries_some_unprovable


def test_queue_hands_bundles_back_in_order_with_their_answers() -> None:
    entries = entries_some_unprovable()
    bundles = [Checked(i, entries[i : i + 8]) for i in range(0, len(entries), 8)]
    for workers in (None, ThreadPoolExecutor(1)):
        queue = ProofQueue(ORIGIN, {}, workers)
        queue.add(bundles[0])
        queue.add(bundles[1])
        assert (queue.unsent, queue.sent) == (2, 0)
        queue.send()
        for b in bundles[2:]:
            queue.add(b)
        queue.send(each=True)
        assert (queue.unsent, queue.sent) == (0, len(bundles))
        every = registered_keys(entries)
        for b in bundles:
            got = queue.next()
            assert got is b
            assert got.verified is not None
            columns = got.verified.result()
            mine = [
                list(c[got.offset : got.offset + len(got.entries)]) for c in columns
            ]  # this bundle's rows of its call
            want = prove_entries(got.entries, every, ORIGIN)
            assert list(read_answers(type(columns)(*mine), got.keys)) == list(
                read_answers(want, key_list(every))
            )


def test_a_bundle_without_registrations_adds_no_key_and_one_with_them_adds_theirs() -> None:
    entries = entries_some_unprovable()
    queue = ProofQueue(ORIGIN, {}, None)
    plain = [e for e in entries if b'"type":"key.registered"' not in e]
    queue.add(Checked(0, plain))  # no registration: the one search of the bundle says so
    queue.send()
    assert queue.next().keys == []
    queue.add(Checked(len(plain), entries))
    queue.send()
    assert queue.next().keys == key_list(registered_keys(entries))


def test_a_call_answers_as_prove_entries_with_the_keys_it_is_sent_each_time() -> None:
    """The verifiers a process keeps from one call to the next never answer for other keys:
    a key added, then taken away again, changes the answers at once, for this log only."""
    entries = entries_some_unprovable()
    every = registered_keys(entries)
    signer = parse_note(entries[5]).signatures[0].name
    fewer = {name: keys for name, keys in every.items() if name != signer}
    for keys in (fewer, every, every, fewer, {}, every):
        encoded = encode_keys(key_list(keys))
        got = prove_call(entries, encoded, ORIGIN)
        want = prove_entries(entries, keys, ORIGIN)
        assert list(read_answers(got, key_list(keys))) == list(read_answers(want, key_list(keys)))
        assert (got.keys[5] == NO_KEY) == (keys is not every)
        other = prove_call(entries, encoded, "other.example/log")
        assert set(other.types) == {NOT_PROVEN}


def test_keys_of_any_length_cross_to_a_call() -> None:
    """A log may register a key of another signature type, of any length, under any name: the
    keys still cross to the workers (the one byte string), and the answers stay the audit's."""
    entries = entries_some_unprovable()
    every = registered_keys(entries)
    odd = {**every, "x" * 70_000: frozenset({b"\x07" * 300}), "é/ключ": frozenset({b""})}
    got = prove_call(entries, encode_keys(key_list(odd)), ORIGIN)
    want = prove_entries(entries, odd, ORIGIN)
    assert list(read_answers(got, key_list(odd))) == list(read_answers(want, key_list(odd)))
