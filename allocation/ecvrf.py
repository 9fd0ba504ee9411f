"""ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5, suite 0x03): the allocator's verifiable draw.

The allocator proves that the seed of a draw is the unique VRF output of its registered key on
the committed input (DESIGN §4.4).  Uniqueness is what stops a re-roll: for one public key and
one input there is exactly one valid ``beta``, even when the key was generated maliciously, as
long as the verifier validates the key (RFC 9381 §3.2, §5.4.5).

Point arithmetic is libsodium's (PyNaCl bindings).  Point *decoding* is checked in pure Python,
exactly as RFC 8032 §5.1.3 says (non-canonical ``y`` and the negative-zero ``x`` are refused), by
the same function the Ed25519 rule uses (``exam_core.log.ed25519.is_canonical_point``), because
libsodium's own decoder is more lenient than ``string_to_point``.

One deliberate strictness beyond the RFC: libsodium multiplies only points of the prime-order
subgroup, so a public key or a ``Gamma`` carrying a torsion component is rejected as invalid.
Honest keys (``x·B``) and honest proofs (``x·H`` with ``H`` cofactor-cleared) never carry one.
"""

from __future__ import annotations

import hashlib

from nacl import bindings
from nacl.exceptions import CryptoError

from allocation.errors import VrfProofError
from exam_core.log.ed25519 import FIELD_PRIME, GROUP_ORDER, is_canonical_point

SUITE = b"\x03"
P = FIELD_PRIME
L = GROUP_ORDER
"""Order of the prime subgroup (``q`` in RFC 9381)."""
IDENTITY = (1).to_bytes(32, "little")
C_LEN = 16
PROOF_LEN = 80
BETA_LEN = 64


def _add(a: bytes, b: bytes) -> bytes:
    return bytes(bindings.crypto_core_ed25519_add(a, b))


def _sub(a: bytes, b: bytes) -> bytes:
    return bytes(bindings.crypto_core_ed25519_sub(a, b))


def _clear_cofactor(point: bytes) -> bytes:
    # Three doublings (x8): libsodium's scalar multiplication refuses points outside the
    # prime-order subgroup, and the addition law does not.
    for _ in range(3):
        point = _add(point, point)
    return point


def _mul(scalar: int, point: bytes) -> bytes:
    scalar %= L
    if scalar == 0 or point == IDENTITY:
        return IDENTITY
    try:
        return bytes(
            bindings.crypto_scalarmult_ed25519_noclamp(scalar.to_bytes(32, "little"), point)
        )
    except CryptoError as e:
        raise VrfProofError("point is not in the prime-order subgroup") from e


def _mul_base(scalar: int) -> bytes:
    scalar %= L
    if scalar == 0:
        return IDENTITY
    return bytes(bindings.crypto_scalarmult_ed25519_base_noclamp(scalar.to_bytes(32, "little")))


def _secret_scalar(secret_key: bytes) -> tuple[int, bytes]:
    """RFC 8032 §5.1.5: the clamped scalar ``x`` and the hash's second half (nonce key).

    Raises:
        VrfProofError: ``secret_key`` is not 32 bytes.
    """
    if len(secret_key) != 32:
        raise VrfProofError(f"an ECVRF secret key is 32 bytes, not {len(secret_key)}")
    digest = hashlib.sha512(secret_key).digest()
    low = bytearray(digest[:32])
    low[0] &= 248
    low[31] &= 127
    low[31] |= 64
    return int.from_bytes(low, "little"), digest[32:]


def public_key(secret_key: bytes) -> bytes:
    """The public key ``Y = x·B`` of a 32-byte secret key (as RFC 8032 Ed25519)."""
    x, _ = _secret_scalar(secret_key)
    return _mul_base(x)


def encode_to_curve(public: bytes, alpha: bytes) -> bytes:
    """RFC 9381 §5.4.1.1 try-and-increment: the first valid, cofactor-cleared, non-identity H.

    Raises:
        VrfProofError: none of 256 counters gave a point (probability about 2^-256; in practice
            never).
    """
    for ctr in range(256):
        digest = hashlib.sha512(SUITE + b"\x01" + public + alpha + bytes([ctr]) + b"\x00").digest()
        candidate = digest[:32]
        if not is_canonical_point(candidate):
            continue
        point = _clear_cofactor(candidate)
        if point != IDENTITY:
            return point
    raise VrfProofError("encode_to_curve found no point in 256 tries")  # probability ~2^-256


def _challenge(*points: bytes) -> int:
    digest = hashlib.sha512(SUITE + b"\x02" + b"".join(points) + b"\x00").digest()
    return int.from_bytes(digest[:C_LEN], "little")


def proof_to_hash(pi: bytes) -> bytes:
    """RFC 9381 §5.2: ``beta`` from a proof's ``Gamma`` (the proof is not verified here).

    Raises:
        VrfProofError: ``pi`` is not 80 bytes or its ``Gamma`` is not a canonical edwards25519
            point.
    """
    gamma = pi[:32]
    if len(pi) != PROOF_LEN or not is_canonical_point(gamma):
        raise VrfProofError("proof is not 80 bytes starting with a valid point")
    return hashlib.sha512(SUITE + b"\x03" + _clear_cofactor(gamma) + b"\x00").digest()


def ecvrf_prove(secret_key: bytes, alpha: bytes) -> tuple[bytes, bytes]:
    """RFC 9381 §5.1: the 80-byte proof ``pi`` and the 64-byte output ``beta``."""
    x, nonce_key = _secret_scalar(secret_key)
    y = _mul_base(x)
    h = encode_to_curve(y, alpha)
    gamma = _mul(x, h)
    k = int.from_bytes(hashlib.sha512(nonce_key + h).digest(), "little") % L  # §5.4.2.2
    c = _challenge(y, h, gamma, _mul_base(k), _mul(k, h))
    s = (k + c * x) % L
    pi = gamma + c.to_bytes(C_LEN, "little") + s.to_bytes(32, "little")
    return pi, proof_to_hash(pi)


def validate_public_key(public: bytes) -> None:
    """RFC 9381 §5.4.5: a decodable point that is not of small order; else ``VrfProofError``.

    Raises:
        VrfProofError: ``public`` is not a canonical edwards25519 point, or it has small order.
    """
    if not is_canonical_point(public):
        raise VrfProofError("VRF public key is not a canonical edwards25519 point")
    if _clear_cofactor(public) == IDENTITY:
        raise VrfProofError("VRF public key has small order")


def ecvrf_verify(public_key: bytes, alpha: bytes, pi: bytes) -> bytes:
    """RFC 9381 §5.3 with ``validate_key``: return ``beta``, or raise ``VrfProofError``.

    Raises:
        VrfProofError: the key is invalid, the proof is malformed (length, ``Gamma``, unreduced
            ``s``), or it does not verify for this key and ``alpha``.
    """
    # (1) the key
    validate_public_key(public_key)
    # (2) decode the proof: Gamma a valid point, s < q
    if len(pi) != PROOF_LEN:
        raise VrfProofError(f"a proof is {PROOF_LEN} bytes, not {len(pi)}")
    gamma = pi[:32]
    if not is_canonical_point(gamma):
        raise VrfProofError("proof Gamma is not a canonical edwards25519 point")
    c = int.from_bytes(pi[32:48], "little")
    s = int.from_bytes(pi[48:], "little")
    if s >= L:
        raise VrfProofError("proof scalar s is not reduced")
    # (3) H, (4) U = s·B − c·Y, V = s·H − c·Γ
    h = encode_to_curve(public_key, alpha)
    u = _sub(_mul_base(s), _mul(c, public_key))
    v = _sub(_mul(s, h), _mul(c, gamma))
    # (5) the challenge recomputed must equal c
    if _challenge(public_key, h, gamma, u, v) != c:
        raise VrfProofError("VRF proof does not verify for this key and input")
    return proof_to_hash(pi)
