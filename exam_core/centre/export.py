"""Writing a centre's audit bundle (DESIGN §3.5) for ``examctl log export``.

An auditor gets one directory that holds everything the offline audit needs and nothing it
must fetch: the policy, every checkpoint the log published (with the cosignatures its
witnesses returned), the tiles and entry bundles of the
newest tree, and the blobs its entries reference.  The bundle is cut at the newest checkpoint
read at the start, so appends that land during the export are simply not in it, and it is
written into a temporary directory beside ``out_dir`` and renamed into place: a bundle either
exists whole or not at all.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from exam_core.centre.centre import Centre
from exam_core.centre.durable import fsync_dir, write_files
from exam_core.errors import EntryError, StoreError
from exam_core.log.blob_refs import referenced_blobs
from exam_core.log.entry import parse_entry
from exam_core.log.tiles import (
    CHECKPOINT_FILE,
    POLICY_FILE,
    TILE_WIDTH,
    blob_path,
    checkpoint_history_path,
    encode_entry_bundle,
    tiles_for_size,
)

__all__ = ["ExportSummary", "export_bundle"]


@dataclass(frozen=True)
class ExportSummary:
    """What a bundle holds; ``missing_blobs`` are referenced but absent from the blob store,
    ``corrupt_blobs`` are there but no longer match their hash (both left out of the bundle)."""

    path: Path
    origin: str
    tree_size: int
    checkpoints: int
    tiles: int
    blobs: int
    missing_blobs: tuple[str, ...]
    corrupt_blobs: tuple[str, ...] = ()


def _referenced_blobs(entries: list[bytes]) -> list[str]:
    found: list[str] = []
    for data in entries:
        try:
            entry = parse_entry(data)
        except EntryError:
            continue  # the audit reports it; the export copies the log as it is
        found.extend(sha for sha, _length in referenced_blobs(entry))
    return found


def _witnessed_history(centre: Centre) -> list[bytes]:
    """The checkpoints the bundle lists, oldest first, with their cosignatures.

    Without a quorum in the policy, every checkpoint.  With one, those that meet it, and the
    newest whatever it carries: a checkpoint published while the witnesses were unreachable
    was never witnessed, and the audit holds every listed checkpoint to the quorum.  Its
    entries are not lost: the newest checkpoint covers them, and the audit proves every
    listed checkpoint consistent with it.
    """
    store = centre.store
    if not centre.witnessing.required:
        return store.cosigned_checkpoints()
    # Read in this order, each read seeing at least what the one before saw: a cosignature
    # counted towards the quorum is in the note, and the notes are cut at the sizes read.
    lines = store.cosignatures()
    sizes = store.checkpoint_sizes()
    notes = store.cosigned_checkpoints()[: len(sizes)]
    if not notes:
        return notes
    policy = centre.policy()
    kept = [
        note
        for size, note in zip(sizes, notes, strict=True)
        if policy.quorum_met(lines.get(size, {}))
    ]
    if not kept or kept[-1] is not notes[-1]:
        kept.append(notes[-1])
    return kept


def export_bundle(centre: Centre, out_dir: Path, wait_witnessed_s: float = 0.0) -> ExportSummary:
    """Write the bundle of ``centre``'s log at its newest checkpoint to ``out_dir`` (new).

    Checkpoints carry the witnesses' cosignatures kept so far.  When the policy names a quorum,
    the export first waits up to ``wait_witnessed_s`` seconds for the newest checkpoint to meet
    it (a witness may still be catching up); if it does not, the bundle is written anyway and
    the audit reports the missing quorum.  Older checkpoints that never met it are left out
    (``_witnessed_history``).

    Raises:
        StoreError: ``out_dir`` exists, the log has no checkpoint, or the store fails.
        OSError: a file of the bundle cannot be written (nothing is left behind).
    """
    if out_dir.exists() or out_dir.is_symlink():
        raise StoreError(f"{out_dir} already exists; a bundle is written to a new directory")
    store = centre.store
    if centre.witnessing.required and wait_witnessed_s > 0:
        centre.witnessing.wait_witnessed(store.size(), wait_witnessed_s)
    notes = _witnessed_history(centre)
    if not notes:
        raise StoreError("the log has no checkpoint yet: nothing to export")
    newest = centre.checkpoint_of(notes[-1])
    files: dict[str, bytes] = {
        POLICY_FILE: centre.policy_text().encode(),
        CHECKPOINT_FILE: notes[-1],
    }
    for ordinal, note in enumerate(notes):
        files[checkpoint_history_path(ordinal)] = note
    referenced: list[str] = []
    tiles = 0
    for tile in tiles_for_size(newest.size):
        if tile.is_entries:
            first = tile.n * TILE_WIDTH
            entries = store.entries(first, first + tile.length)
            if len(entries) != tile.length:
                raise StoreError(f"the store holds {len(entries)} entries of {tile.path}")
            files[tile.path] = encode_entry_bundle(entries)
            referenced.extend(_referenced_blobs(entries))
        else:
            files[tile.path] = store.tile(tile.level, tile.n, tile.length)
            tiles += 1
    missing: list[str] = []
    corrupt: list[str] = []
    blobs = 0
    for sha in dict.fromkeys(referenced):
        if not centre.blobs.has(sha):
            missing.append(sha)
            continue
        try:
            files[blob_path(sha)] = centre.blobs.get(sha)
        except StoreError:
            corrupt.append(sha)  # left out: the audit names every entry that needs it
            continue
        blobs += 1

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_files(staging, files)
        staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(out_dir.parent)
    return ExportSummary(
        path=out_dir,
        origin=newest.origin,
        tree_size=newest.size,
        checkpoints=len(notes),
        tiles=tiles,
        blobs=blobs,
        missing_blobs=tuple(missing),
        corrupt_blobs=tuple(corrupt),
    )
