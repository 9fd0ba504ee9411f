"""tlog-proof receipts: layout, strict parsing, verification against a policy."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import CheckpointError, ProofError
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.cosignature import CosignatureSigner, add_cosignatures, cosign_checkpoint
from exam_core.log.merkle import (
    hash_source_from_leaf_hashes,
    inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import Policy
from exam_core.log.tlog_proof import (
    MAX_PROOF_LINES,
    MAX_RECEIPT_BYTES,
    Receipt,
    make_receipt,
    parse_receipt,
    verify_receipt,
)

ORIGIN = "exam.example/c/370100-01"
LOG = Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))
W = [
    CosignatureSigner.from_seed(f"w.example/{i}", bytes([i]) * 32, lambda: 1_790_000_000)
    for i in (1, 2)
]
ENTRIES = [b"entry %d\n" % i for i in range(13)]
LEAVES = [leaf_hash(e) for e in ENTRIES]
SOURCE = hash_source_from_leaf_hashes(LEAVES)
POLICY = Policy.build(log=LOG.vkey, witnesses=[w.vkey for w in W], quorum=2)


def _checkpoint(size: int, witnesses: list[CosignatureSigner]) -> bytes:
    note = sign_checkpoint(Checkpoint(ORIGIN, size, root_from_leaf_hashes(LEAVES[:size])), [LOG])
    return add_cosignatures(note, [cosign_checkpoint(note, LOG.verifier, w) for w in witnesses])


NOTE = _checkpoint(13, W)


def test_layout_and_round_trip() -> None:
    path = inclusion_proof(SOURCE, 5, 13)
    receipt = make_receipt(5, path, NOTE, extra=b"vrf proof")
    lines = receipt.split(b"\n")
    assert lines[0] == b"c2sp.org/tlog-proof@v1"
    assert lines[1] == b"extra " + base64.b64encode(b"vrf proof")
    assert lines[2] == b"index 5"
    assert lines[3 : 3 + len(path)] == [base64.b64encode(h) for h in path]
    assert receipt.endswith(b"\n\n" + NOTE)
    assert parse_receipt(receipt) == Receipt(5, tuple(path), NOTE, b"vrf proof")
    assert parse_receipt(make_receipt(5, path, NOTE)).extra is None


def test_every_entry_verifies() -> None:
    for index, entry in enumerate(ENTRIES):
        receipt = make_receipt(index, inclusion_proof(SOURCE, index, 13), NOTE)
        assert verify_receipt(receipt, entry, POLICY).size == 13


def test_single_entry_tree_has_an_empty_path() -> None:
    note = _checkpoint(1, W)
    receipt = make_receipt(0, [], note)
    assert b"index 0\n\n" in receipt
    verify_receipt(receipt, ENTRIES[0], POLICY)


def test_verification_failures() -> None:
    path = inclusion_proof(SOURCE, 5, 13)
    good = make_receipt(5, path, NOTE)
    with pytest.raises(ProofError):
        verify_receipt(good, ENTRIES[6], POLICY)
    with pytest.raises(ProofError):
        verify_receipt(make_receipt(6, path, NOTE), ENTRIES[5], POLICY)
    with pytest.raises(ProofError):
        verify_receipt(make_receipt(5, path[:-1], NOTE), ENTRIES[5], POLICY)
    with pytest.raises(ProofError):
        verify_receipt(make_receipt(13, path, NOTE), ENTRIES[5], POLICY)
    with pytest.raises(CheckpointError, match="quorum"):
        verify_receipt(make_receipt(5, path, _checkpoint(13, W[:1])), ENTRIES[5], POLICY)
    other = Policy.build(log=Ed25519Signer.from_seed(ORIGIN, bytes(32)).vkey)
    with pytest.raises(CheckpointError):
        verify_receipt(good, ENTRIES[5], other)
    tampered = good.replace(b"\n13\n", b"\n14\n")
    with pytest.raises(CheckpointError):
        verify_receipt(tampered, ENTRIES[5], POLICY)


H = base64.b64encode(bytes(32))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"c2sp.org/tlog-proof@v1\nindex 0\n" + H, "blank line"),
        (b"c2sp.org/tlog-proof@v1\nindex 0\n\n", "no checkpoint"),
        (b"c2sp.org/tlog-proof@v2\nindex 0\n\nx", "start"),
        (b"\nc2sp.org/tlog-proof@v1\nindex 0\n\nx", "start"),
        (b"c2sp.org/tlog-proof@v1\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex 01\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex -1\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex  1\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\nIndex 1\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\n" + H + b"\nindex 1\n\nx", "index"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\nextra AA==\n\nx", "proof line 1"),
        (b"c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n\nx", "extra"),
        (b"c2sp.org/tlog-proof@v1\nextra \nindex 1\n\nx", "extra"),
        (b"c2sp.org/tlog-proof@v1\nextra AB==\nindex 1\n\nx", "extra"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n" + H[:-4] + b"\n\nx", "proof line 1"),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n" + H + b" \n\nx", "proof line 1"),
        (
            b"c2sp.org/tlog-proof@v1\nindex 1\n" + (H + b"\n") * (MAX_PROOF_LINES + 1) + b"\nx",
            "more than",
        ),
        (b"c2sp.org/tlog-proof@v1\nindex 1\n\n" + b"x" * MAX_RECEIPT_BYTES, "over"),
    ],
)
def test_malformed_receipts(data: bytes, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        parse_receipt(data)


def test_make_receipt_refuses_impossible_input() -> None:
    with pytest.raises(ValueError):
        make_receipt(-1, [], NOTE)
    with pytest.raises(ValueError):
        make_receipt(0, [b"short"], NOTE)
    with pytest.raises(ValueError):
        make_receipt(0, [], NOTE, extra=b"")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_hostile_receipts_raise_only_our_errors(data: bytes) -> None:
    with pytest.raises((CheckpointError, ProofError)):
        verify_receipt(b"c2sp.org/tlog-proof@v1\n" + data, ENTRIES[0], POLICY)
