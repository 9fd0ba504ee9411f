"""Step 2 of the audit, first half (docs/audit.md): the entries, taken from the entry bundles.

The log's entries reach the auditor as tlog-tiles entry bundles of 256 (``tile/entries/…``),
with older partial bundles kept for older checkpoints.  This step decodes them strictly, lines
them up into the one sequence of entries the rest of the audit works on, and holds that
sequence to the newest checkpoint's size: a missing bundle, a bundle past the tree, a partial
bundle that disagrees with the log, too few or too many entries are each a finding, and the
entries no checkpoint covers are left out of the later steps.
"""

from __future__ import annotations

from exam_core.audit.reader import Bundle
from exam_core.audit.report import FindingLog
from exam_core.errors import CheckpointError
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TILE_WIDTH,
    TilePath,
    decode_entry_bundle,
    tiles_for_size,
)

__all__ = ["assemble_entries", "hold_to_checkpoint"]


def assemble_entries(bundle: Bundle, findings: FindingLog) -> list[bytes]:
    """The entries of the full bundles in order, then of the widest partial bundle after them."""
    decoded: dict[TilePath, list[bytes]] = {}
    for tile, data in sorted(bundle.entry_bundles.items(), key=lambda kv: kv[0].sort_key):
        first = tile.n * TILE_WIDTH
        try:
            entries = decode_entry_bundle(data)
        except CheckpointError as e:
            findings.add(first, "entry_bundle_malformed", f"{tile.path}: {e}")
            continue
        if len(entries) != tile.length:
            findings.add(
                first + min(len(entries), tile.length),
                "entry_bundle_count",
                f"{tile.path}: holds {len(entries)} entries, its name says {tile.length}",
            )
        decoded[tile] = entries[: tile.length]
    log: list[bytes] = []
    n = 0
    while TilePath(ENTRIES_LEVEL, n) in decoded:
        full = decoded[TilePath(ENTRIES_LEVEL, n)]
        log.extend(full)
        if len(full) < TILE_WIDTH:
            break
        n += 1
    else:
        partials = [t for t in decoded if t.n == n]
        if partials:
            log.extend(decoded[max(partials, key=lambda t: t.length)])
    # Partial bundles kept for older checkpoints must be prefixes of the log.
    for tile, entries in decoded.items():
        start = tile.n * TILE_WIDTH
        for k, data in enumerate(entries):
            at = start + k
            if at < len(log) and log[at] != data:
                findings.add(
                    at,
                    "entry_bundle_mismatch",
                    f"{tile.path}: entry {at} differs from the same entry in the bundle "
                    "that holds the log",
                )
                break
    return log


def hold_to_checkpoint(
    entries: list[bytes], bundle: Bundle, newest: Checkpoint | None, findings: FindingLog
) -> list[bytes]:
    """``entries`` up to the newest checkpoint's size (cut in place), reporting any difference
    between the bundles and that checkpoint; unchanged when there is no checkpoint."""
    if newest is None:
        return entries
    for tile in tiles_for_size(newest.size):
        if tile.is_entries and tile not in bundle.entry_bundles:
            findings.add(tile.n * TILE_WIDTH, "missing_entry_bundle", f"{tile.path}: missing")
    for tile in sorted(bundle.entry_bundles, key=lambda t: t.sort_key):
        if tile.n * TILE_WIDTH + tile.length > newest.size:
            findings.add(
                tile.n * TILE_WIDTH,
                "entry_bundle_beyond_tree",
                f"{tile.path}: holds entries past the newest checkpoint's size {newest.size}",
            )
    if len(entries) < newest.size:
        findings.add(
            len(entries),
            "missing_entries",
            f"tile/entries: the bundle holds {len(entries)} entries; the newest "
            f"checkpoint covers {newest.size}",
        )
    elif len(entries) > newest.size:
        findings.add(
            newest.size,
            "entries_beyond_checkpoint",
            f"tile/entries: {len(entries) - newest.size} entries after the newest "
            f"checkpoint's size {newest.size}; no checkpoint covers them",
        )
        del entries[newest.size :]
    return entries
