"""ECVRF-EDWARDS25519-SHA512-TAI against RFC 9381 Appendix B.3, and against hostile input."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation import VrfProofError, ecvrf_prove, ecvrf_verify, proof_to_hash, vrf_public_key
from allocation.ecvrf import L, P, encode_to_curve
from tests.vector_files import VECTOR_DIR

VECTORS = json.loads((VECTOR_DIR / "vrf_vectors.json").read_text())["ecvrf_edwards25519_sha512_tai"]
D = (-121665 * pow(121666, P - 2, P)) % P


def _decode(encoded: bytes) -> tuple[int, int]:
    """Independent affine decoding (RFC 8032 §5.1.3) for the small-order oracle."""
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    sign = encoded[31] >> 7
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    assert (x * x - x2) % P == 0
    if x & 1 != sign:
        x = P - x
    return x % P, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def _times8(point: tuple[int, int]) -> tuple[int, int]:
    for _ in range(3):
        point = _add(point, point)
    return point


SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"example{v['example']}")
def test_rfc9381_vectors(vector: dict[str, str]) -> None:
    sk, pk, alpha = (bytes.fromhex(vector[k]) for k in ("SK", "PK", "alpha"))
    assert vrf_public_key(sk).hex() == vector["PK"]
    assert encode_to_curve(pk, alpha).hex() == vector["H"]
    pi, beta = ecvrf_prove(sk, alpha)
    assert pi.hex() == vector["pi"]
    assert beta.hex() == vector["beta"]
    assert ecvrf_verify(pk, alpha, bytes.fromhex(vector["pi"])).hex() == vector["beta"]
    assert proof_to_hash(pi) == beta


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: f"example{v['example']}")
def test_every_tampered_byte_is_rejected(vector: dict[str, str]) -> None:
    pk, alpha, pi = (bytes.fromhex(vector[k]) for k in ("PK", "alpha", "pi"))
    for i in range(len(pi)):
        for flip in (0x01, 0x80):
            tampered = bytearray(pi)
            tampered[i] ^= flip
            with pytest.raises(VrfProofError):
                ecvrf_verify(pk, alpha, bytes(tampered))


def test_wrong_key_and_wrong_input_are_rejected() -> None:
    first, second = VECTORS[0], VECTORS[1]
    pi = bytes.fromhex(first["pi"])
    with pytest.raises(VrfProofError, match="does not verify"):
        ecvrf_verify(bytes.fromhex(second["PK"]), bytes.fromhex(first["alpha"]), pi)
    with pytest.raises(VrfProofError, match="does not verify"):
        ecvrf_verify(bytes.fromhex(first["PK"]), b"another input", pi)


@pytest.mark.parametrize("encoded", SMALL_ORDER)
def test_small_order_keys_are_rejected(encoded: str) -> None:
    raw = bytes.fromhex(encoded)
    assert _times8(_decode(raw)) == (0, 1)  # the oracle agrees the point has small order
    with pytest.raises(VrfProofError, match="small order"):
        ecvrf_verify(raw, b"", bytes.fromhex(VECTORS[0]["pi"]))


@pytest.mark.parametrize(
    ("encoded", "why"),
    [
        ("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "y = p"),
        ("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "y = p + 1"),
        ("0100000000000000000000000000000000000000000000000000000000000080", "x = 0, sign 1"),
        ("0200000000000000000000000000000000000000000000000000000000000000", "not on the curve"),
        ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f70751", "31 bytes"),
    ],
)
def test_non_canonical_keys_are_rejected(encoded: str, why: str) -> None:
    with pytest.raises(VrfProofError, match="canonical"):
        ecvrf_verify(bytes.fromhex(encoded), b"", bytes.fromhex(VECTORS[0]["pi"]))


def test_non_canonical_gamma_and_unreduced_s_are_rejected() -> None:
    vector = VECTORS[0]
    pk, pi = bytes.fromhex(vector["PK"]), bytes.fromhex(vector["pi"])
    bad_gamma = (
        bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f") + pi[32:]
    )
    with pytest.raises(VrfProofError, match="Gamma"):
        ecvrf_verify(pk, b"", bad_gamma)
    s = int.from_bytes(pi[48:], "little")
    unreduced = pi[:48] + (s + L).to_bytes(32, "little")
    with pytest.raises(VrfProofError, match="not reduced"):
        ecvrf_verify(pk, b"", unreduced)
    for size in (0, 79, 81):
        with pytest.raises(VrfProofError, match="80 bytes"):
            ecvrf_verify(pk, b"", (pi * 2)[:size])


def test_key_with_a_torsion_component_is_refused() -> None:
    """Stricter than the RFC (see the module docstring): Y + T8 has no valid proofs here."""
    vector = VECTORS[0]
    y = _decode(bytes.fromhex(vector["PK"]))
    t8 = _decode(bytes.fromhex(SMALL_ORDER[3]))
    x3, y3 = _add(y, t8)
    mixed = (y3 | ((x3 & 1) << 255)).to_bytes(32, "little")
    with pytest.raises(VrfProofError):
        ecvrf_verify(mixed, b"", bytes.fromhex(vector["pi"]))


def test_secret_key_length_is_checked() -> None:
    with pytest.raises(VrfProofError, match="32 bytes"):
        ecvrf_prove(b"short", b"")


@settings(max_examples=25, deadline=None)
@given(sk=st.binary(min_size=32, max_size=32), alpha=st.binary(max_size=200))
def test_prove_then_verify_round_trips(sk: bytes, alpha: bytes) -> None:
    pi, beta = ecvrf_prove(sk, alpha)
    assert ecvrf_verify(vrf_public_key(sk), alpha, pi) == beta
    assert len(pi) == 80
    assert len(beta) == 64
