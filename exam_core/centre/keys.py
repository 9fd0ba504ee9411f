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

from exam_core.centre.durable import write_new
from exam_core.errors import InputFileError, KeyFormatError
from exam_core.input_file import read_input_file
from exam_core.log.note import Ed25519Signer

KEY_FILE_MODE = 0o600
MAX_KEY_FILE_BYTES = 16_384
"""An Ed25519 PKCS#8 PEM is a few hundred bytes even when encrypted."""


def write_owner_only_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` with mode 0600, never replacing an existing file.

    Raises:
        FileExistsError: ``path`` exists already.
        OSError: the file cannot be written or synced (no partial file is left).
    """
    # Never replaces a file, and the mode is set at creation: there is no instant at which the
    # secret is readable by others, and no partial file after a crash.
    write_new(path, data, mode=KEY_FILE_MODE)


def _owner_only(path: Path, what: str) -> Callable[[os.stat_result], None]:
    def check(info: os.stat_result) -> None:
        if info.st_mode & 0o077:
            raise KeyFormatError(
                f"{what} file {path} is accessible by group or others "
                f"(mode {info.st_mode & 0o777:o}); a secret that may have leaked must be "
                "replaced, not used"
            )

    return check


def read_owner_only_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of the secret file ``path``, refused if others may read it or it is too large.

    Raises:
        KeyFormatError: the file is missing, not a regular file, readable by group or others,
            or longer than ``max_bytes``.
    """
    if not os.path.lexists(path):
        raise KeyFormatError(f"no {what} file {path}")
    try:
        return read_input_file(
            path, limit=max_bytes, what=f"{what} file", check_stat=_owner_only(path, what)
        )
    except InputFileError as e:
        raise KeyFormatError(str(e)) from e


def write_key_file(path: Path, signer: Ed25519Signer, passphrase: bytes | None = None) -> None:
    """Write ``signer``'s private key to a new file ``path`` (mode 0600, never overwritten).

    Raises:
        FileExistsError: ``path`` exists.
        OSError: the key file cannot be written or synced (no partial file is left).
    """
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    write_owner_only_file(path, pem)


def read_key_file(path: Path, name: str, passphrase: bytes | None = None) -> Ed25519Signer:
    """Load the key at ``path`` as the signer ``name``; refuse files others can read.

    Raises:
        KeyFormatError: the file is missing, exposed, too large, or not an Ed25519 key that
            ``passphrase`` opens.
    """
    data = read_owner_only_file(path, MAX_KEY_FILE_BYTES, "key")
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
