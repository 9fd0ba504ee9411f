"""The log store on a real database: batches, stored tree hashes, proofs, tiles, append-only."""

from __future__ import annotations

import base64
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from exam_core.centre.store import LogStore
from exam_core.db import make_engine
from exam_core.errors import EntryError, StoreError
from exam_core.log.entry import make_entry
from exam_core.log.merkle import (
    MerkleFrontier,
    hash_source_from_leaf_hashes,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from exam_core.log.note import Ed25519Signer

ORIGIN = "exam.example/c/test"


def fake_checkpoint(size: int, root: bytes) -> bytes:
    """Unsigned checkpoint text: the store treats the signer as opaque."""
    return f"{ORIGIN}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def entries_for(start: int, count: int) -> list[bytes]:
    return [f"entry {i}\n".encode() for i in range(start, start + count)]


def seqs_of(batch: list[bytes]) -> list[tuple[str, int]]:
    """An actor and seq for each of ``entries_for``'s entries (which do not parse)."""
    return [("test/actor", int(data.split()[1])) for data in batch]


def append(store: LogStore, batch: list[bytes]) -> int:
    with store.write() as writer:
        result = writer.append(batch, fake_checkpoint, now_ms=1, actor_seqs=seqs_of(batch))
    return result.first_index


def append_batches(store: LogStore, batches: list[int]) -> list[bytes]:
    """Append consecutive entries in batches of these sizes; the leaf hashes of them all."""
    total = 0
    for n in batches:
        append(store, entries_for(total, n))
        total += n
    return [leaf_hash(e) for e in entries_for(0, total)]


@pytest.fixture
def store(engine: Engine) -> LogStore:
    return LogStore.open(engine)


def test_batches_get_consecutive_indices_and_one_checkpoint_each(store: LogStore) -> None:
    assert store.size() == 0
    assert store.latest_checkpoint() is None
    sizes = [1, 2, 5, 256, 3, 300]
    start = 0
    for n in sizes:
        assert append(store, entries_for(start, n)) == start
        start += n
    assert store.size() == start
    assert store.entries(0, start) == entries_for(0, start)
    assert store.entries(10, 12) == entries_for(10, 2)
    assert store.entry(start - 1) == f"entry {start - 1}\n".encode()
    with pytest.raises(StoreError):
        store.entry(start)

    expected_sizes = []
    total = 0
    for n in sizes:
        total += n
        expected_sizes.append(total)
    assert store.checkpoint_sizes() == expected_sizes
    leaves = [leaf_hash(e) for e in entries_for(0, start)]
    checkpoints = store.checkpoints()
    for size, cp in zip(expected_sizes, checkpoints, strict=True):
        assert cp == fake_checkpoint(size, root_from_leaf_hashes(leaves[:size]))
        assert store.checkpoint(size) == cp
    assert store.latest_checkpoint() == checkpoints[-1]
    assert store.checkpoint(4) is None


def test_proofs_from_stored_hashes_match_an_in_memory_tree(store: LogStore) -> None:
    batches = [7, 1, 130, 20, 9]
    leaves = append_batches(store, batches)
    total = len(leaves)
    reference = hash_source_from_leaf_hashes(leaves)
    for size in (1, 8, 138, total):
        root = root_from_leaf_hashes(leaves[:size])
        assert store.frontier(size).root() == root
        for index in {0, size // 2, size - 1}:
            proof = store.inclusion_proof(index, size)
            assert proof == inclusion_proof(reference, index, size)
            verify_inclusion(leaves[index], index, size, proof, root)
    for size1, size2 in ((1, total), (7, 8), (8, 158), (137, total), (total, total)):
        proof = store.consistency_proof(size1, size2)
        verify_consistency(
            size1,
            size2,
            proof,
            root_from_leaf_hashes(leaves[:size1]),
            root_from_leaf_hashes(leaves[:size2]),
        )
    with pytest.raises(StoreError):
        store.inclusion_proof(total, total)
    with pytest.raises(StoreError):
        store.inclusion_proof(0, total + 1)
    with pytest.raises(StoreError):
        store.consistency_proof(0, total)


def test_tiles_hold_the_level_hashes(store: LogStore) -> None:
    total = 256 * 2 + 10
    append(store, entries_for(0, total))
    leaves = [leaf_hash(e) for e in entries_for(0, total)]
    assert store.tile(0, 0) == b"".join(leaves[:256])
    assert store.tile(0, 2, 10) == b"".join(leaves[512:522])
    level1 = [root_from_leaf_hashes(leaves[0:256]), root_from_leaf_hashes(leaves[256:512])]
    assert store.tile(1, 0, 2) == b"".join(level1)
    with pytest.raises(StoreError):
        store.tile(0, 2)  # only 10 leaves of tile 2 exist
    with pytest.raises(StoreError):
        store.tile(64, 0)
    with pytest.raises(StoreError):
        store.tile(0, 0, 0)


def test_writer_sees_appends_of_others_and_appends_after_them(store: LogStore) -> None:
    append(store, entries_for(0, 3))
    other = LogStore(store.engine)
    append(other, entries_for(3, 2))
    with store.write() as writer:
        assert writer.size == 5
        assert writer.entries(3, 5) == entries_for(3, 2)
        result = writer.append(
            entries_for(5, 1), fake_checkpoint, now_ms=2, actor_seqs=seqs_of(entries_for(5, 1))
        )
    assert result.first_index == 5
    assert result.size == 6
    leaves = [leaf_hash(e) for e in entries_for(0, 6)]
    assert result.checkpoint == fake_checkpoint(6, root_from_leaf_hashes(leaves))


def test_a_failed_batch_leaves_nothing(store: LogStore) -> None:
    append(store, entries_for(0, 2))

    def failing_signer(size: int, root: bytes) -> bytes:
        raise StoreError("the log key is unavailable")

    with pytest.raises(StoreError), store.write() as writer:
        writer.append(
            entries_for(2, 5), failing_signer, now_ms=1, actor_seqs=seqs_of(entries_for(2, 5))
        )

    def give_up_before_commit() -> None:
        with store.write() as writer:
            writer.append(
                entries_for(2, 1), fake_checkpoint, now_ms=1, actor_seqs=seqs_of(entries_for(2, 1))
            )
            raise RuntimeError("caller gives up before the commit")

    with pytest.raises(RuntimeError):
        give_up_before_commit()
    assert store.size() == 2
    assert store.entries(0, 10) == entries_for(0, 2)
    assert store.node_hashes([(0, 2), (1, 1)]) == {}


def test_writer_misuse_is_a_caller_bug(store: LogStore) -> None:
    with pytest.raises(RuntimeError), store.write() as writer:
        writer.append([], fake_checkpoint, now_ms=1)

    def append_twice() -> None:
        with store.write() as writer:
            writer.append(
                entries_for(0, 1), fake_checkpoint, now_ms=1, actor_seqs=seqs_of(entries_for(0, 1))
            )
            writer.append(
                entries_for(1, 1), fake_checkpoint, now_ms=1, actor_seqs=seqs_of(entries_for(1, 1))
            )

    with pytest.raises(RuntimeError):
        append_twice()
    assert store.size() == 0


@pytest.mark.parametrize("table", ["log_entries", "log_nodes", "log_checkpoints", "log_actor_seqs"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_database_refuses_update_and_delete(store: LogStore, table: str, statement: str) -> None:
    append(store, entries_for(0, 3))
    column = {
        "log_entries": "data",
        "log_nodes": "hash",
        "log_checkpoints": "data",
        "log_actor_seqs": "idx",
    }[table]
    with pytest.raises(SQLAlchemyError, match="append-only"), store.engine.begin() as conn:
        conn.execute(text(statement.format(t=table, c=column)))
    assert store.entries(0, 10) == entries_for(0, 3)
    assert store.size() == 3
    assert store.frontier(3).root() == root_from_leaf_hashes(
        [leaf_hash(e) for e in entries_for(0, 3)]
    )


def test_database_refuses_a_second_row_for_an_index(store: LogStore) -> None:
    append(store, entries_for(0, 1))
    with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
        conn.execute(text("INSERT INTO log_entries (idx, data) VALUES (0, :d)"), {"d": b"forged"})
    assert store.entries(0, 1) == entries_for(0, 1)


def test_frontier_of_an_empty_log_is_empty(store: LogStore) -> None:
    assert store.frontier(0).root() == MerkleFrontier().root()
    with pytest.raises(StoreError):
        store.frontier(1)


def test_bad_ranges_are_refused(store: LogStore) -> None:
    with pytest.raises(StoreError):
        store.entries(-1, 2)
    with pytest.raises(StoreError):
        store.entries(3, 2)
    with pytest.raises(StoreError):
        store.hash_source(0)(0, 0)


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=70), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_batching_gives_the_reference_tree(batches: list[int], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = LogStore.open(make_engine(f"sqlite:///{tmp}/log.db"))
        try:
            leaves = append_batches(store, batches)
            reference = hash_source_from_leaf_hashes(leaves)
            sizes = store.checkpoint_sizes()
            for old, new in zip([0, *sizes], sizes, strict=False):
                root = root_from_leaf_hashes(leaves[:new])
                assert store.frontier(new).root() == root
                index = data.draw(st.integers(min_value=0, max_value=new - 1))
                proof = store.inclusion_proof(index, new)
                assert proof == inclusion_proof(reference, index, new)
                verify_inclusion(leaves[index], index, new, proof, root)
                if old:
                    verify_consistency(
                        old,
                        new,
                        store.consistency_proof(old, new),
                        root_from_leaf_hashes(leaves[:old]),
                        root,
                    )
        finally:
            store.close()


def test_a_writer_given_the_frontier_makes_the_same_tree(store: LogStore) -> None:
    """The sequencer hands its own frontier over instead of the stored one: same rows."""
    append(store, entries_for(0, 13))
    frontier = store.frontier(13)
    with store.write() as writer:
        with_frontier = writer.append(
            entries_for(13, 6), fake_checkpoint, 2, frontier, actor_seqs=seqs_of(entries_for(13, 6))
        )
    leaves = [leaf_hash(e) for e in entries_for(0, 19)]
    assert with_frontier.checkpoint == fake_checkpoint(19, root_from_leaf_hashes(leaves))
    assert with_frontier.frontier.root() == root_from_leaf_hashes(leaves)
    assert store.frontier(19).subtree_hashes == with_frontier.frontier.subtree_hashes
    stored = store.node_hashes([(level, 0) for level in range(5)])
    assert stored[(4, 0)] == root_from_leaf_hashes(leaves[:16])
    # A frontier of another size is a caller bug, and nothing is written.
    with pytest.raises(RuntimeError, match="frontier of size 13"), store.write() as writer:
        writer.append(
            entries_for(19, 1), fake_checkpoint, 3, frontier, actor_seqs=seqs_of(entries_for(19, 1))
        )
    assert store.size() == 19


def test_node_lookups_span_many_levels(store: LogStore) -> None:
    """One query for nodes of many levels and indices, some absent (one term per level)."""
    leaves = append_batches(store, [300, 211])
    keys = [(level, idx) for level in range(10) for idx in (0, 1, 3, 700)]
    found = store.node_hashes(keys)
    source = hash_source_from_leaf_hashes(leaves)
    expected = {(lv, ix) for lv, ix in keys if (ix + 1) << lv <= len(leaves)}
    assert set(found) == expected
    assert all(found[key] == source(*key) for key in expected)


def signed_entries(signer: Ed25519Signer, seqs: range) -> list[bytes]:
    return [
        make_entry(
            signer,
            {"v": 1, "log": ORIGIN, "type": "demo.event", "ts": 1, "actor": signer.name, "seq": n},
        )
        for n in seqs
    ]


def test_a_logged_entry_is_found_by_its_actor_and_seq(store: LogStore) -> None:
    a, b = Ed25519Signer.generate("test/a"), Ed25519Signer.generate("test/b")
    first = signed_entries(a, range(1, 4)) + signed_entries(b, range(1, 3))
    append(store, entries_for(0, 2))  # not entries: kept, never found
    with store.write() as writer:
        writer.append(first, fake_checkpoint, now_ms=1)  # parsed here for actor and seq
    later = signed_entries(a, range(4, 6))
    with store.write() as writer:
        writer.append(later, fake_checkpoint, 2, actor_seqs=[(a.name, 4), (a.name, 5)])
    for index, data in enumerate(entries_for(0, 2) + first + later):
        assert store.find_entry(data) == (None if index < 2 else index)
    # Same actor and seq, other bytes (another ts): not the logged entry.
    other = make_entry(
        a, {"v": 1, "log": ORIGIN, "type": "demo.event", "ts": 2, "actor": a.name, "seq": 2}
    )
    assert store.find_entry(other) is None
    assert store.find_entry(signed_entries(a, range(6, 7))[0]) is None
    assert store.find_entry(b"junk") is None


def test_entries_that_share_an_actor_key_and_seq_are_told_apart_by_their_bytes(
    store: LogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if the 8-byte hashes of two names collided: both rows are kept, both entries found.
    monkeypatch.setattr("exam_core.centre.store.actor_hash", lambda _: bytes(8))
    a, b = Ed25519Signer.generate("test/a"), Ed25519Signer.generate("test/b")
    entries = signed_entries(a, range(1, 2)) + signed_entries(b, range(1, 2))
    append(store, entries_for(0, 1))
    with store.write() as writer:
        writer.append(entries, fake_checkpoint, 1)
    assert [store.find_entry(e) for e in entries] == [1, 2]


def test_an_append_without_one_actor_and_seq_an_entry_is_a_caller_bug(store: LogStore) -> None:
    with (
        pytest.raises(RuntimeError, match="1 actors and seqs for 2 entries"),
        store.write() as writer,
    ):
        writer.append(entries_for(0, 2), fake_checkpoint, 1, actor_seqs=[("x", 1)])
    with pytest.raises(EntryError), store.write() as writer:
        writer.append(entries_for(0, 1), fake_checkpoint, 1)  # not entries, and no seqs
    assert store.size() == 0
