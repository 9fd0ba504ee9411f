"""The centre secret: keyed hashes of ID numbers and sealed enrolment photos (DESIGN §3.1).

The log is mirrored and handed to auditors, so an entry that must bind to a person's ID number
carries ``HMAC-SHA256(k_id, number)`` instead of the number: the centre can tell which number it
is (and so open it to an authorised investigator), nobody else can, and guessing is no use
without the key — an ID number has only some 10^10 likely values, so an unkeyed hash would be
no protection at all.  Enrolment photos are stored sealed with AES-256-GCM under ``k_photo``,
with the candidate's pseudonymous id as associated data, so a sealed photo moved to another
candidate's row no longer opens.

Both keys are derived with HKDF-SHA256 from one 32-byte secret, under labels of their own; the
secret is a file in the centre directory, created once with mode 0600 and refused when others
can read it.  Losing it makes every keyed hash and photo unreadable: back it up with the keys.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exam_core.centre.keys import read_owner_only_file, write_owner_only_file
from exam_core.errors import KeyFormatError, PersonalDataError

SECRET_FILE = "personal-data.key"  # noqa: S105 (a file name, not a secret)
"""The centre secret's file name inside the centre directory."""
_HEADER = b"exam-integrity centre secret v1\n"
_FILE = re.compile(rb"exam-integrity centre secret v1\n([0-9a-f]{64})\n")
_ID_LABEL = b"exam-integrity/id-number-hash/v1"
_PHOTO_LABEL = b"exam-integrity/enrolment-photo/v1"
_SEALED_VERSION = b"\x01"
_NONCE_BYTES = 12
_TAG_BYTES = 16
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


def _derive(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


class CentreSecret:
    """The keys a centre protects personal data with; make one with ``read_centre_secret``."""

    def __init__(self, master: bytes) -> None:
        if len(master) != 32:
            raise PersonalDataError("secret", "the centre secret is 32 bytes")
        self._id_key = _derive(master, _ID_LABEL)
        self._photo = AESGCM(_derive(master, _PHOTO_LABEL))

    def id_hash(self, id_number: str) -> str:
        """The keyed hash (lowercase hex) of a normalised 18-character ID number.

        Callers pass ``IdNumber.number`` (``exam_core.exam_day.identity``): a legacy 15-digit
        number must be converted first, or the same person would get two hashes.

        Raises:
            PersonalDataError: ``id_number`` is not 18 characters of digits and ``X``.
        """
        if re.fullmatch(r"[0-9]{17}[0-9X]", id_number, re.ASCII) is None:
            raise PersonalDataError("id_number", "hash only normalised 18-character ID numbers")
        mac = hmac.HMAC(self._id_key, hashes.SHA256())
        mac.update(id_number.encode("ascii"))
        return mac.finalize().hex()

    def seal_photo(self, candidate: str, photo: bytes) -> bytes:
        """``photo`` encrypted for candidate ``candidate``: version ‖ nonce ‖ ciphertext ‖ tag."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _SEALED_VERSION + nonce + self._photo.encrypt(nonce, photo, _aad(candidate))

    def open_photo(self, candidate: str, sealed: bytes) -> bytes:
        """The photo sealed for ``candidate``.

        Raises:
            PersonalDataError: the sealed bytes are malformed, were sealed for someone else or
                under another secret, or were altered.
        """
        if len(sealed) < 1 + _NONCE_BYTES + _TAG_BYTES or sealed[:1] != _SEALED_VERSION:
            raise PersonalDataError("sealed_photo", "not a sealed photo of this format")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._photo.decrypt(nonce, body, _aad(candidate))
        except InvalidTag as e:
            raise PersonalDataError(
                "sealed_photo",
                f"the photo of {candidate} does not open: altered, moved or "
                "sealed under another secret",
            ) from e


def _aad(candidate: str) -> bytes:
    return _PHOTO_LABEL + b"\n" + candidate.encode()


def is_id_hash(value: str) -> bool:
    """Whether ``value`` has the form of a keyed hash (64 lowercase hex digits)."""
    return _HASH_HEX.fullmatch(value) is not None


def create_centre_secret(root: Path) -> CentreSecret:
    """Create the centre secret in centre directory ``root`` (mode 0600).

    Raises:
        PersonalDataError: a secret exists already (it is never replaced: every keyed hash and
            sealed photo depends on it).
    """
    master = secrets.token_bytes(32)
    try:
        write_owner_only_file(root / SECRET_FILE, _HEADER + master.hex().encode() + b"\n")
    except FileExistsError as e:
        raise PersonalDataError(
            "secret_exists", f"{root / SECRET_FILE} exists; a centre secret is never replaced"
        ) from e
    return CentreSecret(master)


def read_centre_secret(root: Path) -> CentreSecret:
    """The centre secret of centre directory ``root``.

    Raises:
        PersonalDataError: the file is missing, readable by others, or malformed.
    """
    path = root / SECRET_FILE
    try:
        data = read_owner_only_file(path, len(_HEADER) + 65, "centre secret")
    except KeyFormatError as e:
        raise PersonalDataError("secret", str(e)) from e
    match = _FILE.fullmatch(data)
    if match is None:
        raise PersonalDataError("secret", f"{path} is not a centre secret file")
    return CentreSecret(bytes.fromhex(match.group(1).decode()))


def has_centre_secret(root: Path) -> bool:
    """Whether centre directory ``root`` holds a centre secret file (readable or not)."""
    return os.path.lexists(root / SECRET_FILE)
