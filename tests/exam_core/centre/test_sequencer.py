"""The batching writer: batch boundaries, one checkpoint per batch, failures, catch-up."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine

from exam_core.centre.ingest import ingest_factory
from exam_core.centre.sequencer import Sequencer
from exam_core.centre.store import LogStore
from exam_core.db import WRITE_LOCK_OPTION
from exam_core.errors import EntryError, StoreError
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.merkle import leaf_hash, root_from_leaf_hashes
from exam_core.log.note import Ed25519Signer
from tests.conftest import ORIGIN

LOG_KEY = Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))
ADMIN = Ed25519Signer.from_seed(f"{ORIGIN}/admin", bytes(range(32, 64)))


def sign(size: int, root: bytes) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, root), [LOG_KEY])


def genesis() -> bytes:
    return make_entry(
        ADMIN,
        {
            "v": 1,
            "log": ORIGIN,
            "type": "key.registered",
            "ts": 1_000,
            "actor": ADMIN.name,
            "seq": 1,
            "name": ADMIN.name,
            "vkey": ADMIN.vkey,
            "role": "admin",
        },
    )


def demo(seq: int) -> bytes:
    event = {"v": 1, "log": ORIGIN, "type": "demo.event", "ts": 1_000, "actor": ADMIN.name}
    return make_entry(ADMIN, {**event, "seq": seq, "n": seq})


def sequencer(store: LogStore, executor: Executor | None = None, **kwargs: Any) -> Sequencer:
    return Sequencer(
        store,
        ingest_factory(ORIGIN, frozenset({ADMIN.vkey}), 300_000, executor),
        sign,
        clock_ms=lambda: 1_000,
        pipeline=executor is not None,
        **kwargs,
    )


@pytest.fixture
def store(engine: Engine) -> Iterator[LogStore]:
    s = LogStore.open(engine)
    yield s
    s.close()


def check_published(store: LogStore) -> None:
    """Every checkpoint is signed by the log key and commits to the entries below its size."""
    size = store.size()
    leaves = [leaf_hash(e) for e in store.entries(0, size)]
    assert len(leaves) == size
    for note in store.checkpoints():
        cp = verify_checkpoint(note, LOG_KEY.verifier)
        assert cp.root_hash == root_from_leaf_hashes(leaves[: cp.size])


def test_full_batches_close_at_max_batch_and_the_rest_at_close(store: LogStore) -> None:
    seq = sequencer(store, max_batch=256, max_age_ms=60_000)
    seq.start()
    futures = [seq.submit(genesis())] + [seq.submit(demo(s)) for s in range(2, 602)]
    seq.close()
    assert [f.result(0) for f in futures] == list(range(601))
    assert store.checkpoint_sizes() == [256, 512, 601]
    check_published(store)


def test_a_batch_closes_after_max_age(store: LogStore) -> None:
    with sequencer(store, max_batch=10_000, max_age_ms=20) as seq:
        assert seq.submit(genesis()).result(10) == 0
        assert seq.wait_published(0, 10) == 1
        assert seq.submit(demo(2)).result(10) == 1
        assert seq.published_size() == 2
        with pytest.raises(StoreError, match="not published"):
            seq.wait_published(5, 0.01)
    assert store.checkpoint_sizes() == [1, 2]


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_signatures_checked_in_a_pool_give_the_same_log(store: LogStore, pool: str) -> None:
    executor: Executor = (
        ThreadPoolExecutor(2)
        if pool == "threads"
        else ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    )
    bad = bytearray(demo(3))
    bad[bad.index(b'"n":3') + 4] = ord("4")  # signed text altered: the signature fails
    with executor, sequencer(store, executor, max_age_ms=5) as seq:
        # With a pool, malformed bytes are refused through their future, by the workers.
        submitted = (genesis(), demo(2), bytes(bad), b"\x00junk", demo(3), demo(4))
        futures = [seq.submit(d) for d in submitted]
        outcomes = []
        for f in futures:
            error = f.exception(30)
            outcomes.append(error.code if isinstance(error, EntryError) else f.result())
    assert outcomes == [0, 1, "bad_signature", "malformed_note", 2, 3]
    assert store.entries(0, 4) == [genesis(), demo(2), demo(3), demo(4)]
    check_published(store)


def test_entries_submitted_together_keep_their_order_and_split_at_max_batch(
    store: LogStore,
) -> None:
    seq = sequencer(store, max_batch=4, max_age_ms=60_000)
    seq.start()
    first = seq.submit_many([(genesis(), None), (demo(2), parse_entry(demo(2)))])
    # A reused seq in the middle is refused alone; the entries around it are sequenced.
    rest = seq.submit_many([(demo(s), None) for s in (3, 4, 4, 5, 6, 7, 8)])
    assert seq.submit_many([]) == []
    seq.close()
    assert [f.result(0) for f in first] == [0, 1]
    outcomes = []
    for f in rest:
        error = f.exception(0)
        outcomes.append(error.code if isinstance(error, EntryError) else f.result())
    assert outcomes == [2, 3, "bad_seq", 4, 5, 6, 7]
    # No batch holds more than max_batch entries, although 7 were handed over at once.
    assert store.checkpoint_sizes() == [2, 5, 8]
    check_published(store)


def test_a_malformed_entry_submitted_together_queues_none_of_them(store: LogStore) -> None:
    with sequencer(store) as seq:
        with pytest.raises(EntryError, match="malformed_note"):
            seq.submit_many([(genesis(), None), (b"\x00not a note", None)])
        assert seq.submit_many([(genesis(), None)])[0].result(10) == 0
    assert store.size() == 1


def test_a_failed_commit_fails_the_batch_and_is_forgotten(store: LogStore) -> None:
    calls = []

    def flaky_sign(size: int, root: bytes) -> bytes:
        calls.append(size)
        if len(calls) == 1:
            raise StoreError("log key unavailable")
        return sign(size, root)

    seq = Sequencer(
        store,
        ingest_factory(ORIGIN, None, 300_000, None),
        flaky_sign,
        max_age_ms=5,
        clock_ms=lambda: 1_000,
    )
    with seq:
        with pytest.raises(StoreError, match="log key unavailable"):
            seq.submit(genesis()).result(10)
        assert store.size() == 0
        # The registry forgot the lost batch: the same entries are accepted again, same seqs.
        assert seq.submit(genesis()).result(10) == 0
        assert seq.submit(demo(2)).result(10) == 1
    check_published(store)


def test_a_second_writer_catches_up_before_checking(store: LogStore) -> None:
    other_store = LogStore(store.engine)
    with sequencer(store, max_age_ms=1) as first:
        assert first.submit(genesis()).result(10) == 0
        assert first.submit(demo(2)).result(10) == 1
        with sequencer(other_store, max_age_ms=1) as second:
            # It replayed the log at start: the admin's next seq is 3, a replay of 2 fails.
            with pytest.raises(EntryError, match="bad_seq"):
                second.submit(demo(2)).result(10)
            assert second.submit(demo(3)).result(10) == 2
            # ...and the first writer catches up at its next batch.
            with pytest.raises(EntryError, match="bad_seq"):
                first.submit(demo(3)).result(10)
            assert first.submit(demo(4)).result(10) == 3
    check_published(store)
    assert store.checkpoint_sizes() == [1, 2, 3, 4]


def test_restart_resumes_the_registry_from_the_log(store: LogStore) -> None:
    with sequencer(store, max_age_ms=1) as seq:
        seq.submit(genesis()).result(10)
        seq.submit(demo(2)).result(10)
    with sequencer(store, max_age_ms=1) as seq:
        assert seq.published_size() == 2
        assert seq.registry_view.registry.next_seq(ADMIN.name) == 3
        with pytest.raises(EntryError, match="bad_seq"):
            seq.submit(demo(2)).result(10)
        # A second genesis is not one: the registration window closed with the first entry.
        with pytest.raises(EntryError):
            seq.submit(genesis()).result(10)
    assert store.size() == 2


def test_malformed_bytes_are_refused_at_submit(store: LogStore) -> None:
    with sequencer(store) as seq, pytest.raises(EntryError, match="malformed_note"):
        seq.submit(b"\x00not a note")
    assert store.size() == 0


def test_life_cycle_misuse_is_a_caller_bug(store: LogStore) -> None:
    seq = sequencer(store)
    with pytest.raises(RuntimeError):
        seq.submit(genesis())
    seq.start()
    with pytest.raises(RuntimeError):
        seq.start()
    seq.close()
    seq.close()  # idempotent
    with pytest.raises(RuntimeError):
        seq.submit(genesis())
    with pytest.raises(ValueError):
        sequencer(store, max_batch=0)


def test_a_backlog_fills_whole_batches_even_past_max_age(store: LogStore) -> None:
    # Hold the database's write lock so that submissions pile up behind the writer.
    blocker = store.engine.connect().execution_options(**{WRITE_LOCK_OPTION: True})
    blocker.begin()  # SQLite: BEGIN IMMEDIATE
    if store.engine.dialect.name == "postgresql":
        blocker.exec_driver_sql("LOCK TABLE log_checkpoints IN EXCLUSIVE MODE")
    try:
        seq = sequencer(store, max_batch=256, max_age_ms=0)
        seq.start()
        futures = [seq.submit(genesis())] + [seq.submit(demo(s)) for s in range(2, 601)]
    finally:
        blocker.rollback()
        blocker.close()
    assert [f.result(30) for f in futures] == list(range(600))
    seq.close()
    sizes = store.checkpoint_sizes()
    steps = [b - a for a, b in zip([0, *sizes], sizes, strict=False)]
    # The first batch may have closed before the backlog formed; every later one but the last
    # is full, although each entry waited far longer than max_age.
    assert len(steps) <= 4
    assert all(step == 256 for step in steps[1:-1])
    check_published(store)


def _rewrite_entry(store: LogStore, index: int, data: bytes) -> None:
    """What an insider with the schema owner's rights could do: bypass the append-only
    trigger and change a stored entry."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER log_entries_no_update")
            conn.exec_driver_sql("UPDATE log_entries SET data = ? WHERE idx = ?", (data, index))
        else:
            conn.exec_driver_sql("ALTER TABLE log_entries DISABLE TRIGGER log_entries_append_only")
            conn.exec_driver_sql("UPDATE log_entries SET data = %s WHERE idx = %s", (data, index))


def test_a_writer_refuses_a_log_whose_entries_do_not_make_its_checkpoint(
    store: LogStore,
) -> None:
    with sequencer(store, max_age_ms=1) as seq:
        seq.submit(genesis()).result(10)
        at_one = seq.registry_view.state()
        seq.submit(demo(2)).result(10)
    # Another entry the registry would accept just as well, but not the one the log signed.
    _rewrite_entry(store, 1, make_entry(ADMIN, {**parse_entry(demo(2)).event, "n": 7}))
    with pytest.raises(StoreError, match="do not make the tree its checkpoint 2 signed"):
        sequencer(store).start()
    # A writer that resumes from a saved state reads the entries after it: refused alike.
    with pytest.raises(StoreError, match="do not make the tree its checkpoint 2 signed"):
        sequencer(store, start_state=at_one).start()
