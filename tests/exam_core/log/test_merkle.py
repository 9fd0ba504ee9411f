"""RFC 6962 / RFC 9162 Merkle tree: the published vectors, proof generation, the frontier."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import ProofError
from exam_core.log.merkle import (
    EMPTY_ROOT,
    MerkleFrontier,
    check_consistency,
    check_inclusion,
    consistency_proof,
    frontier_nodes,
    hash_source_from_leaf_hashes,
    inclusion_proof,
    leaf_hash,
    leaf_hashes,
    node_hash,
    root_from_leaf_hashes,
    subtree_root,
    verify_consistency,
    verify_inclusion,
)
from tests.vector_files import VECTOR_DIR

VECTORS: dict[str, Any] = json.loads((VECTOR_DIR / "rfc6962_vectors.json").read_text())
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaf_inputs_hex"]]
LEAF_HASHES = [leaf_hash(d) for d in LEAVES]
SOURCE = hash_source_from_leaf_hashes(LEAF_HASHES)


def _h(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _reference_root(hashes: list[bytes]) -> bytes:
    # The recursive definition of RFC 6962 §2.1, written out independently of the module.
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node_hash(_reference_root(hashes[:k]), _reference_root(hashes[k:]))


def test_leaf_and_node_hashes_match_vectors() -> None:
    assert [h.hex() for h in LEAF_HASHES] == VECTORS["leaf_hashes_hex"]
    level = LEAF_HASHES
    for name in ("level1", "level2", "level3"):
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
        assert [h.hex() for h in level] == VECTORS["node_hashes_hex"][name]


def test_roots_for_every_size_match_vectors() -> None:
    assert EMPTY_ROOT.hex() == VECTORS["roots_by_tree_size_hex"]["0"]
    for size, root in VECTORS["roots_by_tree_size_hex"].items():
        assert root_from_leaf_hashes(LEAF_HASHES[: int(size)]).hex() == root
        frontier = MerkleFrontier()
        frontier.extend(LEAF_HASHES[: int(size)])
        assert frontier.root().hex() == root
        if int(size):
            assert subtree_root(SOURCE, 0, int(size)).hex() == root


@pytest.mark.parametrize("table", ["published_inclusion_proofs", "derived_all_inclusion_proofs"])
def test_inclusion_proofs_generate_and_verify(table: str) -> None:
    for case in VECTORS[table]:
        index, size = case["index"], case["tree_size"]
        source = hash_source_from_leaf_hashes(LEAF_HASHES[:size])
        proof = inclusion_proof(source, index, size)
        assert proof == _h(case["proof"]), (index, size)
        verify_inclusion(LEAF_HASHES[index], index, size, proof, bytes.fromhex(case["root"]))


@pytest.mark.parametrize(
    "table", ["published_consistency_proofs", "derived_all_consistency_proofs"]
)
def test_consistency_proofs_generate_and_verify(table: str) -> None:
    for case in VECTORS[table]:
        size1, size2 = case["size1"], case["size2"]
        proof = consistency_proof(SOURCE, size1, size2)
        assert proof == _h(case["proof"]), (size1, size2)
        verify_consistency(
            size1, size2, proof, bytes.fromhex(case["root1"]), bytes.fromhex(case["root2"])
        )


def test_published_vectors_are_all_there() -> None:
    assert len(VECTORS["published_inclusion_proofs"]) == 7
    assert len(VECTORS["published_consistency_proofs"]) == 5
    assert len(VECTORS["derived_all_inclusion_proofs"]) == 36
    assert len(VECTORS["derived_all_consistency_proofs"]) == 36


def test_inclusion_refusals() -> None:
    root = root_from_leaf_hashes(LEAF_HASHES)
    proof = inclusion_proof(SOURCE, 5, 8)
    verify_inclusion(LEAF_HASHES[5], 5, 8, proof, root)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(LEAF_HASHES[5], 8, 8, proof, root)
    with pytest.raises(ProofError, match="not in a tree"):
        verify_inclusion(LEAF_HASHES[5], -1, 8, proof, root)
    with pytest.raises(ProofError, match="expected 3"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, [*proof, proof[0]], root)
    with pytest.raises(ProofError, match="expected 3"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, proof[:2], root)
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(LEAF_HASHES[5][:31], 5, 8, proof, root)
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, [proof[0] + b"\x00", *proof[1:]], root)
    with pytest.raises(ProofError, match="32"):
        verify_inclusion(LEAF_HASHES[5], 5, 8, proof, root[:16])
    with pytest.raises(ProofError, match="does not lead"):
        verify_inclusion(LEAF_HASHES[4], 5, 8, proof, root)
    assert check_inclusion(LEAF_HASHES[5], 5, 8, proof, root)
    assert not check_inclusion(LEAF_HASHES[5], 5, 8, proof[::-1], root)


def test_consistency_refusals() -> None:
    root6 = root_from_leaf_hashes(LEAF_HASHES[:6])
    root8 = root_from_leaf_hashes(LEAF_HASHES)
    proof = consistency_proof(SOURCE, 6, 8)
    verify_consistency(6, 8, proof, root6, root8)
    with pytest.raises(ProofError, match="size 0"):
        verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    with pytest.raises(ProofError, match="size 0"):
        verify_consistency(0, 8, [], EMPTY_ROOT, root8)
    with pytest.raises(ProofError, match="between"):
        verify_consistency(8, 6, proof, root8, root6)
    with pytest.raises(ProofError, match="empty consistency proof"):
        verify_consistency(8, 8, proof, root8, root8)
    with pytest.raises(ProofError, match="roots differ"):
        verify_consistency(6, 6, [], root6, root8)
    with pytest.raises(ProofError, match="empty consistency proof between"):
        verify_consistency(6, 8, [], root6, root8)
    with pytest.raises(ProofError, match="nodes"):
        verify_consistency(6, 8, proof[:-1], root6, root8)
    with pytest.raises(ProofError, match="size-6 root"):
        verify_consistency(6, 8, proof, root8, root8)
    with pytest.raises(ProofError, match="size-8 root"):
        verify_consistency(6, 8, proof, root6, root6)
    assert check_consistency(6, 8, proof, root6, root8)
    assert not check_consistency(6, 8, proof[::-1], root6, root8)


def test_generators_refuse_impossible_requests() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(SOURCE, 8, 8)
    with pytest.raises(ValueError):
        consistency_proof(SOURCE, 0, 8)
    with pytest.raises(ValueError):
        consistency_proof(SOURCE, 5, 4)
    with pytest.raises(ValueError):
        subtree_root(SOURCE, 2, 6)
    with pytest.raises(IndexError):
        SOURCE(0, 8)


def test_frontier_resumes_from_its_subtree_hashes() -> None:
    frontier = MerkleFrontier()
    for i, h in enumerate(LEAF_HASHES[:7]):
        frontier.append(h)
        assert frontier.size == i + 1
    nodes = frontier_nodes(7)
    assert nodes == [(2, 0), (1, 2), (0, 6)]
    assert list(frontier.subtree_hashes) == [SOURCE(level, index) for level, index in nodes]
    resumed = MerkleFrontier.from_subtree_hashes(7, [SOURCE(lv, ix) for lv, ix in nodes])
    twin = resumed.copy()
    resumed.append(LEAF_HASHES[7])
    assert resumed.root().hex() == VECTORS["roots_by_tree_size_hex"]["8"]
    assert twin.size == 7
    assert twin.root().hex() == VECTORS["roots_by_tree_size_hex"]["7"]
    with pytest.raises(ValueError):
        MerkleFrontier.from_subtree_hashes(7, [EMPTY_ROOT])
    with pytest.raises(ProofError):
        frontier.append(b"short")


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_random_trees_agree_with_reference(size: int, data: st.DataObject) -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    source = hash_source_from_leaf_hashes(hashes)
    root = _reference_root(hashes)
    assert root_from_leaf_hashes(hashes) == root
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(source, index, size)
    verify_inclusion(hashes[index], index, size, proof, root)
    if proof:
        flipped = bytes([proof[-1][0] ^ 1]) + proof[-1][1:]
        assert not check_inclusion(hashes[index], index, size, [*proof[:-1], flipped], root)
    size1 = data.draw(st.integers(min_value=1, max_value=size))
    root1 = _reference_root(hashes[:size1])
    cproof = consistency_proof(source, size1, size)
    verify_consistency(size1, size, cproof, root1, root)
    if size1 < size:
        assert not check_consistency(size1, size, cproof, root, root)


def test_leaf_hashes_are_each_entrys_leaf_hash() -> None:
    entries = [b"", b"\x00", b"entry one", bytes(range(256))]
    assert leaf_hashes(entries) == [leaf_hash(e) for e in entries]
    assert leaf_hashes(b"x" for _ in range(3)) == [leaf_hash(b"x")] * 3
    assert leaf_hashes([]) == []
