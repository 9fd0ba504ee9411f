"""tlog-tiles: path encoding, which tiles exist, tile contents, entry bundles, appends."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import CheckpointError
from exam_core.log.entry import MAX_ENTRY_BYTES
from exam_core.log.merkle import (
    hash_source_from_leaf_hashes,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TilePath,
    blob_path,
    bundle_files,
    bundles_for_append,
    checkpoint_history_path,
    count_entry_bundle,
    decode_entry_bundle,
    encode_entry_bundle,
    encode_tile_index,
    entry_bundle_for,
    entry_bundle_path,
    hash_source_from_tiles,
    parse_blob_name,
    parse_checkpoint_history_name,
    parse_tile_index,
    parse_tile_path,
    read_leaf_hashes,
    root_from_tiles,
    tile_contents,
    tile_for,
    tile_path,
    tiles_for_append,
    tiles_for_size,
)


def _leaves(n: int, start: int = 0) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(start, start + n)]


@pytest.mark.parametrize(
    ("index", "text"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
        ((2**63 - 1) // 256, "x036/x028/x797/x018/x963/967"),  # the last tile of the largest tree
    ],
)
def test_index_encoding(index: int, text: str) -> None:
    assert encode_tile_index(index) == text
    assert parse_tile_index(text) == index


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0",
        "00",
        "0000",
        "x000/001",
        "001/002",
        "x01/002",
        "x001/x002",
        "x001//002",
        "-01",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: int() reads them, the format does not
        "x001/" * 7 + "000",  # longer than any index of a 2**63-leaf tree
        "x123/" * 1500 + "123",  # past int()'s 4300-digit limit: still our error, not ValueError
    ],
)
def test_bad_index_encodings(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_tile_index(text)


def test_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(1, 3, 7) == "tile/1/003.p/7"
    assert tile_path(ENTRIES_LEVEL, 390, 160) == "tile/entries/390.p/160"
    assert parse_tile_path("tile/entries/390.p/160") == TilePath(ENTRIES_LEVEL, 390, 160)
    assert parse_tile_path("tile/63/000") == TilePath(63, 0)
    assert parse_tile_path("tile/0/001") == (0, 1, None)
    assert entry_bundle_path(3) == "tile/entries/003"
    assert tile_path(ENTRIES_LEVEL, 3, 1) == "tile/entries/003.p/1"
    tile = TilePath(2, 1000, 9)
    assert parse_tile_path(tile.path) == tile
    assert tile.full == TilePath(2, 1000)
    assert tile.is_partial
    assert not tile.full.is_partial
    with pytest.raises(ValueError):
        tile_path(0, 0, 256)
    with pytest.raises(ValueError):
        tile_path(64, 0)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0",
        "tiles/0/000",
        "tile/64/000",
        "tile/01/000",
        "tile/-1/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/0/000.p/",
        "tile/entries/000.p/1.p/2",
        "tile/0/000/",
        "/tile/0/000",
        "tile/Entries/000",
        "tile/\u0661/000",
        "tile/0/000.p/\u0661",
    ],
)
def test_bad_paths(path: str) -> None:
    with pytest.raises(CheckpointError):
        parse_tile_path(path)


def test_tiles_for_size() -> None:
    assert tiles_for_size(0) == []
    assert [t.path for t in tiles_for_size(5)] == ["tile/0/000.p/5", "tile/entries/000.p/5"]
    assert [t.path for t in tiles_for_size(256)] == [
        "tile/0/000",
        "tile/1/000.p/1",
        "tile/entries/000",
    ]
    paths = [t.path for t in tiles_for_size(70_000)]
    assert "tile/0/272" in paths
    assert "tile/1/000" in paths
    assert "tile/0/273.p/112" in paths
    assert "tile/1/001.p/17" in paths
    assert "tile/2/000.p/1" in paths
    assert "tile/entries/273.p/112" in paths
    assert len(paths) == 273 + 1 + 1 + 1 + 1 + 273 + 1
    assert tile_for(1, 272, 70_000) == TilePath(1, 1, 17)
    assert entry_bundle_for(69_999, 70_000) == TilePath(ENTRIES_LEVEL, 273, 112)
    with pytest.raises(ValueError):
        tile_for(1, 273, 70_000)


def test_tiles_round_trip_a_tree_and_serve_proofs() -> None:
    size = 70_000
    leaves = _leaves(size)
    source = hash_source_from_leaf_hashes(leaves)
    store = {t: tile_contents(source, t) for t in tiles_for_size(size) if not t.is_entries}
    assert store[TilePath(0, 0)][:32] == leaves[0]
    assert store[TilePath(1, 0)][:32] == source(8, 0)
    assert store[TilePath(2, 0, 1)] == source(16, 0)
    reads: list[TilePath] = []

    def read(tile: TilePath) -> bytes:
        reads.append(tile)
        return store[tile]

    root = root_from_leaf_hashes(leaves)
    assert root_from_tiles(read, size) == root
    assert len(reads) < 12
    tiled = hash_source_from_tiles(read, size)
    for index in (0, 255, 256, 65_535, 65_536, 69_999):
        assert inclusion_proof(tiled, index, size) == inclusion_proof(source, index, size)
    assert read_leaf_hashes(read, size) == leaves
    with pytest.raises(IndexError):
        tiled(0, size)
    with pytest.raises(CheckpointError):
        hash_source_from_tiles(lambda t: store[t][:-1], size)(0, 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=5))
def test_appends_in_batches_equal_one_build(batches: list[int]) -> None:
    store: dict[TilePath, bytes] = {}
    bundles: dict[TilePath, bytes] = {}
    size = 0
    entries: list[bytes] = []
    for count in batches:
        new_entries = [b"entry %d" % i for i in range(size, size + count)]
        new_leaves = [leaf_hash(e) for e in new_entries]
        snapshot = dict(store)
        old = hash_source_from_tiles(snapshot.__getitem__, size)
        store.update(tiles_for_append(size, new_leaves, old))
        bundles.update(bundles_for_append(size, new_entries, bundles.__getitem__))
        size += count
        entries += new_entries
    leaves = [leaf_hash(e) for e in entries]
    source = hash_source_from_leaf_hashes(leaves)
    for tile in tiles_for_size(size):
        if tile.is_entries:
            assert (
                decode_entry_bundle(bundles[tile], tile.length)
                == entries[tile.n * 256 : tile.n * 256 + tile.length]
            )
        else:
            assert store[tile] == tile_contents(source, tile)
    assert root_from_tiles(store.__getitem__, size) == root_from_leaf_hashes(leaves)


def test_bundle_encoding() -> None:
    entries = [b"a", b"bc", b"x" * MAX_ENTRY_BYTES]
    data = encode_entry_bundle(entries)
    assert data[:3] == b"\x00\x01a"
    assert decode_entry_bundle(data) == entries
    assert decode_entry_bundle(data, 3) == entries
    assert decode_entry_bundle(b"") == []
    with pytest.raises(ValueError):
        encode_entry_bundle([b"x" * (MAX_ENTRY_BYTES + 1)])
    with pytest.raises(ValueError):
        encode_entry_bundle([b""])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00", "length prefix"),
        (b"\x00\x01", "truncated inside entry"),
        (b"\x00\x05abc", "truncated inside entry"),
        (b"\x00\x01a\x00", "length prefix"),
        (b"\x00\x00", "empty entry"),
        (b"\x00\x01a" * 257, "more than 256"),
        (b"\x00\x01a", "expected 2"),
    ],
)
def test_bad_bundles(data: bytes, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        decode_entry_bundle(data, 2 if reason == "expected 2" else None)
    if reason != "expected 2":
        with pytest.raises(CheckpointError, match=reason):
            count_entry_bundle(data)


def test_bundle_layout_paths() -> None:
    assert checkpoint_history_path(0) == "checkpoints/000000000000"
    assert parse_checkpoint_history_name("000000000042") == 42
    digest = hashlib.sha256(b"x").hexdigest()
    assert blob_path(digest) == f"blobs/{digest}"
    assert parse_blob_name(digest) == digest
    for bad in ("42", "00000000004a", "0000000000042", "\u0661" * 12):
        with pytest.raises(CheckpointError):
            parse_checkpoint_history_name(bad)
    for bad in (digest.upper(), digest[:-1], digest + "0"):
        with pytest.raises(CheckpointError):
            parse_blob_name(bad)
        with pytest.raises(ValueError):
            blob_path(bad)


def test_bundle_files_are_every_tile_and_entry_bundle_of_the_log() -> None:
    entries = [b"e%d" % i for i in range(300)]
    leaves = [leaf_hash(e) for e in entries]
    files = tiles_for_append(0, leaves, hash_source_from_leaf_hashes([]))
    bundles = bundles_for_append(0, entries, lambda t: b"")
    assert bundle_files(entries) == {t.path: data for t, data in {**files, **bundles}.items()}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_hostile_bundle_bytes_raise_only_our_error(data: bytes) -> None:
    try:
        entries = decode_entry_bundle(data)
    except CheckpointError as e:
        refused = str(e)
    else:
        refused = ""
    if refused:  # counting refuses what splitting refuses, with the same reason
        with pytest.raises(CheckpointError, match=re.escape(refused)):
            count_entry_bundle(data)
        return
    assert encode_entry_bundle(entries) == data
    assert count_entry_bundle(data) == len(entries)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="tile/entris0123456789x.p", max_size=40))
def test_hostile_paths_raise_only_our_error(path: str) -> None:
    try:
        tile = parse_tile_path(path)
    except CheckpointError:
        return
    assert tile.path == path
