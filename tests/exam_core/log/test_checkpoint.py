"""tlog-checkpoint: the one body maker, the strict parser, log signatures."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exam_core.errors import CheckpointError
from exam_core.log.checkpoint import (
    MAX_CHECKPOINT_BYTES,
    Checkpoint,
    checkpoint_text,
    open_checkpoint,
    parse_checkpoint_text,
    sign_checkpoint,
    verify_checkpoint,
)
from exam_core.log.merkle import EMPTY_ROOT
from exam_core.log.note import Ed25519Signer, sign_note
from tests.vector_files import VECTOR_DIR

NOTE_VECTORS: list[dict[str, Any]] = json.loads(
    (VECTOR_DIR / "signed_note_vectors.json").read_text()
)["vectors"]
RFC_VECTORS: dict[str, Any] = json.loads((VECTOR_DIR / "rfc6962_vectors.json").read_text())
ORIGIN = "exam.example/audit-log"
ROOT8 = base64.b64decode("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=")
LOG = Ed25519Signer.from_seed(ORIGIN, bytes(range(32)))


def _vector(vid: str) -> dict[str, Any]:
    return next(v for v in NOTE_VECTORS if v["id"] == vid)


def test_c2sp_example_body_round_trips() -> None:
    example = RFC_VECTORS["checkpoint_example_c2sp"]
    cp = Checkpoint(example["origin"], example["size"], base64.b64decode(example["root_b64"]))
    text = checkpoint_text(cp)
    assert text == f"{example['origin']}\n{example['size']}\n{example['root_b64']}\n".encode()
    assert parse_checkpoint_text(text) == cp
    signed = _vector("c2sp-checkpoint-cosignature-format-example")["checkpoint"].encode()
    assert signed.startswith(text + b"\n")


def test_signed_checkpoint_matches_independent_implementation() -> None:
    # Published in research/tlog.md §5.1: made by aics-tlog with the same deterministic key.
    assert (
        LOG.vkey == "exam.example/audit-log+904ac43f+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    )
    note = sign_checkpoint(Checkpoint(ORIGIN, 8, ROOT8), [LOG])
    assert note == (
        b"exam.example/audit-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
        b"\xe2\x80\x94 exam.example/audit-log kErEP+wnaosMofSlCmVGk9UVQYfQJzbvWXcg5TrfZRRyigT5A8T3"
        b"LuBTNaG8zWcnI8QeYf2tmm3nV6f1ay4zHdkZfgU=\n"
    )
    assert verify_checkpoint(note, LOG.verifier) == Checkpoint(ORIGIN, 8, ROOT8)


def test_empty_tree_checkpoint() -> None:
    cp = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert checkpoint_text(cp).split(b"\n")[1] == b"0"
    assert verify_checkpoint(sign_checkpoint(cp, [LOG]), [LOG.verifier]) == cp


GOOD = b"exam.example/audit-log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (GOOD[:-1], "newline"),
        (b"exam.example/audit-log\n8\n", "lines"),
        (GOOD + b"extension line\n", "extension"),
        (GOOD.replace(b"\n8\n", b"\n08\n"), "leading zeros"),
        (GOOD.replace(b"\n8\n", b"\n+8\n"), "decimal"),
        (GOOD.replace(b"\n8\n", b"\n-8\n"), "decimal"),
        (GOOD.replace(b"\n8\n", b"\n 8\n"), "decimal"),
        (GOOD.replace(b"\n8\n", b"\n\n"), "decimal"),
        (GOOD.replace(b"\n8\n", b"\n99999999999999999999\n"), "decimal"),
        (GOOD.replace(b"\n8\n", b"\n9223372036854775808\n"), "out of range"),
        (GOOD.replace(b"Qyg=", b"Qyg"), "base64"),
        (GOOD.replace(b"Qyg=", b"Qyh="), "canonical"),
        (GOOD.replace(b"XcnaeacG", b""), "bytes"),
        (GOOD.replace(b"exam.example/audit-log", b"exam example"), "origin"),
        (GOOD.replace(b"exam.example/audit-log", b"a+b"), "origin"),
        (GOOD.replace(b"exam.example/audit-log", b""), "origin"),
        (GOOD.replace(b"exam.example/audit-log", b"exam\x01"), "control"),
        (GOOD.replace(b"exam.example/audit-log", b"\xff\xfe"), "UTF-8"),
    ],
)
def test_malformed_bodies_are_refused(text: bytes, reason: str) -> None:
    with pytest.raises(CheckpointError, match=reason):
        parse_checkpoint_text(text)


def test_go_sumdb_tree_note_is_not_one_of_ours() -> None:
    formatted = _vector("go-sumdb-tree-format")["formatted"].encode()
    with pytest.raises(CheckpointError, match="origin"):
        parse_checkpoint_text(formatted)


def test_verify_checkpoint_refusals() -> None:
    cp = Checkpoint(ORIGIN, 8, ROOT8)
    note = sign_checkpoint(cp, [LOG])
    other = Ed25519Signer.from_seed(ORIGIN, bytes(32))
    with pytest.raises(CheckpointError, match="no known key"):
        verify_checkpoint(note, other.verifier)
    tampered = note.replace(b"\n8\n", b"\n9\n")
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_checkpoint(tampered, LOG.verifier)
    impostor = Ed25519Signer.from_seed("exam.example/other-log", bytes(32))
    foreign = sign_note(checkpoint_text(cp), [impostor])
    with pytest.raises(CheckpointError, match="another name"):
        verify_checkpoint(foreign, impostor.verifier)
    with pytest.raises(CheckpointError, match="over"):
        verify_checkpoint(note + b"x" * MAX_CHECKPOINT_BYTES, LOG.verifier)
    with pytest.raises(CheckpointError):
        verify_checkpoint(b"\xff" + note, LOG.verifier)
    with pytest.raises(RuntimeError):
        sign_checkpoint(cp, [impostor])


def test_rotation_window_signs_with_both_keys() -> None:
    cp = Checkpoint(ORIGIN, 8, ROOT8)
    new = Ed25519Signer.from_seed(ORIGIN, bytes(range(1, 33)))
    note = sign_checkpoint(cp, [LOG, new])
    assert verify_checkpoint(note, LOG.verifier) == cp
    assert verify_checkpoint(note, new.verifier) == cp
    _, _, signers = open_checkpoint(note, [LOG.verifier, new.verifier])
    assert signers == (ORIGIN, ORIGIN)


def test_checkpoint_values_are_checked() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, -1, ROOT8)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT8[:31])
    with pytest.raises(CheckpointError):
        Checkpoint("has space", 1, ROOT8)
    with pytest.raises(CheckpointError, match="control"):
        Checkpoint("exam\x9f", 1, ROOT8)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_hostile_bodies_raise_only_our_error(data: bytes) -> None:
    try:
        cp = parse_checkpoint_text(data)
    except CheckpointError:
        return
    assert checkpoint_text(cp) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_hostile_notes_raise_only_our_error(data: bytes) -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(GOOD + b"\n" + data, LOG.verifier)
