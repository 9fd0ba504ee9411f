"""The mirror's hand-over to its signature workers: the audit's answers, in log order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from exam_core.audit.answer_columns import key_list, prove_entries, read_answers
from exam_core.audit.signatures import registered_keys
from exam_core.log.note import Ed25519Signer
from exam_core.monitoring import mirror_proofs
from exam_core.monitoring.mirror_proofs import Checked, ProofQueue, prove_mirrored
from tests.exam_core.audit.bundle_factory import ORIGIN, demo_log


def _log() -> list[bytes]:
    log = demo_log(30)
    impostor = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", bytes(range(32)))
    log.append(impostor, "demo.event", n=7)  # no registered key verifies it
    log.append_bytes(b"not an entry\n")
    return log.entries


def test_prove_mirrored_answers_as_prove_entries_with_kept_keys() -> None:
    entries = _log()
    keys = registered_keys(entries)
    first = prove_mirrored(entries, keys, ORIGIN)
    kept = mirror_proofs._prover(keys, ORIGIN)
    assert prove_mirrored(entries, dict(keys), ORIGIN) == first
    assert mirror_proofs._prover(dict(keys), ORIGIN) is kept  # the same keys: built once
    assert first == prove_entries(entries, keys, ORIGIN)
    other = prove_mirrored(entries, keys, "other.example/log")
    assert other == prove_entries(entries, keys, "other.example/log")
    fewer = {name: found for name, found in keys.items() if name != sorted(keys)[-1]}
    assert prove_mirrored(entries, fewer, ORIGIN) == prove_entries(entries, fewer, ORIGIN)


def test_prover_keeps_only_the_last_key_sets() -> None:
    entries = _log()
    keys = registered_keys(entries)
    for n in range(mirror_proofs.KEPT_PROVERS + 1):
        mirror_proofs._prover(keys, f"log{n}.example/x")
    assert len(mirror_proofs._provers) == mirror_proofs.KEPT_PROVERS
    assert (f"log{mirror_proofs.KEPT_PROVERS}.example/x", mirror_proofs._key_pairs(keys)) in (
        mirror_proofs._provers
    )


def test_queue_hands_bundles_back_in_order_with_their_answers() -> None:
    entries = _log()
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
