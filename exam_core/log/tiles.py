"""C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile paths, tile contents, entry bundles.

The log is served, mirrored and exported as static tiles, so the server, the monitoring
centre's mirror and the offline auditor must agree on every path and every byte.  This module
holds those rules, pure (bytes and callables in, bytes out), plus the audit-bundle layout
(DESIGN §3.5) so that a directory written by one side is read by the other with the same code
(``exam_core.centre.export`` writes it through ``exam_core.centre.durable``,
``exam_core.audit.reader`` reads it):

    BUNDLE/checkpoint                      newest checkpoint note
    BUNDLE/checkpoints/<12-digit ordinal>  every checkpoint seen, oldest first (000000000000 …)
    BUNDLE/policy                          tlog-policy text
    BUNDLE/tile/<L>/<N>[.p/<W>]            Merkle tiles
    BUNDLE/tile/entries/<N>[.p/<W>]        entry bundles
    BUNDLE/blobs/<sha256 hex>              evidence blobs

Tiles are 256 hashes wide.  A level-0 tile holds leaf hashes; hash j of tile n at level l ≥ 1 is
the MTH of the whole tile n·256+j one level down, i.e. the node at Merkle level 8·l, index
n·256+j.  A partial tile (``.p/W``, 1 ≤ W ≤ 255) holds the first W hashes and is never hashed
into a parent.  N is written in 3-digit groups, all but the last prefixed with ``x``
(1234067 → ``x001/x234/067``).  An entry bundle is the concatenation of big-endian uint16
length-prefixed entries (so an entry is at most 65,535 bytes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from exam_core.errors import CheckpointError
from exam_core.log.blob_refs import SHA256_HEX
from exam_core.log.entry import MAX_ENTRY_BYTES
from exam_core.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashSource,
    leaf_hash,
    node_hash,
    subtree_root,
)

TILE_WIDTH = 256
TILE_HEIGHT = 8
"""log2 of the tile width: one tile level spans 8 Merkle levels."""
MAX_TILE_LEVEL = 63
ENTRIES_LEVEL = -1
"""The ``level`` of a ``TilePath`` that names an entry bundle."""
TILE_MAX_BYTES = TILE_WIDTH * HASH_SIZE
ENTRY_BUNDLE_MAX_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_BYTES)

CHECKPOINT_FILE = "checkpoint"
CHECKPOINTS_DIR = "checkpoints"
POLICY_FILE = "policy"
TILE_DIR = "tile"
BLOBS_DIR = "blobs"

# ASCII digits only: ``\d`` would also match other scripts' digits, which ``int`` accepts.
# At most 7 groups (21 digits): a tile index of a tree of up to 2**63 - 1 leaves has 17, and an
# unbounded run would make ``int`` raise (or spend quadratic time) on a hostile path.
_GROUP = re.compile(r"(x[0-9]{3}/){0,6}[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_ORDINAL = re.compile(r"[0-9]{12}")


class TilePath(NamedTuple):
    """One tile or entry bundle: ``level`` ``ENTRIES_LEVEL`` (−1) is an entry bundle; ``width``
    None is a full tile of 256, otherwise a partial one of 1..255.

    A plain tuple, so a reader can key dictionaries by it and unpack it as (level, n, width).
    """

    level: int
    n: int
    width: int | None = None

    @property
    def is_entries(self) -> bool:
        return self.level == ENTRIES_LEVEL

    @property
    def is_partial(self) -> bool:
        return self.width is not None

    @property
    def length(self) -> int:
        """How many hashes or entries it holds."""
        return TILE_WIDTH if self.width is None else self.width

    @property
    def path(self) -> str:
        """The path relative to the log prefix or bundle root, e.g. ``tile/0/x001/234.p/7``."""
        return tile_path(self.level, self.n, self.width)

    @property
    def full(self) -> TilePath:
        """The full tile this one is (or will become) a prefix of."""
        return TilePath(self.level, self.n)

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """``(level, n, length)``: orders full and partial tiles alike (a full one's ``width``
        is None, which does not compare with a number)."""
        return (self.level, self.n, self.length)


def _tile(level: int, index: int, count: int) -> TilePath:
    return TilePath(level, index, None if count == TILE_WIDTH else count)


def encode_tile_index(index: int) -> str:
    """``N`` in 3-digit groups, all but the last prefixed with ``x`` (1234067 → x001/x234/067).

    Raises:
        ValueError: ``index`` is negative (a caller bug).
    """
    if index < 0:
        raise ValueError("tile index is never negative")
    digits = str(index)
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def parse_tile_index(text: str) -> int:
    """Strict inverse of ``encode_tile_index``: no leading ``x000`` group, no other shapes.

    Raises:
        CheckpointError: ``text`` is not in x001/x234/067 form or starts with a redundant ``x000``
            group.
    """
    if not _GROUP.fullmatch(text) or text.startswith("x000"):
        raise CheckpointError(f"tile index {text!r} is not in x001/x234/067 form")
    return int(text.replace("x", "").replace("/", ""))


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """``tile/<L>/<N>[.p/<W>]``, or ``tile/entries/<N>[.p/<W>]`` when ``level`` is −1.

    Raises:
        ValueError: ``level`` is neither −1 nor in 0..``MAX_TILE_LEVEL``, ``index`` is negative, or
            ``width`` is not None and not in 1..255 (a caller bug).
    """
    if level != ENTRIES_LEVEL and not 0 <= level <= MAX_TILE_LEVEL:
        raise ValueError(f"tile level {level} is not in 0..{MAX_TILE_LEVEL}")
    if index < 0:
        raise ValueError("tile index is never negative")
    if width is not None and not 1 <= width < TILE_WIDTH:
        raise ValueError(f"partial tile width {width} is not in 1..{TILE_WIDTH - 1}")
    head = "entries" if level == ENTRIES_LEVEL else str(level)
    tail = "" if width is None else f".p/{width}"
    return f"{TILE_DIR}/{head}/{encode_tile_index(index)}{tail}"


def entry_bundle_path(index: int, width: int | None = None) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return tile_path(ENTRIES_LEVEL, index, width)


def parse_tile_path(path: str) -> TilePath:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` strictly.

    Raises:
        CheckpointError: ``path`` is not under ``tile/``, or its level, index or partial width is
            not in the strict form and range above.
    """
    parts = path.split("/", 2)
    if len(parts) != 3 or parts[0] != TILE_DIR:
        raise CheckpointError(f"{path!r} is not a tile path")
    head, rest = parts[1], parts[2]
    if head == "entries":
        level = ENTRIES_LEVEL
    elif _LEVEL.fullmatch(head) and int(head) <= MAX_TILE_LEVEL:
        level = int(head)
    else:
        raise CheckpointError(f"tile level {head!r} is not a decimal in 0..{MAX_TILE_LEVEL}")
    width = None
    if ".p/" in rest:
        rest, width_text = rest.split(".p/", 1)
        if not _WIDTH.fullmatch(width_text) or not 1 <= int(width_text) < TILE_WIDTH:
            raise CheckpointError(f"partial width {width_text!r} is not in 1..{TILE_WIDTH - 1}")
        width = int(width_text)
    return TilePath(level, parse_tile_index(rest), width)


# --- which tiles exist -------------------------------------------------------------------


def tiles_for_size(size: int) -> list[TilePath]:
    """Every Merkle tile (levels 0, 1, …) and entry bundle that a tree of ``size`` implies.

    Full tiles first at each level, then the level's partial tile if there is one.

    Raises:
        ValueError: ``size`` is negative (a caller bug).
    """
    if size < 0:
        raise ValueError("tree size is never negative")
    tiles: list[TilePath] = []
    level = 0
    count = size
    while count > 0:
        tiles.extend(TilePath(level, n) for n in range(count // TILE_WIDTH))
        if count % TILE_WIDTH:
            tiles.append(TilePath(level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
        count //= TILE_WIDTH
    tiles.extend(TilePath(ENTRIES_LEVEL, n) for n in range(size // TILE_WIDTH))
    if size % TILE_WIDTH:
        tiles.append(TilePath(ENTRIES_LEVEL, size // TILE_WIDTH, size % TILE_WIDTH))
    return tiles


def tile_for(level: int, hash_index: int, size: int) -> TilePath:
    """The tile at tile ``level`` that holds hash ``hash_index`` in a tree of ``size``.

    Raises:
        ValueError: the tree of ``size`` has no hash ``hash_index`` at tile level ``level`` (a
            caller bug).
    """
    count = size >> (TILE_HEIGHT * level)
    if not 0 <= hash_index < count:
        raise ValueError(f"no hash {hash_index} at tile level {level} for size {size}")
    n = hash_index // TILE_WIDTH
    return _tile(level, n, min(TILE_WIDTH, count - n * TILE_WIDTH))


def entry_bundle_for(index: int, size: int) -> TilePath:
    """The entry bundle holding entry ``index`` in a log of ``size``.

    Raises:
        ValueError: ``index`` is not in 0..``size`` − 1 (a caller bug).
    """
    if not 0 <= index < size:
        raise ValueError(f"no entry {index} in a log of size {size}")
    n = index // TILE_WIDTH
    return _tile(ENTRIES_LEVEL, n, min(TILE_WIDTH, size - n * TILE_WIDTH))


# --- tile contents -----------------------------------------------------------------------


def tile_contents(get_node: HashSource, tile: TilePath) -> bytes:
    """The bytes of a Merkle tile: its ``width`` hashes from Merkle level 8·level.

    Raises:
        ValueError: ``tile`` is an entry bundle, not a Merkle tile (a caller bug).
    """
    if tile.is_entries:
        raise ValueError("entry bundles are not made of hashes")
    first = tile.n * TILE_WIDTH
    level = TILE_HEIGHT * tile.level
    return b"".join(get_node(level, first + j) for j in range(tile.length))


def split_tile(data: bytes, tile: TilePath) -> list[bytes]:
    """The hashes of a Merkle tile, checking it holds exactly ``width`` of them.

    Raises:
        CheckpointError: ``data`` is not exactly ``tile.length`` 32-byte hashes long (a truncated or
            corrupt tile).
    """
    if len(data) != tile.length * HASH_SIZE:
        raise CheckpointError(
            f"{tile.path} is {len(data)} bytes; {tile.length} hashes are {tile.length * HASH_SIZE}"
        )
    return [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


TileReader = Callable[[TilePath], bytes]
"""Reads a tile or bundle by path (from a directory, a database or HTTP)."""


def hash_source_from_tiles(read_tile: TileReader, size: int) -> HashSource:
    """A ``HashSource`` for a tree of ``size`` backed by its tiles.

    Node (level, index) comes from tile level ``level // 8``; levels between tile levels are
    hashed up from up to 128 stored hashes.  Tiles are read once and kept for the source's
    lifetime (the tiles of one tree size never change).
    """
    cache: dict[TilePath, list[bytes]] = {}

    def stored(tile_level: int, hash_index: int) -> bytes:
        tile = tile_for(tile_level, hash_index, size)
        hashes = cache.get(tile)
        if hashes is None:
            hashes = split_tile(read_tile(tile), tile)
            cache[tile] = hashes
        return hashes[hash_index % TILE_WIDTH]

    def get_node(level: int, index: int) -> bytes:
        if level < 0 or index < 0 or (index + 1) << level > size:
            raise IndexError(f"no perfect subtree at level {level}, index {index} in {size}")
        tile_level, rise = divmod(level, TILE_HEIGHT)
        row = [stored(tile_level, (index << rise) + j) for j in range(1 << rise)]
        while len(row) > 1:
            row = [node_hash(row[i], row[i + 1]) for i in range(0, len(row), 2)]
        return row[0]

    return get_node


def read_leaf_hashes(read_tile: TileReader, size: int) -> list[bytes]:
    """All leaf hashes of a tree of ``size`` from its level-0 tiles."""
    hashes: list[bytes] = []
    for tile in tiles_for_size(size):
        if tile.level == 0:
            hashes.extend(split_tile(read_tile(tile), tile))
    return hashes


def root_from_tiles(read_tile: TileReader, size: int) -> bytes:
    """The tree root at ``size`` computed from the stored tiles (O(log n) tiles read)."""
    if size == 0:
        return EMPTY_ROOT
    return subtree_root(hash_source_from_tiles(read_tile, size), 0, size)


def tiles_for_append(
    old_size: int, new_leaf_hashes: Sequence[bytes], old_nodes: HashSource
) -> dict[TilePath, bytes]:
    """The Merkle tiles to write when ``new_leaf_hashes`` are appended to a tree of ``old_size``.

    ``old_nodes`` answers for perfect subtrees of the old tree (``hash_source_from_tiles`` over
    the stored tiles).  Returned: every tile whose contents differ at the new size — the old
    partial tiles grown (or completed) and the new ones — keyed by their new path.

    Raises:
        ValueError: a hash in ``new_leaf_hashes`` is not 32 bytes (a caller bug).
    """
    new_size = old_size + len(new_leaf_hashes)
    memo: dict[tuple[int, int], bytes] = {}

    def get_node(level: int, index: int) -> bytes:
        if (index + 1) << level <= old_size:
            return old_nodes(level, index)
        if level == 0:
            return new_leaf_hashes[index - old_size]
        key = (level, index)
        h = memo.get(key)
        if h is None:
            h = node_hash(get_node(level - 1, 2 * index), get_node(level - 1, 2 * index + 1))
            memo[key] = h
        return h

    for h in new_leaf_hashes:
        if len(h) != HASH_SIZE:
            raise ValueError("leaf hashes are 32 bytes")
    out: dict[TilePath, bytes] = {}
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        old_count = old_size >> (TILE_HEIGHT * level)
        new_count = new_size >> (TILE_HEIGHT * level)
        if new_count > old_count:
            for n in range(old_count // TILE_WIDTH, (new_count - 1) // TILE_WIDTH + 1):
                tile = tile_for(level, n * TILE_WIDTH, new_size)
                out[tile] = tile_contents(get_node, tile)
        level += 1
    return out


# --- entry bundles -----------------------------------------------------------------------


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Concatenate entries, each prefixed with its big-endian uint16 length.

    Raises:
        ValueError: an entry is empty or longer than ``MAX_ENTRY_BYTES`` (a caller bug).
    """
    out = bytearray()
    for entry in entries:
        if not 0 < len(entry) <= MAX_ENTRY_BYTES:
            raise ValueError(f"an entry is 1..{MAX_ENTRY_BYTES} bytes, not {len(entry)}")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_entry_bundle(data: bytes, expected: int | None = None) -> list[bytes]:
    """Split an entry bundle strictly: no truncated entry, no empty entry, no trailing bytes.

    ``expected`` (the bundle's width) is checked when given.

    Raises:
        CheckpointError: the bundle is truncated, holds an empty entry or more than 256 entries, or
            holds other than ``expected`` entries.
    """
    count, entries = _split_entry_bundle(data, keep=True)
    if expected is not None and count != expected:
        raise CheckpointError(f"entry bundle holds {count} entries; expected {expected}")
    return entries


def count_entry_bundle(data: bytes) -> int:
    """How many entries ``decode_entry_bundle`` finds in ``data``, by the same checks, without
    copying them out: the audit lines up the log's bundles before it needs their entries.

    Raises:
        CheckpointError: as ``decode_entry_bundle`` without ``expected``.
    """
    return _split_entry_bundle(data, keep=False)[0]


def _split_entry_bundle(data: bytes, *, keep: bool) -> tuple[int, list[bytes]]:
    """(how many entries, the entries if ``keep`` else none): the one reading of the format.

    Raises:
        CheckpointError: the bundle is truncated, holds an empty entry or more than 256 entries.
    """
    entries: list[bytes] = []
    append = entries.append  # an audit splits every bundle: a few operations an entry
    count, pos, size = 0, 0, len(data)
    while pos < size:
        start = pos + 2
        if start > size:
            raise CheckpointError(f"entry bundle is truncated inside a length prefix at byte {pos}")
        length = data[pos] << 8 | data[pos + 1]
        if length == 0:
            raise CheckpointError(f"entry bundle holds an empty entry at byte {pos}")
        pos = start + length
        if pos > size:
            raise CheckpointError(f"entry bundle is truncated inside entry {count}")
        count += 1
        if count > TILE_WIDTH:
            raise CheckpointError(f"entry bundle holds more than {TILE_WIDTH} entries")
        if keep:
            append(data[start:pos])
    return count, entries


def bundles_for_append(
    old_size: int, new_entries: Sequence[bytes], read_bundle: TileReader
) -> dict[TilePath, bytes]:
    """The entry bundles to write when ``new_entries`` follow a log of ``old_size``.

    ``read_bundle`` is asked only for the old partial bundle, which the batch extends.
    """
    new_size = old_size + len(new_entries)
    out: dict[TilePath, bytes] = {}
    if new_size == old_size:
        return out
    first = old_size // TILE_WIDTH
    carried: list[bytes] = []
    if old_size % TILE_WIDTH:
        old = TilePath(ENTRIES_LEVEL, first, old_size % TILE_WIDTH)
        carried = decode_entry_bundle(read_bundle(old), old.length)
    pending = [*carried, *new_entries]
    for n in range(first, (new_size - 1) // TILE_WIDTH + 1):
        chunk = pending[(n - first) * TILE_WIDTH : (n - first + 1) * TILE_WIDTH]
        out[_tile(ENTRIES_LEVEL, n, len(chunk))] = encode_entry_bundle(chunk)
    return out


# --- the audit bundle layout -------------------------------------------------------------


def checkpoint_history_path(ordinal: int) -> str:
    """``checkpoints/<12-digit ordinal>``; 0 is the oldest checkpoint.

    Raises:
        ValueError: ``ordinal`` is negative or does not fit 12 digits (a caller bug).
    """
    if not 0 <= ordinal < 10**12:
        raise ValueError(f"checkpoint ordinal {ordinal} does not fit 12 digits")
    return f"{CHECKPOINTS_DIR}/{ordinal:012d}"


def parse_checkpoint_history_name(name: str) -> int:
    """The ordinal of a file name in ``checkpoints/``.

    Raises:
        CheckpointError: ``name`` is not exactly 12 decimal digits.
    """
    if not _ORDINAL.fullmatch(name):
        raise CheckpointError(f"checkpoint file {name!r} is not a 12-digit ordinal")
    return int(name)


def blob_path(sha256_hex: str) -> str:
    """``blobs/<sha256 hex>``, lowercase.

    Raises:
        ValueError: ``sha256_hex`` is not 64 lowercase hex digits (a caller bug).
    """
    if not SHA256_HEX.fullmatch(sha256_hex):
        raise ValueError(f"{sha256_hex!r} is not a lowercase SHA-256 hex digest")
    return f"{BLOBS_DIR}/{sha256_hex}"


def parse_blob_name(name: str) -> str:
    """The digest named by a file in ``blobs/``.

    Raises:
        CheckpointError: ``name`` is not 64 lowercase hex digits.
    """
    if not SHA256_HEX.fullmatch(name):
        raise CheckpointError(f"blob file {name!r} is not a lowercase SHA-256 hex digest")
    return name


def bundle_files(entries: Sequence[bytes]) -> dict[str, bytes]:
    """Every Merkle tile and entry bundle of a log holding ``entries``, by relative path."""
    leaves = [leaf_hash(e) for e in entries]
    files = tiles_for_append(0, leaves, _no_nodes)
    files.update(bundles_for_append(0, entries, _no_nodes_reader))
    return {tile.path: data for tile, data in files.items()}


def _no_nodes(level: int, index: int) -> bytes:
    raise IndexError(f"the empty tree has no node at level {level}, index {index}")


def _no_nodes_reader(tile: TilePath) -> bytes:
    raise IndexError(f"the empty log has no {tile.path}")
