"""Step 2 of the audit, second half (docs/audit.md): the Merkle tree, rebuilt from the entries.

The auditor reads every entry, so it rebuilds the tree itself and needs nobody's proof: each
checkpoint's root is recomputed at its size as the entries stream past it, which also makes
successive checkpoints consistent.  Independently of the entries, when the level-0 tiles give
the newest root, an RFC 9162 consistency proof from each older checkpoint is built from those
tiles and verified; that tells a forked log apart from entries changed in the bundle.  Last,
every tile file is compared with the tile recomputed from the entries, and a level-0 difference
is blamed on whichever side does not give the newest checkpoint's root.

Nothing here grows with the log beyond one hash per 256 entries (``TreeHashes``): the entries
are read a bundle at a time, each bundle's leaf hashes are held to the level-0 tiles of its
position and folded into its level-8 node, and a node below level 8 that a proof needs later
is hashed again from the 256 leaves of its tile.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial

from exam_core.audit.checkpoint_history import CheckpointHistory, SeenCheckpoint
from exam_core.audit.log_entries import LogEntries
from exam_core.audit.reader import Bundle
from exam_core.audit.report import MAX_FINDINGS_PER_CODE, FindingLog
from exam_core.errors import BundleError, CheckpointError, ProofError
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashSource,
    MerkleFrontier,
    consistency_proof,
    hash_source_from_leaf_hashes,
    leaf_hashes,
    subtree_root,
    verify_consistency,
)
from exam_core.log.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TilePath,
    split_tile,
    tile_for,
    tiles_for_size,
)

__all__ = ["TreeHashes", "check_tree", "consistency_problem"]

_sha256 = hashlib.sha256


def _root_at(source: HashSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves of a tree whose perfect subtrees ``source`` gives."""
    return subtree_root(source, 0, size) if size else EMPTY_ROOT


def _first_leaf(tile: TilePath) -> int:
    """The first entry index a tile covers."""
    return (tile.n * TILE_WIDTH) << (TILE_HEIGHT * max(tile.level, 0))


def _tile_levels(leaves: Sequence[bytes]) -> HashSource:
    """Every node of one tile of up to 256 leaf hashes (levels 0 to 8), hashed once."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                _sha256(b"\x01" + below[i] + below[i + 1]).digest()
                for i in range(0, len(below) - 1, 2)  # odd: the last waits
            ]
        )

    def get_node(level: int, index: int) -> bytes:
        if level >= len(levels) or not 0 <= index < len(levels[level]):
            raise IndexError(f"no perfect subtree at level {level}, index {index}")
        return levels[level][index]

    return get_node


def _prefix_root(upper: Sequence[bytes], tile: HashSource, r: int) -> bytes:
    """MTH of the leaves before a tile (``upper``: its frontier, largest subtree first) and
    the first ``r`` leaves of the tile."""
    parts = list(upper)
    pos = 0
    while pos < r:
        level = (r - pos).bit_length() - 1
        parts.append(tile(level, pos >> level))
        pos += 1 << level
    if not parts:
        return EMPTY_ROOT
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = _sha256(b"\x01" + left + h).digest()
    return h


class TreeHashes:
    """A ``HashSource`` for a tree of ``size`` leaves that keeps one hash per 256 leaves.

    Nodes from level 8 up come from the kept level-8 hashes (every level above is hashed once,
    a 256th of the tree); a node below level 8 lies inside one tile of 256 leaves, whose leaf
    hashes ``leaves_of(n)`` gives again (from the entries or from a level-0 tile) when a
    checkpoint's root or a proof needs it — the last tile asked for is kept.
    """

    def __init__(
        self, size: int, tops: Sequence[bytes], leaves_of: Callable[[int], list[bytes]]
    ) -> None:
        self.size = size
        self._upper = hash_source_from_leaf_hashes(tops)
        self._leaves_of = leaves_of
        self._kept: tuple[int, HashSource] | None = None

    def __call__(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > self.size:
            raise IndexError(f"no perfect subtree at level {level}, index {index} in {self.size}")
        if level >= TILE_HEIGHT:
            return self._upper(level - TILE_HEIGHT, index)
        n = (index << level) >> TILE_HEIGHT
        if self._kept is None or self._kept[0] != n:
            self._kept = (n, hash_source_from_leaf_hashes(self._leaves_of(n)))
        return self._kept[1](level, index - (n << (TILE_HEIGHT - level)))


@dataclass
class _LevelZero:
    """What the level-0 tile files say beside the entries, gathered as the entries stream by:
    each tile's faults in file order (mismatched hashes listed up to the finding limit, the
    rest counted), and whether the newest checkpoint's level-0 tiles equal the entries'
    leaves."""

    faults: list[tuple[TilePath, str, int]] = field(default_factory=list)
    """(tile, ``malformed`` | ``beyond`` | ``mismatch``, the file's length | 0 | the number of
    the hash within the tile)."""
    mismatched: int = 0
    agree: bool = True

    def check(self, tile: TilePath, data: bytes, leaves: Sequence[bytes], size: int) -> None:
        first, width = tile.n * TILE_WIDTH, tile.length
        if len(data) != width * HASH_SIZE:
            self.faults.append((tile, "malformed", len(data)))
            return
        if first + width > size:
            self.faults.append((tile, "beyond", 0))
            return
        if data == b"".join(leaves[:width]):
            return
        for k in range(width):
            if data[k * HASH_SIZE : (k + 1) * HASH_SIZE] == leaves[k]:
                continue
            self.mismatched += 1
            if self.mismatched <= MAX_FINDINGS_PER_CODE:
                self.faults.append((tile, "mismatch", k))


def check_tree(
    bundle: Bundle, entries: LogEntries, history: CheckpointHistory, findings: FindingLog
) -> HashSource | None:
    """Hold every checkpoint and every tile file to the tree of ``entries``; report each fault.

    The entries are read once, a bundle at a time: each bundle's leaf hashes are held to the
    level-0 tiles of that position and folded into its level-8 hash, and nothing else of them
    is kept.  Returns the tree that gives the newest checkpoint's root — the level-0 tiles'
    when they do, else the entries' — for holding other checkpoints to it; None when neither
    does.
    """
    newest = history.newest.checkpoint if history.newest is not None else None
    size = len(entries)
    level0: dict[int, list[TilePath]] = {}
    for tile in sorted(bundle.tiles, key=lambda t: t.sort_key):
        if tile.level == 0:
            level0.setdefault(tile.n, []).append(tile)
    newest_size = newest.size if newest is not None else 0
    zero = _LevelZero(agree=newest is not None and size == newest.size)
    seen = history.seen
    sizes = sorted({s.checkpoint.size for s in seen if s.checkpoint.size <= size})
    roots = {0: EMPTY_ROOT} if sizes and sizes[0] == 0 else {}
    at = len(roots)  # the next checkpoint size to reach
    tops: list[bytes] = []
    frontier = MerkleFrontier()  # of the tiles so far, each one leaf
    for first, data_entries in entries.bundles():
        n = first // TILE_WIDTH
        leaves = leaf_hashes(data_entries)
        nodes = _tile_levels(leaves)
        # Each checkpoint's root recomputed at its size as the entries pass: consistency
        # between successive checkpoints needs no proof when the auditor holds every entry.
        upper = frontier.subtree_hashes
        while at < len(sizes) and sizes[at] - first <= len(leaves):
            roots[sizes[at]] = _prefix_root(upper, nodes, sizes[at] - first)
            at += 1
        if len(leaves) == TILE_WIDTH:
            tops.append(nodes(TILE_HEIGHT, 0))
            frontier.append(tops[-1])
        # the newest tree's level-0 tile here, by position: the newest size is the audited
        # party's word, and may claim more tiles than any bundle could hold
        newest_tile = tile_for(0, first, newest_size) if first < newest_size else None
        if newest_tile not in bundle.tiles:
            zero.agree = False
        for tile in level0.pop(n, ()):
            data = _read_tile(bundle, tile, findings)
            if data is None:
                zero.agree = zero.agree and tile != newest_tile
                continue
            if tile == newest_tile and data != b"".join(leaves):
                zero.agree = False
            zero.check(tile, data, leaves, size)
    for tiles in level0.values():  # level-0 tiles past the entries
        for tile in tiles:
            data = _read_tile(bundle, tile, findings)
            if data is not None:
                zero.check(tile, data, (), size)
    source = TreeHashes(size, tops, lambda n: leaf_hashes(entries.bundle(n)))
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
    tiles_source: HashSource | None = None
    if newest is not None:
        tiles_source = source if zero.agree else _tile_hashes(bundle, newest.size)
        if tiles_source is not None and _root_at(tiles_source, newest.size) != newest.root_hash:
            tiles_source = None
    if newest is not None and tiles_source is not None:
        # Where the tiles are the entries' tree and it gave a checkpoint's root, the proof of
        # that checkpoint would be built from that very tree: it holds, so it is not rebuilt.
        proven = roots if tiles_source is source else {}
        _check_consistency(newest, seen, tiles_source, proven, findings)
    _check_tiles(
        bundle,
        size,
        source,
        zero,
        findings,
        entries_hold=entries_hold,
        tiles_hold=tiles_source is not None,
    )
    return tiles_source if tiles_source is not None else source if entries_hold else None


def _read_tile(bundle: Bundle, tile: TilePath, findings: FindingLog) -> bytes | None:
    """The tile file's bytes, or None with a finding when it changed so that it cannot be read."""
    try:
        return bundle.tiles[tile]
    except BundleError as e:
        findings.add(_first_leaf(tile), "unreadable_file", str(e))
        return None


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
    newest: Checkpoint,
    seen: Sequence[SeenCheckpoint],
    source: HashSource,
    proven: Mapping[int, bytes],
    findings: FindingLog,
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
        if proven.get(cp.size) == cp.root_hash:
            continue  # the root at its size is the tree's own, and so is the newest root
        problem = consistency_problem(source, cp, newest)
        if problem is not None:
            findings.add(
                cp.size - 1,
                "checkpoint_inconsistent",
                f"{s.path}: size {cp.size} is not a prefix of the newest checkpoint: {problem}",
            )


def _tile_hashes(bundle: Bundle, size: int) -> TreeHashes | None:
    """The tree the level-0 tile files give at ``size``, or None if they cannot give it."""

    def leaves_of(n: int) -> list[bytes]:
        tile = tile_for(0, n * TILE_WIDTH, size)
        return split_tile(bundle.tiles[tile], tile)

    # tile by tile, up to the first one absent: never more than the bundle holds, whatever
    # size the checkpoint claims
    tops: list[bytes] = []
    try:
        for first in range(0, size, TILE_WIDTH):
            if tile_for(0, first, size) not in bundle.tiles:
                return None
            leaves = leaves_of(first // TILE_WIDTH)
            if len(leaves) == TILE_WIDTH:
                tops.append(_tile_levels(leaves)(TILE_HEIGHT, 0))
    except (CheckpointError, BundleError):
        return None
    return TreeHashes(size, tops, leaves_of)


def _check_tiles(
    bundle: Bundle,
    size: int,
    get_node: HashSource,
    zero: _LevelZero,
    findings: FindingLog,
    *,
    entries_hold: bool,
    tiles_hold: bool,
) -> None:
    """Report every tile file that differs from the tile recomputed from the entries' tree:
    the level-0 ones as ``zero`` found them, the others hash by hash here.

    Where a level-0 tile and an entry disagree, the one that does not give the newest
    checkpoint's root is named; if neither does, both are suspect (``leaf_mismatch``).
    """
    for tile in tiles_for_size(size):
        if not tile.is_entries and tile not in bundle.tiles:
            findings.add(_first_leaf(tile), "missing_tile", f"{tile.path}: missing")
    report = partial(
        _report, findings=findings, size=size, entries_hold=entries_hold, tiles_hold=tiles_hold
    )
    for tile, fault, k in zero.faults:
        report(tile, fault, k)
    for _ in range(zero.mismatched - MAX_FINDINGS_PER_CODE):  # counted, not listed
        code, message = _level_mismatch(TilePath(0, 0), 0, 0, entries_hold, tiles_hold)
        findings.add(None, code, message)
    for tile in sorted(bundle.tiles, key=lambda t: t.sort_key):
        if tile.is_entries or tile.level == 0:
            continue  # entry bundles are filed apart; level 0 was held to the entries above
        data = _read_tile(bundle, tile, findings)
        if data is None:
            continue
        first, width = tile.n * TILE_WIDTH, tile.length
        if len(data) != width * HASH_SIZE:
            report(tile, "malformed", len(data))
            continue
        level = TILE_HEIGHT * tile.level
        if first + width > size >> level:
            report(tile, "beyond", 0)
            continue
        for k in range(width):
            if data[k * HASH_SIZE : (k + 1) * HASH_SIZE] != get_node(level, first + k):
                report(tile, "mismatch", k)


def _report(
    tile: TilePath,
    fault: str,
    k: int,
    *,
    findings: FindingLog,
    size: int,
    entries_hold: bool,
    tiles_hold: bool,
) -> None:
    """Report ``fault`` of ``tile`` (see ``_LevelZero.faults`` for ``k``)."""
    if fault == "malformed":
        width = tile.length
        findings.add(
            _first_leaf(tile),
            "tile_malformed",
            f"{tile.path}: {k} bytes; {width} hashes are {width * HASH_SIZE}",
        )
    elif fault == "beyond":
        findings.add(
            _first_leaf(tile),
            "tile_beyond_tree",
            f"{tile.path}: covers hashes a tree of {size} entries does not have",
        )
    else:
        index = (tile.n * TILE_WIDTH + k) << (TILE_HEIGHT * tile.level)
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
