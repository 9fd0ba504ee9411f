"""Private key files of a centre: one Ed25519 key per file, readable by its owner only.

A signing key is the actor's identity in the log (DESIGN §3.2), so the file that holds it is
created with mode 0600 and a key file that the group or others can read is refused rather than
used: a key that may have leaked must be revoked, not silently trusted.  Files are PKCS#8 PEM,
optionally encrypted under a passphrase with the best scheme ``cryptography`` offers, so that
standard tools (``openssl pkey``) can read them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exam_core.errors import InputFileError, KeyFormatError
from exam_core.input_file import read_input_file
from exam_core.log.note import Ed25519Signer

KEY_FILE_MODE = 0o600
MAX_KEY_FILE_BYTES = 16_384
"""An Ed25519 PKCS#8 PEM is a few hundred bytes even when encrypted."""


def _owner_only(path: Path) -> Callable[[os.stat_result], None]:
    def check(info: os.stat_result) -> None:
        if info.st_mode & 0o077:
            raise KeyFormatError(
                f"key file {path} is accessible by group or others "
                f"(mode {info.st_mode & 0o777:o}); a key that may have leaked must be revoked, "
                "not used"
            )

    return check


def write_key_file(path: Path, signer: Ed25519Signer, passphrase: bytes | None = None) -> None:
    """Write ``signer``'s private key to a new file ``path`` (mode 0600, never overwritten)."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    # O_EXCL: an existing key is never replaced by accident; the mode is set at creation so
    # there is no instant at which the key is readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        os.fchmod(fd, KEY_FILE_MODE)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_key_file(path: Path, name: str, passphrase: bytes | None = None) -> Ed25519Signer:
    """Load the key at ``path`` as the signer ``name``; refuse files others can read.

    Raises:
        KeyFormatError: no such file, not a regular file of at most ``MAX_KEY_FILE_BYTES``,
            readable by group or others, not an Ed25519 PEM key, or the wrong passphrase.
    """
    if not os.path.lexists(path):
        raise KeyFormatError(f"no key file {path}")
    try:
        data = read_input_file(
            path, limit=MAX_KEY_FILE_BYTES, what="key file", check_stat=_owner_only(path)
        )
    except InputFileError as e:
        raise KeyFormatError(str(e)) from e
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError as e:
        # cryptography raises TypeError for a missing or unexpected passphrase.
        raise KeyFormatError(f"key file {path}: {e}") from e
    except ValueError as e:
        raise KeyFormatError(f"key file {path} is not a readable private key: {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"key file {path} does not hold an Ed25519 key")
    return Ed25519Signer(name, key)
