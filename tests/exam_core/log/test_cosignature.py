"""tlog-cosignature ``cosignature/v1``: witness lines, mixed verification, quorum."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from exam_core.errors import CheckpointError, KeyFormatError
from exam_core.log.checkpoint import Checkpoint, checkpoint_text, sign_checkpoint
from exam_core.log.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignatures,
    cosign_checkpoint,
    cosignature_timestamp,
    cosignature_timestamps,
    cosignature_verifier_from_vkey,
    cosigned_message,
    verified_witnesses,
    verifier_from_vkey,
    verify_cosignature_freshness,
    verify_witness_quorum,
)
from exam_core.log.note import Ed25519Signer, Ed25519Verifier, key_id, open_note, parse_note
from tests.vector_files import VECTOR_DIR

NOTE_VECTORS: list[dict[str, Any]] = json.loads(
    (VECTOR_DIR / "signed_note_vectors.json").read_text()
)["vectors"]
EXAMPLE = next(v for v in NOTE_VECTORS if v["id"] == "c2sp-checkpoint-cosignature-format-example")
ORIGIN = "exam.example/audit-log"
ROOT8 = base64.b64decode("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
LOG = Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))
TS = 1_767_000_000
W1 = CosignatureSigner.from_seed("witness.example/w1", bytes(range(32, 64)), clock=lambda: TS)
W2 = CosignatureSigner.from_seed("witness.example/w2", bytes(range(64, 96)), clock=lambda: TS)
W3 = CosignatureSigner.from_seed("witness.example/w3", bytes(range(96, 128)), clock=lambda: TS)
CP = Checkpoint(ORIGIN, 8, ROOT8)
NOTE = sign_checkpoint(CP, [LOG])


def test_c2sp_example_decodes() -> None:
    note = parse_note(EXAMPLE["checkpoint"].encode())
    witness = note.signatures[1]
    decoded = EXAMPLE["witness_sig_decoded"]
    assert f"{witness.key_id:08x}" == decoded["key_id_hex"]
    assert 4 + len(witness.signature) == decoded["total_len"]
    assert cosignature_timestamp(witness.signature) == decoded["timestamp"]
    assert (
        cosigned_message(note.text, decoded["timestamp"])
        == EXAMPLE["cosigned_message_example"].encode()
    )


def test_cosignature_matches_independent_implementation() -> None:
    # research/tlog.md §5.1: the same deterministic witness key, signed by aics-tlog.
    assert W1.vkey == "witness.example/w1+20324abe+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
    line = cosign_checkpoint(NOTE, LOG.verifier, W1)
    assert (
        line
        == (
            "— witness.example/w1 IDJKvgAAAABpUkfAmvS/HlQ178r8VfPGcpwXy/GiWKfUnkfEyqYJ/"
            "HbsMvKagZGKZZlEEUMdY+LoT0Xalrhv/DXiMGBftM4O8aj2AA==\n"
        ).encode()
    )
    assert W1.key_id == key_id(W1.name, 0x04, W1.public_key)
    assert W1.key_id != key_id(W1.name, 0x01, W1.public_key)


def test_quorum_counts_distinct_known_witnesses() -> None:
    lines = [cosign_checkpoint(NOTE, LOG.verifier, w) for w in (W1, W2)]
    full = add_cosignatures(NOTE, lines)
    witnesses = [W1.verifier, W2.verifier, W3.verifier]
    cp, signed = verify_witness_quorum(full, LOG.verifier, witnesses, 2)
    assert cp == CP
    assert signed == ("witness.example/w1", "witness.example/w2")
    with pytest.raises(CheckpointError, match="quorum is 3"):
        verify_witness_quorum(full, LOG.verifier, witnesses, 3)
    assert verify_witness_quorum(NOTE, LOG.verifier, witnesses, 0)[1] == ()
    assert cosignature_timestamps(full, witnesses) == {W1.name: TS, W2.name: TS}
    # open_note takes log and witness verifiers side by side.
    _, names = open_note(full, [LOG.verifier, W2.verifier])
    assert names == (ORIGIN, W2.name)


def test_bad_or_duplicate_witness_lines() -> None:
    line = cosign_checkpoint(NOTE, LOG.verifier, W1)
    with pytest.raises(CheckpointError, match="already signed"):
        add_cosignatures(add_cosignatures(NOTE, [line]), [line])
    with pytest.raises(CheckpointError, match="one"):
        add_cosignatures(NOTE, [line + line])
    with pytest.raises(CheckpointError, match="one"):
        add_cosignatures(NOTE, [line[:-1]])
    with pytest.raises(CheckpointError, match="malformed"):
        add_cosignatures(NOTE, ["— witness.example/w1 !!!\n".encode()])
    # A line cosigning another size fails for a known witness and rejects the whole note.
    other = sign_checkpoint(Checkpoint(ORIGIN, 9, ROOT8), [LOG])
    stale = cosign_checkpoint(other, LOG.verifier, W1)
    forged = add_cosignatures(NOTE, [stale])
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_witness_quorum(forged, LOG.verifier, [W1.verifier], 1)
    # A witness key cannot stand in for the log, nor the reverse.
    with pytest.raises(CheckpointError):
        verify_witness_quorum(add_cosignatures(NOTE, [line]), W1.verifier, [], 0)


def test_cosignature_verifier_rules() -> None:
    text = checkpoint_text(CP)
    sig = W1.sign(text)
    verifier = W1.verifier
    assert verifier.verify(text, sig)
    assert not verifier.verify(text + b"x", sig)
    assert not verifier.verify(text, sig[:-1])
    too_late = (2**63).to_bytes(8, "big") + sig[8:]
    assert not verifier.verify(text, too_late)
    with pytest.raises(CheckpointError):
        cosignature_timestamp(too_late)
    with pytest.raises(CheckpointError):
        cosignature_timestamp(sig[:10])
    with pytest.raises(CheckpointError):
        cosigned_message(text, -1)
    shifted = (TS + 1).to_bytes(8, "big") + sig[8:]
    assert not verifier.verify(text, shifted)


def test_vkeys() -> None:
    assert cosignature_verifier_from_vkey(W1.vkey) == W1.verifier
    assert isinstance(verifier_from_vkey(W1.vkey), CosignatureVerifier)
    assert isinstance(verifier_from_vkey(LOG.vkey), Ed25519Verifier)
    with pytest.raises(KeyFormatError):
        cosignature_verifier_from_vkey(LOG.vkey)
    with pytest.raises(KeyFormatError):
        CosignatureVerifier("w", b"short")


def test_witness_named_as_log_is_a_caller_bug() -> None:
    clash = CosignatureSigner.from_seed(ORIGIN, bytes(32), clock=lambda: TS)
    with pytest.raises(RuntimeError):
        verified_witnesses(NOTE, LOG.verifier, [clash.verifier])


def test_freshness_bounds() -> None:
    full = add_cosignatures(NOTE, [cosign_checkpoint(NOTE, LOG.verifier, W1)])
    witnesses = [W1.verifier, W2.verifier]
    assert verify_cosignature_freshness(full, witnesses, TS + 60, max_age=60) == {W1.name: TS}
    assert verify_cosignature_freshness(full, witnesses, TS - 30, max_age=60) == {W1.name: TS}
    with pytest.raises(CheckpointError, match="old"):
        verify_cosignature_freshness(full, witnesses, TS + 61, max_age=60)
    with pytest.raises(CheckpointError, match="future"):
        verify_cosignature_freshness(full, witnesses, TS - 31, max_age=60)
    assert verify_cosignature_freshness(full, [W2.verifier], TS + 10**6, max_age=60) == {}
