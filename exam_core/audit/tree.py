"""Step 2 of the audit, second half (docs/audit.md): the Merkle tree, rebuilt from the entries.

The auditor holds every entry, so it rebuilds the tree itself and needs nobody's proof: each
checkpoint's root is recomputed at its size, which also makes successive checkpoints consistent.
Independently of the entries, when the level-0 tiles give the newest root, an RFC 9162
consistency proof from each older checkpoint is built from those tiles and verified; that tells
a forked log apart from entries changed in the bundle.  Last, every tile file is compared with
the tile recomputed from the entries, and a level-0 difference is blamed on whichever side does
not give the newest checkpoint's root.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from exam_core.audit.checkpoint_history import CheckpointHistory, SeenCheckpoint
from exam_core.audit.reader import Bundle
from exam_core.audit.report import FindingLog
from exam_core.errors import CheckpointError, ProofError
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashSource,
    consistency_proof,
    hash_source_from_leaf_hashes,
    leaf_hash,
    subtree_root,
    verify_consistency,
)
from exam_core.log.tiles import TILE_HEIGHT, TILE_WIDTH, TilePath, read_leaf_hashes, tiles_for_size

__all__ = ["check_tree", "consistency_problem"]


def _root_at(source: HashSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves of a tree whose perfect subtrees ``source`` gives."""
    return subtree_root(source, 0, size) if size else EMPTY_ROOT


def _first_leaf(tile: TilePath) -> int:
    """The first entry index a tile covers."""
    return (tile.n * TILE_WIDTH) << (TILE_HEIGHT * max(tile.level, 0))


def check_tree(
    bundle: Bundle, entries: Sequence[bytes], history: CheckpointHistory, findings: FindingLog
) -> HashSource | None:
    """Hold every checkpoint and every tile file to the tree of ``entries``; report each fault.

    Returns the tree that gives the newest checkpoint's root — the level-0 tiles' when they do,
    else the entries' — for holding other checkpoints to it; None when neither does.
    """
    newest = history.newest.checkpoint if history.newest is not None else None
    leaves = [leaf_hash(data) for data in entries]
    source = hash_source_from_leaf_hashes(leaves)  # every level, hashed once
    # Each checkpoint's root recomputed at its size: consistency between successive
    # checkpoints needs no proof when the auditor holds every entry.
    seen = history.seen
    roots = {
        s.checkpoint.size: _root_at(source, s.checkpoint.size)
        for s in seen
        if s.checkpoint.size <= len(leaves)
    }
    for s in seen:
        cp = s.checkpoint
        root = roots.get(cp.size)
        if root is None:
            continue  # reported as missing_entries
        if root != cp.root_hash:
            findings.add(
                cp.size - 1 if cp.size else None,
                "checkpoint_root",
                f"{s.path}: root of size {cp.size} is "
                f"{base64.b64encode(cp.root_hash).decode()}; the entries give "
                f"{base64.b64encode(root).decode()}",
            )
    entries_hold = newest is not None and roots.get(newest.size) == newest.root_hash
    tile_leaves = _tile_leaves(bundle, newest.size) if newest is not None else None
    tiles_source: HashSource | None = None
    if newest is not None and tile_leaves is not None:
        tiles_source = (
            source if tile_leaves == leaves else hash_source_from_leaf_hashes(tile_leaves)
        )
        if _root_at(tiles_source, newest.size) != newest.root_hash:
            tiles_source = None
    if newest is not None and tiles_source is not None:
        _check_consistency(newest, seen, tiles_source, findings)
    _check_tiles(
        bundle,
        len(leaves),
        source,
        findings,
        entries_hold=entries_hold,
        tiles_hold=tiles_source is not None,
    )
    return tiles_source if tiles_source is not None else source if entries_hold else None


def consistency_problem(source: HashSource, old: Checkpoint, newest: Checkpoint) -> str | None:
    """Why ``old`` is not a prefix of ``newest`` in the tree ``source`` (which gives the newest
    root), or None when it is: an RFC 9162 consistency proof built from ``source``."""
    if old.size > newest.size:
        return f"size {old.size} is larger than the newest checkpoint's {newest.size}"
    if old.size == 0:
        return None if old.root_hash == EMPTY_ROOT else "size 0 with a root that is not empty"
    if old.size == newest.size:
        return None if old.root_hash == newest.root_hash else f"another tree of size {old.size}"
    try:
        proof = consistency_proof(source, old.size, newest.size)
        verify_consistency(old.size, newest.size, proof, old.root_hash, newest.root_hash)
    except ProofError as e:
        return str(e)
    return None


def _check_consistency(
    newest: Checkpoint, seen: Sequence[SeenCheckpoint], source: HashSource, findings: FindingLog
) -> None:
    """RFC 9162 consistency of every checkpoint with the newest, proved from the tiles.

    The proofs come from the level-0 tiles, which give the newest checkpoint's root, so
    this holds or fails whatever the entry bundles say: a fork of the log is told apart
    from entries changed in the bundle.
    """
    for s in seen:
        cp = s.checkpoint
        if cp.size == 0 or cp.size > newest.size or cp == newest:
            continue
        problem = consistency_problem(source, cp, newest)
        if problem is not None:
            findings.add(
                cp.size - 1,
                "checkpoint_inconsistent",
                f"{s.path}: size {cp.size} is not a prefix of the newest checkpoint: {problem}",
            )


def _tile_leaves(bundle: Bundle, size: int) -> list[bytes] | None:
    """The leaf hashes the level-0 tile files give at ``size``, or None if they cannot."""

    def read(tile: TilePath) -> bytes:
        data = bundle.tiles.get(tile)
        if data is None:
            raise CheckpointError(f"{tile.path} is missing")
        return data

    try:
        return read_leaf_hashes(read, size)
    except CheckpointError:
        return None


def _check_tiles(
    bundle: Bundle,
    size: int,
    get_node: HashSource,
    findings: FindingLog,
    *,
    entries_hold: bool,
    tiles_hold: bool,
) -> None:
    """Compare every tile file with the tile recomputed from the entries' leaf hashes.

    Where a level-0 tile and an entry disagree, the one that does not give the newest
    checkpoint's root is named; if neither does, both are suspect (``leaf_mismatch``).
    """
    levels: list[list[bytes]] = []
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        levels.append([get_node(TILE_HEIGHT * level, i) for i in range(count)])
        level += 1
    for tile in tiles_for_size(size):
        if not tile.is_entries and tile not in bundle.tiles:
            findings.add(_first_leaf(tile), "missing_tile", f"{tile.path}: missing")
    for tile, data in sorted(bundle.tiles.items(), key=lambda kv: kv[0].sort_key):
        if tile.is_entries:
            continue  # entry bundles are filed apart by exam_core.audit.reader
        first, width = tile.n * TILE_WIDTH, tile.length
        if len(data) != width * HASH_SIZE:
            findings.add(
                _first_leaf(tile),
                "tile_malformed",
                f"{tile.path}: {len(data)} bytes; {width} hashes are {width * HASH_SIZE}",
            )
            continue
        have = levels[tile.level] if tile.level < len(levels) else []
        if first + width > len(have):
            findings.add(
                _first_leaf(tile),
                "tile_beyond_tree",
                f"{tile.path}: covers hashes a tree of {size} entries does not have",
            )
            continue
        for k in range(width):
            if data[k * HASH_SIZE : (k + 1) * HASH_SIZE] == have[first + k]:
                continue
            index = (first + k) << (TILE_HEIGHT * tile.level)
            code, message = _level_mismatch(tile, k, index, entries_hold, tiles_hold)
            findings.add(index, code, message)


def _level_mismatch(
    tile: TilePath, k: int, index: int, entries_hold: bool, tiles_hold: bool
) -> tuple[str, str]:
    """The code and message for hash ``k`` of ``tile`` differing from the entries' tree."""
    if tile.level == 0 and not entries_hold and tiles_hold:
        return (
            "entry_mismatch",
            f"entry {index} does not hash to leaf {index} of {tile.path}, which the "
            "checkpoint covers",
        )
    if tile.level == 0 and not entries_hold:
        return (
            "leaf_mismatch",
            f"entry {index} and leaf {index} of {tile.path} disagree, and neither "
            "the entries nor the tiles give the checkpoint's root",
        )
    return (
        "tile_mismatch",
        f"{tile.path}: hash {k} (from entry {index}) differs from the entries' tree",
    )
