"""The one Ed25519 rule (``exam_core.log.ed25519``) against the published cases and a second,
independent implementation of its definition (``tests/ed25519_reference.py``).

Every verifier of the project calling this module is tested in ``tests/test_ed25519_verifiers.py``.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from exam_core.errors import KeyFormatError
from exam_core.log import ed25519
from tests import ed25519_reference as ref
from tests.ed25519_cases import (
    HONEST,
    SPECCHECK_VALID,
    Case,
    public_keys,
    transplanted,
    transplanted_speccheck,
    vectors,
)

CASES = vectors()
MESSAGE = b'{"a note text":"as the log signs them"}\n'
TRANSPLANTED = transplanted(MESSAGE)


def _cryptography_accepts(case: Case) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(case.public_key).verify(case.signature, case.message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _libsodium_accepts(case: Case) -> bool:
    if len(case.public_key) != 32 or len(case.signature) != 64:
        return False  # crypto_sign_open reads 32 key bytes whatever it is given
    try:
        crypto_sign_open(case.signature + case.message, case.public_key)
    except BadSignatureError:
        return False
    return True


def _speccheck_accepted(cases: list[Case], accepts: object) -> set[int]:
    assert callable(accepts)
    return {
        int(c.label.split()[1]) for c in cases if c.label.startswith("speccheck") and accepts(c)
    }


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_the_rule_gives_the_published_answer(case: Case) -> None:
    assert ed25519.is_valid(case.public_key, case.signature, case.message) is case.valid
    # the definition of the rule, computed independently, agrees with the table
    assert ref.strict_accepts(case.public_key, case.signature, case.message) is case.valid


def test_the_rule_is_not_either_librarys_default() -> None:
    # The published table (speccheck_results.md), reproduced with this machine's libraries:
    # cryptography (OpenSSL) accepts cases 0-3 and 11, libsodium only 3, the rule only 3.
    assert _speccheck_accepted(CASES, _cryptography_accepts) == {0, 1, 2, 3, 11}
    assert _speccheck_accepted(CASES, _libsodium_accepts) == {3}
    assert {3} == SPECCHECK_VALID
    # Wycheproof: both libraries and the rule agree on every vector.
    wycheproof = [c for c in CASES if c.label.startswith("wycheproof")]
    assert len(wycheproof) == 151
    assert all(_cryptography_accepts(c) is c.valid for c in wycheproof)
    assert all(_libsodium_accepts(c) is c.valid for c in wycheproof)


def test_the_strictness_is_ours_and_not_left_to_libsodium() -> None:
    # Each speccheck case the rule refuses for an encoding is refused by the checks made in
    # Python before the library is called; only 4 and 5 (the equation) reach it.
    for c in CASES[:12]:
        number = int(c.label.split()[1])
        defect = ed25519.public_key_defect(c.public_key) or ed25519.signature_defect(c.signature)
        assert (defect is None) is (number in {3, 4, 5}), (c.label, defect)
    by_case = {int(c.label.split()[1]): c for c in CASES[:12]}
    assert ed25519.public_key_defect(by_case[0].public_key) == "has small order"
    assert ed25519.signature_defect(by_case[2].signature) == "R has small order"
    assert ed25519.signature_defect(by_case[6].signature) == (
        "S is not below the group order (S ≥ L)"
    )
    assert ed25519.signature_defect(by_case[8].signature) == (
        "R is not canonical (x = 0 with the sign bit set) and of small order"
    )
    assert "not canonical" in str(ed25519.public_key_defect(by_case[11].public_key))


def test_transplanted_cases_are_the_same_cases() -> None:
    # Forged again over a note text, the speccheck cases split the libraries exactly as the
    # published ones do: a verifier that fell back on a library default would be caught.
    forged = transplanted_speccheck(MESSAGE)
    assert _speccheck_accepted(forged, _cryptography_accepts) == {0, 1, 2, 3, 11}
    assert _speccheck_accepted(forged, _libsodium_accepts) == {3}
    for c in forged:
        assert ref.lenient_accepts(*c[1:4]) is _cryptography_accepts(c), c.label
    assert len(TRANSPLANTED) > 70


@pytest.mark.parametrize("case", TRANSPLANTED, ids=[c.label for c in TRANSPLANTED])
def test_the_rule_gives_the_same_answer_on_transplanted_cases(case: Case) -> None:
    assert ed25519.is_valid(case.public_key, case.signature, case.message) is case.valid
    assert ref.strict_accepts(case.public_key, case.signature, case.message) is case.valid


@pytest.mark.parametrize("case", CASES + TRANSPLANTED, ids=[c.label for c in CASES + TRANSPLANTED])
def test_a_key_checked_once_gives_the_rules_answer(case: Case) -> None:
    # A verifier checks its key when it is made and then only the signatures: for every key
    # that check accepts, the answer is the rule's; the others never reach it.
    if ed25519.public_key_defect(case.public_key) is not None:
        assert not case.valid
        return
    checked = ed25519.is_valid_under_checked_key(case.public_key, case.signature, case.message)
    assert checked is case.valid


def test_the_small_order_points_are_exactly_the_eight() -> None:
    # Found here by multiplying by 8; the module looks them up by y.
    torsion = [ref.torsion(j) for j in range(8)]
    assert len({ref.encode(t) for t in torsion}) == 8
    for t in torsion:
        assert ref.has_small_order(t)
        encoded = ref.encode(t)
        for sign in (0, 1):
            flipped = bytes([*encoded[:31], encoded[31] & 0x7F | sign << 7])
            assert ed25519.point_defect(flipped) is not None
    # no other point is refused: the y values of the honest and mixed-order keys pass
    for i in range(64):
        scalar = int.from_bytes(hashlib.sha256(bytes([i])).digest(), "little") % ref.L
        honest = ref.mul_base(scalar)
        assert ed25519.point_defect(ref.encode(honest)) is None
        assert ed25519.point_defect(ref.encode(ref.add(honest, torsion[i % 8]))) is None


def test_every_non_canonical_y_is_refused() -> None:
    for excess in range(19):  # y = p .. 2^255 - 1
        for sign in (0, 1):
            encoding = ((ref.P + excess) | sign << 255).to_bytes(32, "little")
            assert ed25519.point_defect(encoding) is not None
            assert not ed25519.is_canonical_point(encoding)
            assert ed25519.public_key_defect(encoding) is not None


def test_point_decoding_agrees_with_rfc_8032_written_out() -> None:
    samples = [key for _, key in public_keys()]
    samples += [hashlib.sha256(bytes([i])).digest() for i in range(200)]
    samples += [ref.encode(ref.torsion(j)) for j in range(8)]
    samples += [ref.NEGATIVE_ZERO_ORDER_2, (1 | 1 << 255).to_bytes(32, "little")]
    for encoding in samples:
        expected = len(encoding) == 32 and ref.decode(encoding) is not None
        assert ed25519.is_canonical_point(encoding) is expected, encoding.hex()
        # the answer is remembered per encoding: asked again, or as other bytes-like, the same
        assert ed25519.is_canonical_point(encoding) is expected, encoding.hex()
        assert ed25519.is_canonical_point(bytearray(encoding)) is expected, encoding.hex()
    assert not ed25519.is_canonical_point(b"\x01" * 31)


@pytest.mark.parametrize(("label", "key"), public_keys(), ids=[x for x, _ in public_keys()])
def test_a_key_is_refused_exactly_when_no_signature_can_be_valid_under_it(
    label: str, key: bytes
) -> None:
    point = ref.decode(key)
    refused = point is None or ref.has_small_order(point)
    if refused:
        with pytest.raises(KeyFormatError, match="Ed25519 public key"):
            ed25519.verify_public_key(key)
        assert not any(c.valid for c in CASES if c.public_key == key)
    else:
        ed25519.verify_public_key(key)
    assert (ed25519.public_key_defect(key) is not None) is refused


def test_keys_of_the_wrong_length_are_refused_with_a_clear_error() -> None:
    for key in (b"", b"\x01" * 31, b"\x01" * 33):
        with pytest.raises(KeyFormatError, match=f"is {len(key)} bytes, not 32"):
            ed25519.verify_public_key(key)
    with pytest.raises(KeyFormatError, match="is not a point of the curve"):
        ed25519.verify_public_key((2).to_bytes(32, "little"))  # y = 2 has no x


def test_hostile_lengths_give_false_and_never_raise() -> None:
    signature = HONEST.sign(MESSAGE)
    assert ed25519.is_valid(HONEST.public_key, signature, MESSAGE)
    for key in (b"", HONEST.public_key[:31], HONEST.public_key + b"\x00"):
        assert not ed25519.is_valid(key, signature, MESSAGE)
    for sig in (b"", signature[:63], signature + b"\x00", signature * 2):
        assert not ed25519.is_valid(HONEST.public_key, sig, MESSAGE)
    big = b"x" * 70_000
    assert not ed25519.is_valid(HONEST.public_key, signature, big)
    assert ed25519.is_valid(HONEST.public_key, HONEST.sign(big), big)


def test_the_reference_signs_as_rfc_8032_and_cryptography_do() -> None:
    key = Ed25519PrivateKey.from_private_bytes(HONEST.seed)
    assert key.public_key().public_bytes_raw() == HONEST.public_key
    for message in (b"", MESSAGE, bytes(range(256))):
        assert HONEST.sign(message) == key.sign(message)
        assert ed25519.is_valid(HONEST.public_key, key.sign(message), message)
