"""Steps 1 and 2 of a mirror pull: the centre's checkpoint and the Merkle tree under it.

The mirror (``exam_core.monitoring.mirror``) verifies the tree before it reads any entry of it,
so every entry can be held to a hash the signed checkpoint commits to.  ``verify_tree`` takes
the checkpoint a centre serves and the tree the mirror verified last, and either commits the new
tree with its tiles or says, as a finding, why it does not hold:

1. the checkpoint is signed by the centre's log key (``verify_checkpoint``); a smaller tree
   than the one verified is a truncation, another root at the verified size a fork, a jump of
   more than ``MAX_GROWTH`` entries is refused;
2. the tiles that are new or grew since then are fetched (``FetchAhead``, a few requests in
   flight) — every one of level ≥ 1, and of level 0 only those the check reads: the tile
   holding the old tree's edge (it grew) and the new tree's partial tile.  Each full tile
   hashes to its parent's hash in the tile above, the tiles give the checkpoint's root, and an
   RFC 6962 consistency proof built from them takes the verified root to the new one
   (``consistency_proof``/``verify_consistency``).  The checkpoint and its tiles are
   committed together (``MirrorStore.advance_tree``).

The full level-0 tiles in between are not fetched: step 3 makes each from its bundle's entries
and holds it to its hash in the level-1 tile committed here.  When the new tree does not
extend the verified one, the held leaves are compared with those the centre now serves, to
name the rewritten entries (``log_rewritten``), else the tiles (``mirror_tiles_wrong``), else
the two histories (``log_forked``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exam_core.errors import CheckpointError, ProofError, StoreError
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint, verify_checkpoint
from exam_core.log.merkle import consistency_proof, verify_consistency
from exam_core.log.note import Ed25519Verifier
from exam_core.log.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TilePath,
    hash_source_from_tiles,
    root_from_tiles,
    split_tile,
)
from exam_core.monitoring.mirror_fetch import FetchAhead
from exam_core.monitoring.mirror_source import SourceRefusedError, SourceUnavailableError
from exam_core.monitoring.mirror_store import MirrorHeadRecord, MirrorStore, NewFinding

__all__ = [
    "MAX_GROWTH",
    "VerifiedTree",
    "fingerprint",
    "note_text",
    "tile_root",
    "verify_tree",
]

MAX_GROWTH = 1 << 22
"""Entries a checkpoint may add to the verified tree in one pull (4,194,304: their level-1
tiles, 512 KiB, are fetched, held and committed at once).  A larger jump is refused: it is
either hostile (a size no centre reaches, to exhaust the mirror) or a centre the mirror has not
read for months."""
MAX_DIAGNOSED = 100
"""Rewritten entries, and level-0 tiles of entries not yet held, named in one finding (the rest
are the same evidence)."""


@dataclass(frozen=True)
class VerifiedTree:
    """The tree a pull goes on with: the head after steps 1 and 2, and the tiles they fetched,
    verified and committed (none when the tree did not grow, or another pull moved it)."""

    head: MirrorHeadRecord
    tiles: dict[TilePath, bytes]


def fingerprint(*parts: object) -> str:
    """What makes a finding once per log (``NewFinding.fingerprint``): a hash of its parts."""
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def note_text(note: bytes | None) -> str | None:
    """A note as evidence: text, whatever its bytes."""
    return None if note is None else note.decode("utf-8", "replace")


def verify_tree(
    store: MirrorStore,
    head: MirrorHeadRecord,
    data: bytes,
    verifier: Ed25519Verifier,
    source: FetchAhead,
) -> VerifiedTree | NewFinding:
    """Steps 1 and 2 for the checkpoint ``data``: the tree verified and committed, with the
    tiles fetched for it, or the finding that refuses it (not recorded here).

    Raises:
        SourceUnavailableError: a tile could not be fetched.
        SourceRefusedError: a tile was refused by the source.
        StoreError: the database failed.
    """
    origin = head.origin
    # (1) the log's signature, then the size against the verified tree
    try:
        cp = verify_checkpoint(data, verifier)
    except CheckpointError as e:
        return NewFinding(
            Finding(None, "mirror_checkpoint_refused", f"checkpoint: {e}"),
            {"served": note_text(data[:4096])},
            fingerprint("checkpoint", hashlib.sha256(data).hexdigest()),
        )
    evidence = {"held": note_text(head.checkpoint), "served": note_text(data)}
    if cp.size < head.tree_size:
        return NewFinding(
            Finding(
                cp.size,
                "log_truncated",
                f"the centre signed a tree of {cp.size} entries after the mirror "
                f"verified one of {head.tree_size}: entries {cp.size}–"
                f"{head.tree_size - 1} are gone from its log",
            ),
            evidence,
            fingerprint("truncated", cp.size, cp.root_hash.hex()),
        )
    if cp.size == head.tree_size:
        if cp.root_hash != head.root_hash:
            return _fork(head, cp, evidence)
        return VerifiedTree(head, {})
    if cp.size - head.tree_size > MAX_GROWTH:
        return NewFinding(
            Finding(
                None,
                "mirror_response_refused",
                f"checkpoint: a tree of {cp.size} entries adds more than {MAX_GROWTH} "
                f"to the {head.tree_size} verified, more than one pull checks",
            ),
            {"path": "checkpoint", "served": note_text(data)},
            fingerprint("growth", cp.size, cp.root_hash.hex()),
        )
    # (2) the new tiles: parents, root, and consistency with the verified tree
    tiles = _fetch_tiles(source, head.tree_size, cp.size)
    problem = _parent_problem(tiles)
    if problem is not None:
        return _tiles_wrong(problem, cp, evidence)
    read = _tile_reader(store, origin, tiles)
    try:
        root = root_from_tiles(read, cp.size)
    except (CheckpointError, IndexError) as e:
        return _tiles_wrong(str(e), cp, evidence)
    consistent = root == cp.root_hash
    if consistent and head.tree_size:
        try:
            proof = consistency_proof(
                hash_source_from_tiles(read, cp.size), head.tree_size, cp.size
            )
            verify_consistency(head.tree_size, cp.size, proof, head.root_hash, cp.root_hash)
        except (ProofError, CheckpointError, IndexError):
            consistent = False
    if not consistent:
        rewritten, unheld = _rewritten(store, head, tiles, source)
        if rewritten or unheld:
            return _rewrite(head, cp, rewritten, unheld, evidence)
        if root != cp.root_hash:
            return _tiles_wrong("the tiles do not give its root", cp, evidence)
        return _fork(head, cp, evidence)
    stored = {(t.level, t.n): d for t, d in tiles.items()}
    committed = store.advance_tree(
        origin,
        head.tree_size,
        checkpoint=data,
        size=cp.size,
        root_hash=cp.root_hash,
        tiles=stored,
    )
    return VerifiedTree(_head(store, origin), tiles if committed else {})


def _head(store: MirrorStore, origin: str) -> MirrorHeadRecord:
    head = store.head(origin)
    if head is None:
        raise StoreError(f"the mirror's head of {origin} is gone")
    return head


def _fork(head: MirrorHeadRecord, cp: Checkpoint, evidence: dict[str, Any]) -> NewFinding:
    return NewFinding(
        Finding(
            cp.size - 1 if cp.size else None,
            "log_forked",
            f"the centre signed a tree of {cp.size} entries that does not extend the tree "
            f"of {head.tree_size} the mirror verified (two histories)",
        ),
        evidence,
        fingerprint("fork", cp.size, cp.root_hash.hex()),
    )


def _fetch_tiles(source: FetchAhead, old: int, new: int) -> dict[TilePath, bytes]:
    """The Merkle tiles of the tree of ``new`` that the tree of ``old`` lacks or holds
    partly, checked for length: every one of level ≥ 1, and of level 0 only those the root
    and the consistency proof read — the tile holding the old tree's edge (it grew) and the
    new tree's partial tile.  A full level-0 tile in between is not fetched: step 3 makes
    it from its bundle's entries and holds it to its hash in the level-1 tile.

    Raises:
        SourceRefusedError: a tile is refused, or is not its width's length.
        SourceUnavailableError: a tile could not be fetched.
    """
    wanted: list[TilePath] = []
    level = 0
    while new >> (TILE_HEIGHT * level):
        count_new = new >> (TILE_HEIGHT * level)
        count_old = old >> (TILE_HEIGHT * level)
        if count_new != count_old:
            edge = count_old // TILE_WIDTH if count_old % TILE_WIDTH else -1
            for n in range(count_old // TILE_WIDTH, -(-count_new // TILE_WIDTH)):
                width = min(TILE_WIDTH, count_new - n * TILE_WIDTH)
                if level == 0 and width == TILE_WIDTH and n != edge:
                    continue
                wanted.append(TilePath(level, n, None if width == TILE_WIDTH else width))
        level += 1
    tiles: dict[TilePath, bytes] = {}
    for tile, fetched in source.in_order(wanted):
        data = fetched.result()
        try:
            split_tile(data, tile)
        except CheckpointError as e:
            raise SourceRefusedError(tile.path, str(e)) from e
        tiles[tile] = data
    return tiles


def _tile_reader(
    store: MirrorStore, origin: str, fetched: dict[TilePath, bytes]
) -> Callable[[TilePath], bytes]:
    by_index = {(t.level, t.n): d for t, d in fetched.items()}

    def read(tile: TilePath) -> bytes:
        data = by_index.get((tile.level, tile.n))
        if data is None:
            data = store.tile(origin, tile.level, tile.n)
        if data is None:
            raise CheckpointError(f"{tile.path} is neither fetched nor held")
        return data[: tile.length * 32]

    return read


def _rewritten(
    store: MirrorStore, head: MirrorHeadRecord, fetched: dict[TilePath, bytes], source: FetchAhead
) -> tuple[list[int], list[int]]:
    """The entries below the verified size whose leaf the centre now serves differently;
    and the level-0 tiles (by index) of entries verified but not yet held — the mirror
    holds only their tile's hash in the level-1 tile — that the centre now serves with
    another hash."""
    found: list[int] = []
    tiles: list[int] = []
    by_index = {(t.level, t.n): d for t, d in fetched.items() if t.level == 0}
    parents: dict[int, bytes] = {}
    for n in range(-(-head.tree_size // TILE_WIDTH)):
        ours = store.tile(head.origin, 0, n)
        theirs = by_index.get((0, n))
        if theirs is None:
            try:
                theirs = source.source.tile(TilePath(0, n))
            except (SourceRefusedError, SourceUnavailableError):
                break
        if ours is None:  # entries not held: the mirror holds their tile's hash only
            m, k = divmod(n, TILE_WIDTH)
            if m not in parents:
                parents[m] = store.tile(head.origin, 1, m) or b""
            held = parents[m][k * 32 : k * 32 + 32]
            if (
                len(theirs) == TILE_WIDTH * 32
                and len(held) == 32
                and tile_root(split_tile(theirs, TilePath(0, n))) != held
            ):
                tiles.append(n)
            continue
        for k in range(min(len(ours), len(theirs)) // 32):
            if ours[k * 32 : k * 32 + 32] != theirs[k * 32 : k * 32 + 32]:
                found.append(n * TILE_WIDTH + k)
                if len(found) >= MAX_DIAGNOSED:
                    return found, tiles
        if len(found) + len(tiles) >= MAX_DIAGNOSED:
            break
    return found, tiles


def _parent_problem(tiles: dict[TilePath, bytes]) -> str | None:
    """Why a fetched full tile does not hash to its parent's hash, or None."""
    by_index = {(t.level, t.n): d for t, d in tiles.items()}
    for tile, data in tiles.items():
        if tile.is_partial:
            continue
        parent = by_index.get((tile.level + 1, tile.n // TILE_WIDTH))
        if parent is None:
            return f"{tile.path} has no parent tile among those fetched"
        k = tile.n % TILE_WIDTH
        if len(parent) < (k + 1) * 32:
            return f"the parent of {tile.path} is too short"
        root = tile_root(split_tile(data, tile))  # full
        if root != parent[k * 32 : k * 32 + 32]:
            return f"{tile.path} does not hash to hash {k} of its parent tile"
    return None


def tile_root(hashes: list[bytes]) -> bytes:
    """The hash of a full tile's 256 hashes (eight levels of RFC 6962 interior nodes, inlined:
    the mirror folds a bundle's leaf hashes for every 256 entries)."""
    sha256 = hashlib.sha256
    row = hashes
    while len(row) > 1:
        row = [sha256(b"\x01" + row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
    return row[0]


def _tiles_wrong(problem: str, cp: Checkpoint, evidence: dict[str, Any]) -> NewFinding:
    return NewFinding(
        Finding(None, "mirror_tiles_wrong", f"tiles of the tree of {cp.size}: {problem}"),
        evidence,
        fingerprint("tiles", cp.size, cp.root_hash.hex(), problem),
    )


def _rewrite(
    head: MirrorHeadRecord,
    cp: Checkpoint,
    rewritten: list[int],
    unheld: list[int],
    evidence: dict[str, Any],
) -> NewFinding:
    """The finding of a rewritten log: the ``rewritten`` entries, and the entries of the
    ``unheld`` level-0 tiles (verified by their tile's hash only: which entry of 256 changed
    is not known)."""
    parts = []
    if rewritten:
        shown = ", ".join(map(str, rewritten[:10])) + (" …" if len(rewritten) > 10 else "")
        parts.append(
            f"entries {shown} of the tree of {head.tree_size} the mirror verified hash "
            f"differently in the centre's tree of {cp.size}"
        )
    if unheld:
        ranges = [f"{n * TILE_WIDTH}–{n * TILE_WIDTH + TILE_WIDTH - 1}" for n in unheld[:10]]
        shown = ", ".join(ranges) + (" …" if len(unheld) > 10 else "")
        parts.append(
            f"entries {shown} of the tree of {head.tree_size} the mirror verified (by their "
            f"tile's hash, not yet held) give another tile hash in the centre's tree of {cp.size}"
        )
    first = min([*rewritten[:1], *(n * TILE_WIDTH for n in unheld[:1])])
    tiles = {"tiles": [TilePath(0, n).path for n in unheld]} if unheld else {}
    return NewFinding(
        Finding(first, "log_rewritten", "; ".join(parts) + ": its log was rewritten"),
        {**evidence, "entries": rewritten, **tiles},
        fingerprint("rewrite", cp.size, cp.root_hash.hex()),
    )
