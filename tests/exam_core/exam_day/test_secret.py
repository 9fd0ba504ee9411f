"""The centre secret: its file, keyed hashes of ID numbers, and sealed enrolment photos."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from exam_core.errors import PersonalDataError
from exam_core.exam_day.secret import (
    SECRET_FILE,
    CentreSecret,
    create_centre_secret,
    has_centre_secret,
    is_id_hash,
    read_centre_secret,
)

NUMBER = "11010519491231002X"


def test_secret_file_is_owner_only_and_reads_back(tmp_path: Path) -> None:
    assert not has_centre_secret(tmp_path)
    made = create_centre_secret(tmp_path)
    assert has_centre_secret(tmp_path)
    assert stat.S_IMODE((tmp_path / SECRET_FILE).stat().st_mode) == 0o600
    read = read_centre_secret(tmp_path)
    assert read.id_hash(NUMBER) == made.id_hash(NUMBER)
    assert read.open_photo("c-1", made.seal_photo("c-1", b"jpeg")) == b"jpeg"


def test_secret_is_never_replaced(tmp_path: Path) -> None:
    first = create_centre_secret(tmp_path)
    with pytest.raises(PersonalDataError, match="never replaced"):
        create_centre_secret(tmp_path)
    assert read_centre_secret(tmp_path).id_hash(NUMBER) == first.id_hash(NUMBER)


def test_exposed_missing_or_malformed_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonalDataError, match="no centre secret file"):
        read_centre_secret(tmp_path)
    create_centre_secret(tmp_path)
    path = tmp_path / SECRET_FILE
    os.chmod(path, 0o640)
    with pytest.raises(PersonalDataError, match="accessible by group or others"):
        read_centre_secret(tmp_path)
    good = path.read_bytes()
    for bad in (good[:-1], good + b"\n", good.upper(), b"x" * 4096, b""):
        path.unlink()
        path.write_bytes(bad)
        os.chmod(path, 0o600)
        with pytest.raises(PersonalDataError):
            read_centre_secret(tmp_path)


def test_keyed_hash_is_hmac_sha256_under_the_hkdf_derived_key() -> None:
    master = bytes(range(32))
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"exam-integrity/id-number-hash/v1"
    ).derive(master)
    expected = hmac.new(key, NUMBER.encode(), hashlib.sha256).hexdigest()
    secret = CentreSecret(master)
    assert secret.id_hash(NUMBER) == expected
    assert is_id_hash(expected)
    # Another centre (another secret) gets another hash; the plain hash is not the keyed one.
    assert CentreSecret(bytes(32)).id_hash(NUMBER) != expected
    assert hashlib.sha256(NUMBER.encode()).hexdigest() != expected


@pytest.mark.parametrize(
    "number", ["11010519491231002x", "110105491231002", " 11010519491231002X", "１" * 18, ""]
)
def test_only_normalised_numbers_are_hashed(number: str) -> None:
    with pytest.raises(PersonalDataError):
        CentreSecret(bytes(32)).id_hash(number)


def test_sealed_photo_is_bound_to_its_candidate_and_its_bytes() -> None:
    secret = CentreSecret(bytes(32))
    sealed = secret.seal_photo("c-1", b"\xff\xd8\xff photo")
    assert b"photo" not in sealed
    assert secret.seal_photo("c-1", b"\xff\xd8\xff photo") != sealed  # a fresh nonce each time
    with pytest.raises(PersonalDataError, match="does not open"):
        secret.open_photo("c-2", sealed)
    with pytest.raises(PersonalDataError, match="does not open"):
        CentreSecret(bytes(31) + b"\x01").open_photo("c-1", sealed)
    for i in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[i] ^= 0x01
        with pytest.raises(PersonalDataError):
            secret.open_photo("c-1", bytes(flipped))
    for truncated in (b"", sealed[:1], sealed[:28], sealed[:-1]):
        with pytest.raises(PersonalDataError):
            secret.open_photo("c-1", truncated)


def test_master_secret_length_is_checked() -> None:
    with pytest.raises(PersonalDataError):
        CentreSecret(bytes(16))
