"""The content-addressed blob store on a real filesystem."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import exam_core.audit.reader
from exam_core.centre.blobs import BlobStore
from exam_core.errors import BlobError, StoreError


def test_put_and_get_by_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    data = b"telemetry chunk \x00\xff" * 100
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.path(digest) == tmp_path / "blobs" / digest[:2] / digest[2:]
    assert store.has(digest)
    assert store.get(digest) == data
    assert store.put(data) == digest  # idempotent
    empty = store.put(b"")
    assert store.get(empty) == b""
    assert store.digests() == sorted([digest, empty])


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"photo")
    assert [p.name for p in store.path(digest).parent.iterdir()] == [digest[2:]]


def test_corrupted_blob_is_refused(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"original evidence")
    store.path(digest).write_bytes(b"altered evidence")
    with pytest.raises(StoreError, match="corrupt"):
        store.get(digest)


def test_missing_blob_is_an_error(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = hashlib.sha256(b"never stored").hexdigest()
    assert not store.has(digest)
    with pytest.raises(StoreError, match="no blob"):
        store.get(digest)
    assert store.digests() == []


@pytest.mark.parametrize(
    "name",
    ["", "ab", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, "0" * 32 + "/" + "0" * 31],
)
def test_names_that_are_not_hashes_are_refused(tmp_path: Path, name: str) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(StoreError):
        store.get(name)
    with pytest.raises(StoreError):
        store.has(name)


def test_digests_ignore_stray_files(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"x")
    (store.path(digest).parent / ".tmp-abc").write_bytes(b"partial")
    (tmp_path / "README").write_text("not a blob")
    assert store.digests() == [digest]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_blob_replaced_by_a_fifo_or_device_is_refused_not_waited_on(
    tmp_path: Path, kind: str
) -> None:
    store = BlobStore(tmp_path / "blobs")
    digest = store.put(b"evidence")
    path = store.path(digest)
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    with pytest.raises(StoreError, match="regular file"):
        store.get(digest)


def test_open_reads_a_blob_in_pieces_and_refuses_what_is_not_a_regular_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exam_core.audit.reader, "PIECE_BYTES", 1000)
    store = BlobStore(tmp_path / "blobs")
    data = bytes(range(256)) * 10
    digest = store.put(data)
    found = store.open(digest)
    assert found is not None
    assert found.size == len(data)
    pieces = list(found.pieces())
    assert [len(p) for p in pieces] == [1000, 1000, 560]
    assert b"".join(pieces) == data
    assert store.open(hashlib.sha256(b"absent").hexdigest()) is None
    # Not verified here: a blob changed on disk is read as it is, for its reader to hash.
    store.path(digest).write_bytes(b"changed")
    changed = store.open(digest)
    assert changed is not None
    assert b"".join(changed.pieces()) == b"changed"
    store.path(digest).unlink()
    store.path(digest).symlink_to(tmp_path)
    link = store.open(digest)
    assert link is not None
    with pytest.raises(BlobError, match="symbolic link"):  # no symlink is followed
        list(link.pieces())
