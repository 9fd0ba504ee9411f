"""``export_bundle``: a real centre's log becomes a bundle the offline audit accepts whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from exam_core.audit.check import check_bundle
from exam_core.audit.reader import read_bundle
from exam_core.centre.centre import Centre
from exam_core.centre.export import export_bundle
from exam_core.errors import StoreError
from exam_core.log.schemas.types import ALLOCATOR, DEMO
from exam_core.log.tiles import tiles_for_size

NO_WITNESS_YET = ["checkpoint_unwitnessed"]
"""The one warning about a bundle of a centre no witness cosigns yet."""


def _fill(centre: Centre, count: int) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    futures = [centre.submit(demo, "demo.event", {"n": n}) for n in range(count)]
    for future in futures:
        future.result(30)


def _commit_manifest(centre: Centre, manifest: bytes, store_blob: bool) -> int:
    allocator = centre.register_key("alloc/a1", ALLOCATOR)
    sha = centre.blobs.put(manifest) if store_blob else hashlib.sha256(manifest).hexdigest()
    fields = {
        "session": "S-2026-11-25-AM",
        "manifest_sha256": sha,
        "manifest_len": len(manifest),
        "round": 4242,
        "beacon_kind": "dev",
        "vrf_key": "11" * 32,
    }
    return centre.append(allocator, "allocation.committed", fields)


def test_an_exported_bundle_passes_the_audit(centre: Centre, tmp_path: Path) -> None:
    _fill(centre, 300)
    index = _commit_manifest(centre, b'{"session":"S-2026-11-25-AM"}', store_blob=True)
    out = tmp_path / "bundle"
    summary = export_bundle(centre, out)

    size = centre.store.size()
    assert summary.tree_size == size > index
    assert summary.checkpoints == len(centre.store.checkpoints()) >= 2
    assert (summary.blobs, summary.missing_blobs) == (1, ())
    report = check_bundle(read_bundle(out), policy=centre.policy_text().encode())
    assert [f.code for f in report.findings] == NO_WITNESS_YET
    assert (report.entries, report.tree_size) == (size, size)
    assert report.checkpoints == summary.checkpoints + 1
    for tile in tiles_for_size(size):
        assert (out / tile.path).is_file()
    assert (out / "checkpoint").read_bytes() == centre.store.latest_checkpoint()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_export_names_referenced_blobs_the_store_lacks(centre: Centre, tmp_path: Path) -> None:
    index = _commit_manifest(centre, b"never stored", store_blob=False)
    summary = export_bundle(centre, tmp_path / "bundle")
    assert summary.missing_blobs == (hashlib.sha256(b"never stored").hexdigest(),)
    report = check_bundle(read_bundle(tmp_path / "bundle"))
    assert [(f.code, f.index) for f in report.errors] == [("blob_missing", index)]


def test_export_never_writes_over_an_existing_directory(centre: Centre, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "keep").write_bytes(b"mine")
    with pytest.raises(StoreError, match="already exists"):
        export_bundle(centre, out)
    assert [p.name for p in out.iterdir()] == ["keep"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_bundle_is_cut_at_the_newest_checkpoint(centre: Centre, tmp_path: Path) -> None:
    _fill(centre, 20)
    first = export_bundle(centre, tmp_path / "first")
    more = centre.register_key("demo/d2", DEMO)
    centre.append(more, "demo.event", {"n": 1})
    second = export_bundle(centre, tmp_path / "second")
    assert second.tree_size == first.tree_size + 2
    for out in (tmp_path / "first", tmp_path / "second"):
        assert check_bundle(read_bundle(out)).ok


def test_a_corrupt_blob_in_the_store_is_left_out_and_named(centre: Centre, tmp_path: Path) -> None:
    manifest = b'{"session":"S-2026-11-25-PM"}'
    index = _commit_manifest(centre, manifest, store_blob=True)
    sha = hashlib.sha256(manifest).hexdigest()
    centre.blobs.path(sha).write_bytes(b"rewritten after the fact")
    summary = export_bundle(centre, tmp_path / "bundle")
    assert (summary.blobs, summary.missing_blobs, summary.corrupt_blobs) == (0, (), (sha,))
    report = check_bundle(read_bundle(tmp_path / "bundle"))
    assert [(f.code, f.index) for f in report.errors] == [("blob_missing", index)]


def test_export_while_the_log_grows_is_a_whole_bundle(centre: Centre, tmp_path: Path) -> None:
    _fill(centre, 300)
    writer = centre.register_key("demo/busy", DEMO)
    futures = [centre.submit(writer, "demo.event", {"n": n}) for n in range(300)]
    summary = export_bundle(centre, tmp_path / "bundle")
    for future in futures:
        future.result(30)
    report = check_bundle(read_bundle(tmp_path / "bundle"), policy=centre.policy_text().encode())
    assert [f.code for f in report.findings] == NO_WITNESS_YET
    assert report.tree_size == summary.tree_size <= centre.store.size()
