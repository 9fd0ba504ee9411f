"""Step 2 of the audit, first half (docs/audit.md): the entries, taken from the entry bundles.

The log's entries reach the auditor as tlog-tiles entry bundles of 256 (``tile/entries/…``),
with older partial bundles kept for older checkpoints.  This step decodes them strictly, lines
them up into the one sequence of entries the rest of the audit works on, and holds that
sequence to the newest checkpoint's size: a missing bundle, a bundle past the tree, a partial
bundle that disagrees with the log, too few or too many entries are each a finding, and the
entries no checkpoint covers are left out of the later steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from itertools import groupby

from exam_core.audit.log_entries import LogBundle, LogEntries
from exam_core.audit.reader import Bundle
from exam_core.audit.report import MAX_FINDINGS_PER_CODE, FindingLog
from exam_core.audit.signatures import KEY_REGISTERED_TEXT
from exam_core.errors import BundleError, CheckpointError
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TILE_WIDTH,
    TilePath,
    count_entry_bundle,
    decode_entry_bundle,
    entry_bundle_for,
)

__all__ = ["assemble_entries", "hold_to_checkpoint", "report_missing_bundles"]


def assemble_entries(
    bundle: Bundle,
    findings: FindingLog,
    lined_up: Callable[[LogBundle], None] | None = None,
) -> LogEntries:
    """The entries of the full bundles in order, then of the widest partial bundle after them.

    ``lined_up`` is handed each of the log's bundles as soon as it is known to be one, so that
    work on its entries can start before the rest are read (``LinedUp.line_up``).

    Each bundle file is read once here, a position at a time (every file of one position is
    held together, to hold the partial ones to the log's), and its entries are counted; they
    are split out only where a position holds more than one file, and are read again from
    the files when a later step reaches them.
    """
    shape: list[Finding] = []  # malformed or miscounted bundles, in file order
    mismatches: list[Finding] = []  # partial bundles that are not the log's prefix
    log: list[LogBundle] = []
    log_open = True
    files = bundle.entry_bundles
    tiles = sorted(files, key=lambda t: t.sort_key)
    for n, group in groupby(tiles, key=lambda t: t.n):
        first = n * TILE_WIDTH
        at_position = list(group)
        # the entries themselves are needed only to hold bundles of one position to each other
        compare = len(at_position) > 1
        decoded: dict[TilePath, tuple[list[bytes], int, bytes]] = {}
        for tile in at_position:
            try:
                data = files[tile]
                if compare:
                    entries = decode_entry_bundle(data)
                    count = len(entries)
                else:
                    entries, count = [], count_entry_bundle(data)
            except BundleError as e:
                shape.append(Finding(first, "entry_bundle_changed", str(e)))
                continue
            except CheckpointError as e:
                shape.append(Finding(first, "entry_bundle_malformed", f"{tile.path}: {e}"))
                continue
            if count != tile.length:
                shape.append(
                    Finding(
                        first + min(count, tile.length),
                        "entry_bundle_count",
                        f"{tile.path}: holds {count} entries, its name says {tile.length}",
                    )
                )
            decoded[tile] = (entries[: tile.length], min(count, tile.length), data)
        held: list[bytes] | None = None  # the log's entries at this position
        if log_open and n == len(log):
            full = decoded.get(TilePath(ENTRIES_LEVEL, n))
            partials = [t for t in decoded if t.is_partial]
            chosen = (
                TilePath(ENTRIES_LEVEL, n)
                if full is not None
                else max(partials, key=lambda t: t.length)
                if partials
                else None
            )
            if chosen is not None:
                held, count, data = decoded[chosen]
                log.append(
                    LogBundle(
                        chosen,
                        count,
                        hashlib.sha256(data).digest(),
                        KEY_REGISTERED_TEXT in data,
                    )
                )
                if lined_up is not None:
                    lined_up(log[-1])
            log_open = full is not None and full[1] == TILE_WIDTH
        else:
            log_open = False
        # Partial bundles kept for older checkpoints must be prefixes of the log.
        for tile, (entries, _, _) in decoded.items():
            if held is None or not compare:
                continue
            for k, data in enumerate(entries[: len(held)]):
                if held[k] != data:
                    at = first + k
                    mismatches.append(
                        Finding(
                            at,
                            "entry_bundle_mismatch",
                            f"{tile.path}: entry {at} differs from the same entry in the "
                            "bundle that holds the log",
                        )
                    )
                    break
    findings.extend([*shape, *mismatches])
    return LogEntries(files, log, findings)


def hold_to_checkpoint(
    entries: LogEntries, bundle: Bundle, newest: Checkpoint | None, findings: FindingLog
) -> LogEntries:
    """``entries`` up to the newest checkpoint's size (cut in place), reporting any difference
    between the bundles and that checkpoint; unchanged when there is no checkpoint."""
    if newest is None:
        return entries
    size = newest.size
    held = {
        t.n
        for t in bundle.entry_bundles
        if t.n * TILE_WIDTH < size and t == entry_bundle_for(t.n * TILE_WIDTH, size)
    }
    report_missing_bundles(size, 0, held, findings)
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
        entries.cut(newest.size)
    return entries


def report_missing_bundles(size: int, first: int, held: set[int], findings: FindingLog) -> None:
    """``missing_entry_bundle`` for every entry bundle a log of ``size`` needs from bundle
    number ``first`` on whose number is not in ``held``.

    The size is the newest checkpoint's, signed by the party audited: a key holder can claim
    2^63 entries.  So the work is bounded by the bundles held and the findings listed
    (``MAX_FINDINGS_PER_CODE``), and the rest are counted, not made one by one.
    """
    needed = -(-size // TILE_WIDTH) - first
    missing = needed - sum(1 for n in held if first <= n < first + needed)
    listed = 0
    n = first
    while listed < min(missing, MAX_FINDINGS_PER_CODE):
        if n not in held:
            tile = entry_bundle_for(n * TILE_WIDTH, size)
            findings.add(n * TILE_WIDTH, "missing_entry_bundle", f"{tile.path}: missing")
            listed += 1
        n += 1
    if missing > listed:
        findings.add_unlisted("missing_entry_bundle", missing - listed)
