"""The one Ed25519 verification rule of exam-integrity (DESIGN §3.2), written once.

Ed25519 implementations disagree on signatures built from small-order or non-canonically encoded
points ("Taming the many EdDSAs", Chalkias, Garillot, Nikolaenko, SSR 2020; the cases are in
``vectors/ed25519/speccheck_cases.json``): OpenSSL, and so ``cryptography``, accepts cases 0–3
and 11, libsodium only case 3.  Two verifiers of one log that disagree on such a signature
disagree on what the log holds, so the rule is ours, not a library's default, and every verifier
in the project (ingest, key registration, checkpoints and cosignatures, the audit, the beacon,
telemetry chunks) calls this module.  A signature ``R ‖ S`` of message ``M`` under public key
``A`` is valid when:

1. ``A`` and ``R`` are canonical encodings (RFC 8032 §5.1.3: ``y < p``, and no ``x = 0`` with
   the sign bit set) of points that are not of small order (the eight points of order 1, 2, 4
   or 8 are refused whatever their encoding);
2. ``S < L``, the order of the prime subgroup (RFC 8032 §5.1.7);
3. the cofactorless equation holds: ``[S]B − [k]A`` encodes to exactly the 32 bytes of ``R``,
   with ``k = SHA-512(R ‖ A ‖ M) mod L`` over the bytes as received.

Points of mixed order (a prime-order point plus a torsion component, speccheck case 3) are
accepted: every implementation in the speccheck table accepts that case, and refusing it would
make us reject signatures that other verifiers of the log accept.  The cofactorless equation is
the one libsodium, OpenSSL, Go and BoringSSL check for a single signature, and a signature that
passes it passes the cofactored one too: with (1) and (2), what the rule accepts is the kind of
signature every implementation in the speccheck table accepts, so a third-party tool verifying
our log does not find a signature invalid that we took (a cofactored rule would accept speccheck
cases 4 and 5, which those libraries refuse).  See ``docs/formats.md``.

Checks (1) and (2) are made here in Python before any library call, so the answer does not
depend on how strict a library build happens to be.  Check (3) is libsodium's through PyNaCl
(``crypto_sign_open``): the fastest verifier available here (``bench/ed25519_verify.py``), and
one whose own checks are no more lenient than (1) and (2).  Signing stays with
``cryptography``; an RFC 8032 signature is deterministic, so both libraries make the same bytes.
"""

from __future__ import annotations

from functools import lru_cache

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from exam_core.errors import KeyFormatError

__all__ = [
    "FIELD_PRIME",
    "GROUP_ORDER",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "is_canonical_point",
    "is_valid",
    "is_valid_under_checked_key",
    "point_defect",
    "public_key_defect",
    "signature_defect",
    "verify_public_key",
]

FIELD_PRIME = 2**255 - 19
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493
"""``L``, the order of the prime subgroup: ``S`` must be below it."""
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64

_D = (-121665 * pow(121666, FIELD_PRIME - 2, FIELD_PRIME)) % FIELD_PRIME
_SQRT_M1 = pow(2, (FIELD_PRIME - 1) // 4, FIELD_PRIME)
_Y_MASK = (1 << 255) - 1
_Y_ORDER_8 = 0x7A03AC9277FDC74EC6CC392CFA53202A0F67100D760B3CBA4FD84D3D706A17C7
"""``y`` of two of the four points of order 8; the other two have ``p − y``."""
_SMALL_ORDER_Y = frozenset({1, FIELD_PRIME - 1, 0, _Y_ORDER_8, FIELD_PRIME - _Y_ORDER_8})
"""``y`` of the eight points of small order: the identity (1), the point of order 2 (−1), the
two of order 4 (0) and the four of order 8.  A point is determined by ``y`` and the sign of
``x``, and ``P`` and ``−P`` have the same order, so ``y`` alone decides."""


def point_defect(encoding: bytes) -> str | None:
    """Why rule (1) refuses a 32-byte point encoding before decoding it, or None.

    Only the cheap checks: whether the bytes decode to a point at all is left to the library's
    verification, or to ``is_canonical_point`` for a key.
    """
    value = int.from_bytes(encoding, "little")
    y = value & _Y_MASK
    if y >= FIELD_PRIME:
        return "is not canonical (y ≥ p)"
    if y in _SMALL_ORDER_Y:
        if value >> 255 and y in (1, FIELD_PRIME - 1):
            return "is not canonical (x = 0 with the sign bit set) and of small order"
        return "has small order"
    return None


def is_canonical_point(encoding: bytes | bytearray) -> bool:
    """Whether RFC 8032 §5.1.3 decodes ``encoding``: 32 bytes, ``y < p``, a point of the curve,
    and not ``x = 0`` with the sign bit set.  A ``bytearray`` is copied to ``bytes`` first, as
    the remembered answers are keyed by immutable bytes."""
    if len(encoding) != 32:
        return False
    return _decodes(bytes(encoding))


@lru_cache(maxsize=1 << 16)
def _decodes(encoding: bytes) -> bool:
    """``is_canonical_point`` of 32 bytes, remembered per encoding.

    A square root modulo p is a 255-bit exponentiation, ~110 µs in Python, and one audit checks
    each registered key at every door it passes (the pre-scan, each worker's and the registry's
    verifiers, each registration read again): ~70 times for nine keys, a fixed 8 ms before the
    cache.  The answer depends on the bytes alone.  It holds 65,536 keys (~10 MB at most): a
    monitoring centre mirrors many centres' keys in one process, and a cache smaller than the
    keys that are walked in the same order each time misses every time (at 4,096, a log of
    5,000 keys had every key checked again on each call of the mirror's worker).
    """
    value = int.from_bytes(encoding, "little")
    sign, y = value >> 255, value & _Y_MASK
    if y >= FIELD_PRIME:
        return False
    p = FIELD_PRIME
    u = (y * y - 1) % p
    v = (_D * y * y + 1) % p
    x = (u * pow(v, 3, p) * pow(u * pow(v, 7, p), (p - 5) // 8, p)) % p
    vxx = (v * x * x) % p
    if vxx == (-u) % p:
        x = (x * _SQRT_M1) % p
    elif vxx != u:
        return False
    return not (x == 0 and sign == 1)


def public_key_defect(public_key: bytes) -> str | None:
    """Why the rule refuses ``public_key`` whatever it signs, or None if it is a usable key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        return f"is {len(public_key)} bytes, not {PUBLIC_KEY_SIZE}"
    defect = point_defect(public_key)
    if defect is None and not is_canonical_point(public_key):
        return "is not a point of the curve"
    return defect


def verify_public_key(public_key: bytes) -> None:
    """Refuse a public key no signature could be valid under, whatever the message.

    Key registration, vkey parsing and every verifier's constructor call this, so such a key
    is named at the door instead of failing every signature later.

    Raises:
        KeyFormatError: the key is not 32 bytes, not a canonical encoding, not a point of the
            curve, or a point of small order.
    """
    defect = public_key_defect(public_key)
    if defect is not None:
        raise KeyFormatError(f"Ed25519 public key {defect}")


def signature_defect(signature: bytes) -> str | None:
    """Why rules (1) and (2) refuse ``signature`` whatever the key and message, or None."""
    if len(signature) != SIGNATURE_SIZE:
        return f"is {len(signature)} bytes, not {SIGNATURE_SIZE}"
    defect = point_defect(signature[:32])
    if defect is not None:
        return f"R {defect}"
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        return "S is not below the group order (S ≥ L)"
    return None


def is_valid(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` under ``public_key`` by the
    rule of this module; never raises for any bytes."""
    # (1) A: 32 bytes, y < p and not of small order (the inline of point_defect: this runs
    # once per signature a caller without a checked key verifies); R and the rest as below
    if len(public_key) != PUBLIC_KEY_SIZE:
        return False
    y_a = int.from_bytes(public_key, "little") & _Y_MASK
    if y_a >= FIELD_PRIME or y_a in _SMALL_ORDER_Y:
        return False
    return is_valid_under_checked_key(public_key, signature, message)


def is_valid_under_checked_key(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """``is_valid`` for a ``public_key`` that ``verify_public_key`` accepted: the same answer,
    without the checks of the key, which cannot change between the signatures it verifies.

    A verifier that holds one key checks it once, when it is made (``Ed25519PublicNoteKey``),
    and then calls this for every signature: an audit verifies millions of them.  ``is_valid``
    is this after its own checks of the key, for callers that hold no checked key.
    """
    # (1) R: 32 bytes, y < p and not of small order (A was checked, more strictly, once)
    if len(signature) != SIGNATURE_SIZE:
        return False
    y_r = int.from_bytes(signature[:32], "little") & _Y_MASK
    if y_r >= FIELD_PRIME or y_r in _SMALL_ORDER_Y:
        return False
    # (2) S < L
    if int.from_bytes(signature[32:], "little") >= GROUP_ORDER:
        return False
    # (3) the cofactorless equation, R compared byte for byte (libsodium)
    try:
        crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True
