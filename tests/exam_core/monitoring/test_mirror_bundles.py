"""The mirror's entries kept as the centre's entry bundles: written across partial bundles, read
back by index, and moved over from one row an entry by migration 0010."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from exam_core.db.migrate import downgrade, upgrade
from exam_core.errors import StoreError
from exam_core.log.tiles import decode_entry_bundle
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.mirror_store import MirrorStore
from tests.exam_core.monitoring.signed_tree import SignedTree

SIZE = 700


def _entries(n: int) -> list[bytes]:
    return [b"entry %d " % i + b"x" * (i % 37) for i in range(n)]


def _held(monitor: Monitor, tree: SignedTree) -> tuple[MirrorStore, str]:
    store = monitor.mirror.store
    store.schedule_new_logs(0)
    assert store.advance_tree(
        tree.origin, 0, checkpoint=b"-", size=SIZE, root_hash=b"\0" * 32, tiles={}
    )
    return store, tree.origin


def test_entries_written_in_uneven_chunks_read_back_by_index(
    monitor: Monitor, tree: SignedTree
) -> None:
    store, origin = _held(monitor, tree)
    entries = _entries(SIZE)
    done = 0
    for end in (1, 255, 256, 300, 512, 513, 700):  # inside, at and across bundle ends
        assert store.advance_entries(
            origin, done, entries=entries[done:end], key_registry=b"", findings=[], now_ms=0
        )
        done = end
        assert store.entries(origin, 0, done) == entries[:done]
    assert store.entries(origin, 250, 260) == entries[250:260]
    assert store.entries(origin, 699, 800) == entries[699:]
    assert store.entries(origin, 700, 800) == []
    assert store.entries(origin, 5, 5) == []
    with monitor.mirror.store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT n, data FROM mirror_bundles WHERE origin = :o ORDER BY n"), {"o": origin}
        ).all()
    assert [int(n) for n, _ in rows] == [0, 1, 2]
    assert [len(decode_entry_bundle(bytes(d))) for _, d in rows] == [256, 256, 188]


def test_a_partial_bundle_that_is_not_what_the_head_says_stops_the_write(
    monitor: Monitor, tree: SignedTree
) -> None:
    store, origin = _held(monitor, tree)
    entries = _entries(SIZE)
    assert store.advance_entries(
        origin, 0, entries=entries[:10], key_registry=b"", findings=[], now_ms=0
    )
    with store.engine.begin() as conn:  # the head claims 10, the row holds 9
        conn.execute(
            text("UPDATE mirror_bundles SET data = :d WHERE origin = :o"),
            {"d": b"".join(len(e).to_bytes(2, "big") + e for e in entries[:9]), "o": origin},
        )
    with pytest.raises(StoreError, match="bundle 0"):
        store.advance_entries(
            origin, 10, entries=entries[10:20], key_registry=b"", findings=[], now_ms=0
        )
    head = store.head(origin)
    assert head is not None
    assert head.entries_size == 10  # nothing of the refused write stays


def test_migration_moves_entries_into_bundles_and_back(engine: Engine) -> None:
    upgrade(engine, "0009")
    entries = _entries(SIZE)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO monitored_logs (origin, vkey, url, added_ms) "
                "VALUES ('a.example/log', 'k', NULL, 0), ('b.example/log', 'k2', NULL, 0)"
            )
        )
        for origin, held in (("a.example/log", entries), ("b.example/log", entries[:3])):
            conn.execute(
                text("INSERT INTO mirror_entries (origin, idx, data) VALUES (:o, :i, :d)"),
                [{"o": origin, "i": i, "d": d} for i, d in enumerate(held)],
            )
    upgrade(engine)
    store = MirrorStore(engine)
    assert store.entries("a.example/log", 0, SIZE) == entries
    assert store.entries("b.example/log", 0, SIZE) == entries[:3]
    downgrade(engine, "0009")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT data FROM mirror_entries WHERE origin = 'a.example/log' ORDER BY idx")
        ).all()
    assert [bytes(r[0]) for r in rows] == entries
    downgrade(engine, "base")
