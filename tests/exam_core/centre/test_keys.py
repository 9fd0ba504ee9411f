"""Key files: mode 0600, optional passphrase, and refusal of anything else."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from exam_core.centre.keys import MAX_KEY_FILE_BYTES, read_key_file, write_key_file
from exam_core.errors import KeyFormatError
from exam_core.log.note import Ed25519Signer

NAME = "exam.example/c/1/tablet/T017"


def test_key_file_round_trip_with_mode_0600(tmp_path: Path) -> None:
    signer = Ed25519Signer.generate(NAME)
    path = tmp_path / "k.pem"
    write_key_file(path, signer)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = read_key_file(path, NAME)
    assert loaded.vkey == signer.vkey
    assert loaded.sign(b"x") == signer.sign(b"x")  # Ed25519 is deterministic


def test_mode_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        write_key_file(tmp_path / "k.pem", Ed25519Signer.generate(NAME))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_passphrase_protects_the_key(tmp_path: Path) -> None:
    signer = Ed25519Signer.generate(NAME)
    path = tmp_path / "k.pem"
    write_key_file(path, signer, passphrase=b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert read_key_file(path, NAME, passphrase=b"correct horse").vkey == signer.vkey
    with pytest.raises(KeyFormatError):
        read_key_file(path, NAME, passphrase=b"wrong")
    with pytest.raises(KeyFormatError):
        read_key_file(path, NAME)


def test_unencrypted_key_with_a_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, Ed25519Signer.generate(NAME))
    with pytest.raises(KeyFormatError):
        read_key_file(path, NAME, passphrase=b"unexpected")


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, Ed25519Signer.generate(NAME))
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_key_file(path, Ed25519Signer.generate(NAME))
    assert path.read_bytes() == before


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o666])
def test_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, Ed25519Signer.generate(NAME))
    path.chmod(mode)
    with pytest.raises(KeyFormatError, match="group or others"):
        read_key_file(path, NAME)


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"x" * (MAX_KEY_FILE_BYTES + 1),
    ],
    ids=["empty", "garbage", "truncated-pem", "oversized"],
)
def test_malformed_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k.pem"
    _write_private(path, content)
    with pytest.raises(KeyFormatError):
        read_key_file(path, NAME)


def test_key_of_another_algorithm_is_refused(tmp_path: Path) -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = tmp_path / "k.pem"
    _write_private(path, pem)
    with pytest.raises(KeyFormatError, match="Ed25519"):
        read_key_file(path, NAME)


def test_missing_file_and_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyFormatError, match="no key file"):
        read_key_file(tmp_path / "absent.pem", NAME)
    folder = tmp_path / "dir.pem"
    folder.mkdir(mode=0o700)
    with pytest.raises(KeyFormatError, match="regular file"):
        read_key_file(folder, NAME)


def test_invalid_key_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    write_key_file(path, Ed25519Signer.generate(NAME))
    with pytest.raises(KeyFormatError):
        read_key_file(path, "has space")
