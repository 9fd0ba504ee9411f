"""The RFC 6962 / RFC 9162 Merkle tree over SHA-256: hashing, appending, proofs, verification.

The log's tamper evidence rests on this module, and third parties must be able to check our
proofs with their own RFC 9162 verifiers, so it follows the standard to the byte:

    leaf hash  = SHA-256(0x00 ‖ entry bytes)
    node hash  = SHA-256(0x01 ‖ left ‖ right)
    MTH({})    = SHA-256("")
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

Trees are never rebuilt from all leaves on a request (DESIGN §3.3):

- ``MerkleFrontier`` keeps the O(log n) compact range of a growing tree (one hash per set bit
  of the size), so an append and a root cost O(log n) node hashes;
- proof generation reads node hashes through a ``HashSource``, a function
  ``get_node(level, index)`` returning the root of the *perfect* subtree covering leaves
  ``[index·2^level, (index+1)·2^level)``; the log store answers it from its stored tiles.

The verifiers are pure and strict (RFC 9162 §2.1.3.2, §2.1.4.2, and the rules the
transparency-dev/merkle probe corpus enforces): every hash is exactly 32 bytes, an inclusion
index is below the size, a proof has exactly the expected number of nodes, a consistency proof
from size 0 is refused, and equal sizes need an empty proof and equal roots.  ``verify_*``
raise ``ProofError``.

The subtree proofs of the Merkle Tree Certificates draft (``verify_subtree_inclusion``,
``verify_subtree_consistency``) are here too, for cosigners that sign a subtree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from exam_core.errors import ProofError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree: SHA-256 of the empty string."""

HashSource = Callable[[int, int], bytes]
"""``get_node(level, index)``: the hash of the perfect subtree over leaves
``[index·2^level, (index+1)·2^level)``; level 0 is the leaf hashes."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def leaf_hashes(entries: Iterable[bytes]) -> list[bytes]:
    """``leaf_hash`` of each entry, in one comprehension: the audit and the mirror hash every
    entry of a log, where a call per entry is a measurable share of the work."""
    sha256 = hashlib.sha256
    return [sha256(b"\x00" + data).digest() for data in entries]


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly less than ``size`` (``size`` ≥ 2).

    Raises:
        ValueError: ``size`` is below 2 (a caller bug).
    """
    if size < 2:
        raise ValueError("a tree of fewer than 2 leaves has no split")
    return 1 << ((size - 1).bit_length() - 1)


class MerkleFrontier:
    """The compact range of a growing tree: O(log n) appends and roots.

    It holds one hash per set bit of the size, the roots of the perfect subtrees that make up
    the tree from left to right (largest first).  Appending a leaf merges equal-sized subtrees
    like a binary counter; the root folds the stack from the right.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_subtree_hashes(cls, size: int, hashes: Sequence[bytes]) -> MerkleFrontier:
        """Resume a tree from the roots of its perfect subtrees, largest (leftmost) first.

        ``size`` fixes how many there are (one per set bit); the log store reads them from its
        tiles with ``frontier_nodes(size)``.

        Raises:
            ValueError: ``size`` is negative or ``hashes`` is not one hash per set bit of ``size``
                (a caller bug).
            ProofError: a hash is not 32 bytes.
        """
        if size < 0:
            raise ValueError("tree size is never negative")
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of size {size} has {size.bit_count()} perfect subtrees")
        for h in hashes:
            _check_hash(h, "subtree hash")
        frontier = cls()
        frontier._size = size
        frontier._hashes = list(hashes)
        return frontier

    @property
    def size(self) -> int:
        return self._size

    @property
    def subtree_hashes(self) -> tuple[bytes, ...]:
        """The roots of the perfect subtrees, largest (leftmost) first."""
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> None:
        """Append one leaf *hash* (not the entry bytes)."""
        _check_hash(leaf, "leaf hash")
        h = leaf
        size = self._size
        while size & 1:
            h = node_hash(self._hashes.pop(), h)
            size >>= 1
        self._hashes.append(h)
        self._size += 1

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the tree so far."""
        if not self._hashes:
            return EMPTY_ROOT
        h = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            h = node_hash(left, h)
        return h

    def copy(self) -> MerkleFrontier:
        twin = MerkleFrontier()
        twin._size = self._size
        twin._hashes = list(self._hashes)
        return twin


def frontier_nodes(size: int) -> list[tuple[int, int]]:
    """The (level, index) of each perfect subtree of a tree of ``size``, leftmost first."""
    nodes = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over a list of leaf hashes."""
    frontier = MerkleFrontier()
    frontier.extend(hashes)
    return frontier.root()


def hash_source_from_leaf_hashes(hashes: Sequence[bytes]) -> HashSource:
    """A ``HashSource`` over an in-memory list of leaf hashes (every level precomputed)."""
    levels: list[list[bytes]] = [list(hashes)]
    for h in levels[0]:
        _check_hash(h, "leaf hash")
    sha256 = hashlib.sha256  # node_hash inlined: an audit hashes one node per entry
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append(
            [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(below[::2], below[1::2], strict=False)  # odd: last waits
            ]
        )

    def get_node(level: int, index: int) -> bytes:
        if level >= len(levels) or not 0 <= index < len(levels[level]):
            raise IndexError(f"no perfect subtree at level {level}, index {index}")
        return levels[level][index]

    return get_node


def subtree_root(get_node: HashSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)`` from perfect-subtree hashes.

    ``start`` must be a multiple of the smallest power of two ≥ ``end − start`` (the ranges
    that occur in RFC 9162 proofs and in tiles are all of that shape).

    Raises:
        ValueError: the range is empty or negative, or is not the range of one subtree as above (a
            caller bug).
    """
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    width = 1 << (end - start - 1).bit_length()
    if start % width:
        raise ValueError(f"range [{start}, {end}) is not a subtree of the log")
    parts: list[bytes] = []
    pos = start
    while pos < end:
        level = (end - pos).bit_length() - 1
        parts.append(get_node(level, pos >> level))
        pos += 1 << level
    h = parts[-1]
    for left in reversed(parts[:-1]):
        h = node_hash(left, h)
    return h


def inclusion_proof(get_node: HashSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]), sibling first, root's child last.

    Raises:
        ValueError: ``index`` is not in ``[0, size)`` (a caller bug).
    """
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of size {size}")
    proof: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            proof.append(subtree_root(get_node, start + k, end))
            end = start + k
        else:
            proof.append(subtree_root(get_node, start, start + k))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def consistency_proof(get_node: HashSource, size1: int, size2: int) -> list[bytes]:
    """RFC 9162 PROOF(size1, D[size2]); ``0 < size1 ≤ size2``.

    Raises:
        ValueError: the sizes do not satisfy ``0 < size1 ≤ size2`` (a caller bug).
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from size {size1} to {size2}")
    proof: list[bytes] = []
    start, end, m, complete = 0, size2, size1, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(subtree_root(get_node, start + k, end))
            end = start + k
        else:
            proof.append(subtree_root(get_node, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(subtree_root(get_node, start, end))
    proof.reverse()
    return proof


# --- verification ------------------------------------------------------------------------


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, node in enumerate(proof):
        _check_hash(node, f"proof node {i}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    # transparency-dev/merkle proof/verify.go decompInclProof: the proof of ``index`` in a
    # tree of ``size`` has ``inner`` nodes below the point where the paths to ``index`` and to
    # the last leaf part, and ``border`` nodes above it (left siblings only).
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, node in enumerate(proof):
        seed = node_hash(node, seed) if index >> i & 1 else node_hash(seed, node)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, node in enumerate(proof):
        if index >> i & 1:
            seed = node_hash(node, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for node in proof:
        seed = node_hash(node, seed)
    return seed


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf`` at ``index`` in a tree of ``size``.

    Raises:
        ProofError: ``index`` is not in the tree, a hash is not 32 bytes, or the proof has the wrong
            number of nodes.
    """
    # (1) RFC 9162 §2.1.3.2: the index lies in the tree.
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not in a tree of size {size}")
    # (2) every hash is a SHA-256 output.
    _check_hash(leaf, "leaf hash")
    _check_proof(proof)
    # (3) the proof length is exactly what the index and size imply.
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} nodes; expected {inner + border}")
    # (4) fold the inner nodes by the index bits, then the border nodes as left siblings.
    h = _chain_inner(leaf, proof[:inner], index)
    return _chain_border_right(h, proof[inner:])


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size`` with ``root``.

    Raises:
        ProofError: the proof is malformed (as ``root_from_inclusion_proof``), ``root`` is not 32
            bytes, or the proof does not lead to ``root``.
    """
    _check_hash(root, "root")
    if root_from_inclusion_proof(leaf, index, size, proof) != root:
        raise ProofError(f"inclusion proof of index {index} does not lead to the root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (size1, root1) is a prefix of the tree (size2, root2).

    Raises:
        ProofError: the sizes are out of order or ``size1`` is 0, a hash is not 32 bytes, the proof
            has the wrong number of nodes (non-empty for equal sizes), or it does not rebuild
            ``root1`` and ``root2``.
    """
    # (1) sizes are ordered.
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size1 {size1} is not between 0 and size2 {size2}")
    # (2) a proof from the empty tree proves nothing (transparency-dev RootFromConsistency).
    if size1 == 0:
        raise ProofError("a consistency proof from size 0 is meaningless")
    # (3) equal sizes: nothing to prove but equal roots (compared as given, as the reference
    # verifier does; a checkpoint's root is 32 bytes by the time it gets here).
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError("roots differ for the same tree size")
        return
    # (4) every hash is a SHA-256 output.
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    _check_proof(proof)
    if not proof:
        raise ProofError("empty consistency proof between different sizes")
    # (5) the proof is the inclusion proof of leaf size1−1 in size2, from the level where
    # size1's rightmost perfect subtree sits; unless size1 is a power of two, its first node is
    # that subtree's root (RFC 9162 §2.1.4.2 steps 2–4).
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1
    inner -= shift
    if size1 == 1 << shift:
        seed, rest = root1, list(proof)
    else:
        seed, rest = proof[0], list(proof[1:])
    if len(rest) != inner + border:
        raise ProofError(
            f"consistency proof has {len(proof)} nodes; expected {len(proof) - len(rest)}"
            f" + {inner + border}"
        )
    mask = (size1 - 1) >> shift
    # (6) the left-hand nodes alone rebuild root1; all of them rebuild root2.
    h1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if h1 != root1:
        raise ProofError(f"consistency proof does not lead to the size-{size1} root")
    h2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if h2 != root2:
        raise ProofError(f"consistency proof does not lead to the size-{size2} root")


def check_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """``verify_inclusion`` as a yes/no answer, for reports that list every failure."""
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return False
    return True


def check_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> bool:
    """``verify_consistency`` as a yes/no answer, for reports that list every failure."""
    try:
        verify_consistency(size1, size2, proof, root1, root2)
    except ProofError:
        return False
    return True


# --- subtree proofs (Merkle Tree Certificates draft; transparency-dev/merkle) -------------


def _check_subtree(start: int, end: int) -> None:
    # A subtree [start, end) is a node of some tree: start is a multiple of the smallest power
    # of two ≥ end − start (so the range has no extra leaf to its left under that node).
    if not 0 <= start <= end:
        raise ProofError(f"subtree [{start}, {end}) has start after end")
    if start in (0, end):
        return
    width = 1 << (end - start - 1).bit_length()
    if start % width:
        raise ProofError(f"[{start}, {end}) is not a subtree: start is not a multiple of {width}")


def verify_subtree_inclusion(
    leaf: bytes, index: int, start: int, end: int, *, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` sits at ``index`` inside the subtree ``[start, end)`` with ``root``.

    Raises:
        ProofError: ``[start, end)`` is not a subtree, ``index`` lies outside it, a hash is not 32
            bytes, the proof is malformed, or it does not lead to ``root``.
    """
    _check_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"index {index} is outside the subtree [{start}, {end})")
    _check_hash(root, "subtree root")
    if root_from_inclusion_proof(leaf, index - start, end - start, proof) != root:
        raise ProofError(f"subtree inclusion proof of index {index} does not lead to the root")


def verify_subtree_consistency(
    start: int, end: int, size: int, *, proof: Sequence[bytes], subtree: bytes, root: bytes
) -> None:
    """Check that the subtree ``[start, end)`` with hash ``subtree`` is part of (size, root).

    Raises:
        ProofError: the range is not a subtree that fits the tree, a hash is not 32 bytes, the proof
            has the wrong number of nodes, or it does not rebuild ``subtree`` and ``root``.
    """
    # (1) the range is a subtree that fits in the tree.
    _check_subtree(start, end)
    if size < end:
        raise ProofError(f"subtree [{start}, {end}) does not fit a tree of size {size}")
    # (2) the empty subtree has the empty root and needs no proof.
    if start == end:
        if proof or subtree != EMPTY_ROOT:
            raise ProofError("an empty subtree has the empty root and an empty proof")
        return
    # (3) the subtree is the whole tree: nothing to prove but equal roots.
    if start == 0 and end == size:
        if proof:
            raise ProofError("the whole tree needs an empty consistency proof")
        if subtree != root:
            raise ProofError("subtree and tree roots differ for the same range")
        return
    _check_hash(subtree, "subtree root")
    _check_hash(root, "tree root")
    _check_proof(proof)
    if not proof:
        raise ProofError("empty subtree consistency proof")
    # (4) a subtree flush with the tree's right edge: one left sibling per level where its
    # ancestor is a right child.
    if end == size:
        level = ((end - 1) ^ start).bit_length()
        if len(proof) != (start >> level).bit_count():
            raise ProofError("subtree consistency proof has the wrong number of nodes")
        if _chain_border_right(subtree, proof) != root:
            raise ProofError("subtree consistency proof does not lead to the tree root")
        return
    # (5) otherwise the proof is a suffix of the inclusion proof of leaf end−1 in the tree,
    # from the level of the subtree's rightmost perfect subtree; unless the subtree is
    # perfect, its first node is that perfect subtree's root and the left-hand nodes inside
    # the subtree must rebuild the subtree hash.
    fork, border = _decompose(end - 1, size)
    shift = ((end - start) & -(end - start)).bit_length() - 1
    inner = fork - shift
    perfect = end - start == 1 << shift
    seed, rest = (subtree, list(proof)) if perfect else (proof[0], list(proof[1:]))
    if len(rest) != inner + border:
        raise ProofError("subtree consistency proof has the wrong number of nodes")
    mask = (end - 1) >> shift
    if not perfect:
        height = ((end - 1) ^ start).bit_length()
        sub_inner = min(height, fork) - shift
        sub_border = max(0, border - ((end - 1) >> height).bit_count())
        h1 = _chain_inner_right(seed, rest[:sub_inner], mask)
        h1 = _chain_border_right(h1, rest[inner : inner + sub_border])
        if h1 != subtree:
            raise ProofError("subtree consistency proof does not lead to the subtree root")
    h2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if h2 != root:
        raise ProofError("subtree consistency proof does not lead to the tree root")
