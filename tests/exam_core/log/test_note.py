"""C2SP signed notes: the Go sumdb and C2SP vectors, verifier rules, malformed notes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from exam_core.errors import KeyFormatError, NoteError
from exam_core.log.note import (
    MAX_SIGNATURES,
    Ed25519Signer,
    Ed25519Verifier,
    ed25519_verifier_from_vkey,
    encode_vkey,
    key_id,
    open_note,
    parse_note,
    parse_vkey,
    sign_note,
)
from tests.vector_files import VECTOR_DIR

VECTORS: dict[str, dict[str, Any]] = {
    v["id"]: v for v in json.loads((VECTOR_DIR / "signed_note_vectors.json").read_text())["vectors"]
}
PETER = VECTORS["go-sumdb-note-PeterNeumann"]
ENOCH = VECTORS["go-sumdb-note-EnochRoot"]
FOO = VECTORS["c2sp-signed-note-example"]
PETER_SIGNER = Ed25519Signer.from_seed("PeterNeumann", bytes.fromhex(PETER["ed25519_seed_hex"]))
PETER_KEY = ed25519_verifier_from_vkey(PETER["vkey"])
ENOCH_KEY = ed25519_verifier_from_vkey(ENOCH["vkey"])


def test_peter_neumann_signs_byte_exact_and_opens() -> None:
    assert PETER_SIGNER.vkey == PETER["vkey"]
    assert f"{PETER_SIGNER.key_id:08x}" == PETER["key_id_hex"]
    assert PETER_SIGNER.public_key.hex() == PETER["ed25519_public_key_hex"]
    note = sign_note(PETER["signed_text"].encode(), [PETER_SIGNER])
    assert note == PETER["full_note"].encode()
    opened, names = open_note(note, [PETER_KEY])
    assert opened.text == PETER["signed_text"].encode()
    assert names == ("PeterNeumann",)


def test_go_private_key_encoding_holds_the_same_seed() -> None:
    parts = PETER["skey_go_format"].split("+", 4)
    assert parts[:4] == ["PRIVATE", "KEY", "PeterNeumann", "c74f20a3"]
    assert base64.b64decode(parts[4]) == b"\x01" + bytes.fromhex(PETER["ed25519_seed_hex"])


def test_enoch_root_two_signature_note() -> None:
    note = ENOCH["two_signature_note"].encode()
    assert open_note(note, [PETER_KEY, ENOCH_KEY])[1] == ("PeterNeumann", "EnochRoot")
    # Only Peter known: Enoch's line is ignored.
    assert open_note(note, [PETER_KEY])[1] == ("PeterNeumann",)
    assert open_note(note, [ENOCH_KEY])[1] == ("EnochRoot",)
    assert f"{ENOCH_KEY.key_id:08x}" == ENOCH["key_id_hex"]


def test_c2sp_example() -> None:
    key = ed25519_verifier_from_vkey(FOO["vkey"])
    assert key.public_key.hex() == FOO["ed25519_public_key_hex"]
    note, names = open_note(FOO["full_note"].encode(), [key])
    assert note.text == FOO["signed_text"].encode()
    assert names == ("example.com/foo",)


def test_vkey_with_plus_in_base64() -> None:
    vector = VECTORS["sum.golang.org-production-vkey"]
    parsed = parse_vkey(vector["vkey"])
    assert "+" in vector["vkey"].split("+", 2)[2]
    assert parsed.name == "sum.golang.org"
    assert f"{parsed.key_id:08x}" == vector["key_id_hex"]
    assert encode_vkey(parsed.name, parsed.sigtype, parsed.public_key) == vector["vkey"]


def test_unknown_keys_are_ignored_but_one_must_verify() -> None:
    stranger = Ed25519Signer.from_seed("Stranger", bytes(32))
    note = sign_note(b"hello\n", [stranger, PETER_SIGNER])
    assert open_note(note, [PETER_KEY])[1] == ("PeterNeumann",)
    with pytest.raises(NoteError, match="no known key"):
        open_note(note, [ENOCH_KEY])
    # Same name, other key ID: not the known key, so ignored.
    impostor = Ed25519Signer.from_seed("PeterNeumann", bytes(32))
    with pytest.raises(NoteError, match="no known key"):
        open_note(sign_note(b"hello\n", [impostor]), [PETER_KEY])


def test_known_key_with_failing_signature_rejects_the_note() -> None:
    note = ENOCH["two_signature_note"].encode()
    text, _, sigs = note.partition(b"\n\n")
    # A line naming Peter's key ID but carrying Enoch's signature bytes.
    enoch_blob = base64.b64decode(ENOCH["signature_line"].split(" ")[2])
    bad_line = "— PeterNeumann ".encode() + base64.b64encode(
        PETER_KEY.key_id.to_bytes(4, "big") + enoch_blob[4:]
    )
    bad = text + b"\n\n" + bad_line + b"\n" + sigs.split(b"\n")[1] + b"\n"
    with pytest.raises(NoteError, match="does not verify"):
        open_note(bad, [PETER_KEY, ENOCH_KEY])
    tampered = PETER["full_note"].encode().replace(b"problem,", b"problem;")
    with pytest.raises(NoteError, match="does not verify"):
        open_note(tampered, [PETER_KEY])


def test_duplicate_known_line_is_refused() -> None:
    line = PETER["signature_line"].encode() + b"\n"
    note = PETER["full_note"].encode() + line
    with pytest.raises(NoteError, match="twice"):
        open_note(note, [PETER_KEY])


def test_sixteen_and_more_signatures_are_accepted() -> None:
    signers = [Ed25519Signer.from_seed(f"k{i}", bytes([i]) * 32) for i in range(20)]
    note = sign_note(b"many\n", signers)
    assert len(open_note(note, [s.verifier for s in signers])[1]) == 20
    assert open_note(note, [signers[17].verifier])[1] == ("k17",)
    too_many = sign_note(b"many\n", [signers[0]] * (MAX_SIGNATURES + 1))
    with pytest.raises(NoteError, match="more than"):
        parse_note(too_many)


def test_text_with_blank_lines_splits_at_the_last_one() -> None:
    text = b"para one\n\npara two\n"
    note = sign_note(text, [PETER_SIGNER])
    assert open_note(note, [PETER_KEY])[0].text == text


GOOD = PETER["full_note"].encode()
SIG = PETER["signature_line"].encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (GOOD[:-1], "newline"),
        (GOOD.replace(b"\n\n", b"\n"), "blank line"),
        (PETER["signed_text"].encode() + b"\n", "no signature"),
        (GOOD + b"trailing\n", "em dash"),
        (GOOD.replace("— ".encode(), b"- "), "em dash"),
        (GOOD.replace("— ".encode(), "—".encode()), "em dash"),
        (GOOD.replace(b"PeterNeumann ", b"Peter Neumann "), "name"),
        (GOOD.replace(b"PeterNeumann ", b"PeterNeumann  "), "name"),
        (GOOD.replace(b"PeterNeumann ", b"Peter+Neumann "), "name"),
        (GOOD.replace(b"x08go", b"x08g!"), "base64"),
        (GOOD.replace(b"x08go/ZJ", b"x08go/Z"), "base64"),
        (GOOD.replace(SIG, "— PeterNeumann AAAA".encode()), "short"),
        (GOOD.replace(b"answer", b"ans\x01wer"), "control"),
        (GOOD.replace(b"answer", b"ans\x7fwer"), "control"),
        (GOOD.replace(b"answer", b"ans\xc2\x85wer"), "control"),
        (GOOD.replace(b"answer", b"ans\rwer"), "control"),
        (GOOD.replace(b"answer", b"ans\xffwer"), "UTF-8"),
        (GOOD.replace(b"answer", b"ans\xedwer"), "UTF-8"),
        (b"", "newline"),
        (b"\n", "blank line"),
    ],
)
def test_malformed_notes(data: bytes, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        open_note(data, [PETER_KEY])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann",
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW!",
        "PeterNeumann+c74f20a3+AQ==",
        "PeterNeumann+xyzxyzxy+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_malformed_vkeys(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        parse_vkey(vkey)


def test_key_objects() -> None:
    assert Ed25519Verifier("PeterNeumann", PETER_SIGNER.public_key) == PETER_KEY
    assert key_id("PeterNeumann", 1, PETER_SIGNER.public_key) == PETER_SIGNER.key_id
    assert not PETER_KEY.verify(b"x\n", b"\x00" * 63)
    with pytest.raises(KeyFormatError):
        Ed25519Verifier("PeterNeumann", b"\x00" * 31)
    with pytest.raises(KeyFormatError):
        Ed25519Signer.from_seed("PeterNeumann", b"\x00" * 31)
    with pytest.raises(KeyFormatError):
        Ed25519Signer.generate("has space")
    with pytest.raises(KeyFormatError):
        ed25519_verifier_from_vkey(encode_vkey("w", 4, PETER_SIGNER.public_key))
    with pytest.raises(RuntimeError):
        sign_note(b"text\n", [])
    with pytest.raises(NoteError):
        sign_note(b"no newline", [PETER_SIGNER])
