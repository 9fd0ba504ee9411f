"""Reading single tiles from a bundle directory: by the bundle reader's rules, hostile or not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from exam_core.audit.reader import _read_up_to, directory_reader, read_bundle
from exam_core.centre.durable import write_files
from exam_core.errors import BundleError
from exam_core.log.merkle import leaf_hash, root_from_leaf_hashes
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TILE_MAX_BYTES,
    TilePath,
    bundle_files,
    decode_entry_bundle,
    root_from_tiles,
)

ENTRIES = [b"e%d" % i for i in range(300)]


def test_directory_write_then_read(tmp_path: Path) -> None:
    write_files(tmp_path, bundle_files(ENTRIES))
    reader = directory_reader(tmp_path)
    assert (tmp_path / "tile/0/001.p/44").is_file()
    assert (tmp_path / "tile/entries/001.p/44").is_file()
    leaves = [leaf_hash(e) for e in ENTRIES]
    assert root_from_tiles(reader, 300) == root_from_leaf_hashes(leaves)
    assert decode_entry_bundle(reader(TilePath(ENTRIES_LEVEL, 1, 44)), 44)[0] == b"e256"
    with pytest.raises(BundleError, match="cannot read"):
        reader(TilePath(0, 5))


def test_a_symlinked_oversized_or_special_tile_is_refused(tmp_path: Path) -> None:
    write_files(tmp_path, bundle_files(ENTRIES))
    reader = directory_reader(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes((tmp_path / "tile/0/000").read_bytes())
    (tmp_path / "tile/0/000").unlink()
    (tmp_path / "tile/0/000").symlink_to(elsewhere)
    with pytest.raises(BundleError, match="tile/0/000"):
        reader(TilePath(0, 0))
    (tmp_path / "tile/0/001.p/44").write_bytes(bytes(TILE_MAX_BYTES + 1))
    with pytest.raises(BundleError, match="limit"):
        reader(TilePath(0, 1, 44))
    os.mkfifo(tmp_path / "tile/1/000.p/1.fifo")
    (tmp_path / "tile/1/000.p/1").unlink()
    (tmp_path / "tile/1/000.p/1.fifo").rename(tmp_path / "tile/1/000.p/1")
    with pytest.raises(BundleError, match="not a regular file"):
        reader(TilePath(1, 0, 1))


def test_a_bundle_file_is_read_whole_up_to_its_limit_on_each_look_up(tmp_path: Path) -> None:
    write_files(tmp_path, bundle_files(ENTRIES))
    tiles = read_bundle(tmp_path).tiles
    tile, path = TilePath(0, 0), tmp_path / "tile/0/000"
    assert tiles[tile] == path.read_bytes()
    path.write_bytes(b"\x01" * TILE_MAX_BYTES)  # as large as a tile may be: read to its end
    assert tiles[tile] == b"\x01" * TILE_MAX_BYTES
    path.write_bytes(b"\x01" * (TILE_MAX_BYTES + 1))
    with pytest.raises(BundleError, match="grew beyond"):
        tiles[tile]  # the look-up is the read


@pytest.mark.parametrize("size", [0, 1, 70_000, 200_000])
def test_a_file_is_read_as_it_is_whatever_its_size_when_opened(tmp_path: Path, size: int) -> None:
    # The size seen when the file was opened only sizes the reads: a file that grew or shrank
    # between that look and the read is read to its end, or up to the limit.
    path = tmp_path / "f"
    data = os.urandom(size)
    path.write_bytes(data)
    for seen in {0, max(size - 1, 0), size, size + 1, 2 * size + 3}:
        for limit in {1, max(size, 1), size + 1, 1 << 24}:
            fd = os.open(path, os.O_RDONLY)
            try:
                assert _read_up_to(fd, limit, seen) == data[:limit], (seen, limit)
            finally:
                os.close(fd)
