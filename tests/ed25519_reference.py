"""A second, independent Ed25519 for the tests of the project's one verification rule.

Slow pure Python that shares nothing with ``exam_core.log.ed25519``: points are decoded step by
step as RFC 8032 §5.1.3 says, small order is found by multiplying by 8 rather than looked up,
and the equations the speccheck paper compares are written out.  ``strict_accepts`` is the rule
of DESIGN §3.2 as its definition reads; ``lenient_accepts`` is what OpenSSL and ref10 do.

It also forges, over any message, a signature of each of the twelve speccheck cases (the same
small-order, mixed-order and non-canonical constructions, with the torsion found by search) and
each Wycheproof defect (``tests/ed25519_cases.py``), so that verifiers whose messages are notes,
entries or checkpoints meet every case too.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import NamedTuple

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]
"""Extended coordinates (X, Y, Z, T): x = X/Z, y = Y/Z, x·y = T/Z."""
IDENTITY: Point = (0, 1, 1, 0)


def add(p: Point, q: Point) -> Point:
    """RFC 8032 §5.1.4 addition (complete: it also doubles)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * D * t2 % P
    d = z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def neg(p: Point) -> Point:
    x, y, z, t = p
    return (-x % P, y, z, -t % P)


def mul(n: int, p: Point) -> Point:
    """``[n]p`` for ``n ≥ 0``, double and add."""
    result = IDENTITY
    while n:
        if n & 1:
            result = add(result, p)
        p = add(p, p)
        n >>= 1
    return result


def same(p: Point, q: Point) -> bool:
    return (p[0] * q[2] - q[0] * p[2]) % P == 0 and (p[1] * q[2] - q[1] * p[2]) % P == 0


def encode(p: Point) -> bytes:
    """The canonical encoding: ``y`` little-endian, the low bit of ``x`` in bit 255."""
    zi = pow(p[2], P - 2, P)
    x, y = p[0] * zi % P, p[1] * zi % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def decode(s: bytes, *, lenient: bool = False) -> Point | None:
    """RFC 8032 §5.1.3; ``lenient`` takes ``y`` mod p and a negative zero ``x`` as ref10 does."""
    if len(s) != 32:
        return None
    value = int.from_bytes(s, "little")
    sign, y = value >> 255, value & ((1 << 255) - 1)
    if y >= P:
        if not lenient:
            return None
        y -= P
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    if x2 == 0:
        if sign and not lenient:
            return None
        return (0, y, 1, 0)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    if x & 1 != sign:
        x = P - x
    return (x, y, 1, x * y % P)


BASE: Point = decode((4 * pow(5, P - 2, P) % P).to_bytes(32, "little")) or IDENTITY
_BASE_DOUBLINGS: list[Point] = []


def mul_base(n: int) -> Point:
    """``[n]B`` from a table of ``[2^i]B``: the forgers call it thousands of times."""
    if not _BASE_DOUBLINGS:
        p = BASE
        for _ in range(256):
            _BASE_DOUBLINGS.append(p)
            p = add(p, p)
    result = IDENTITY
    n %= L
    i = 0
    while n:
        if n & 1:
            result = add(result, _BASE_DOUBLINGS[i])
        n >>= 1
        i += 1
    return result


def has_small_order(p: Point) -> bool:
    return same(mul(8, p), IDENTITY)


@lru_cache(maxsize=1)
def torsion_generator() -> Point:
    """A point of order 8, found as the torsion component ``[L]Q`` of some decodable ``Q``."""
    for y in range(2, 1000):
        q = decode(y.to_bytes(32, "little"))
        if q is None:
            continue
        t = mul(L, q)
        if not same(mul(4, t), IDENTITY):
            return t
    raise AssertionError("no point of order 8 found")


def torsion(j: int) -> Point:
    """``[j]T8``: the eight points of small order as ``j`` runs over 0..7."""
    return mul(j % 8, torsion_generator())


def challenge(r: bytes, a: bytes, message: bytes) -> int:
    """``k = SHA-512(R ‖ A ‖ M) mod L`` over the bytes given."""
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def strict_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """The rule of DESIGN §3.2 from its definition: canonical A and R, neither of small order,
    S < L, and the cofactorless equation ``[S]B = R + [k]A``."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a, r = decode(public_key), decode(signature[:32])
    if a is None or r is None or has_small_order(a) or has_small_order(r):
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = challenge(signature[:32], public_key, message)
    return same(mul_base(s), add(r, mul(k, a)))


def lenient_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """OpenSSL's and ref10's verification: A decoded leniently, no small-order check, S < L,
    and ``[S]B − [k]A`` re-encoded equal to the bytes of R (k over A's bytes as received)."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = decode(public_key, lenient=True)
    s = int.from_bytes(signature[32:], "little")
    if a is None or s >= L:
        return False
    k = challenge(signature[:32], public_key, message)
    return encode(add(mul_base(s), neg(mul(k, a)))) == signature[:32]


class HonestKey(NamedTuple):
    """An RFC 8032 key whose secret scalar and nonce key the forgers know."""

    seed: bytes
    scalar: int
    prefix: bytes
    public_key: bytes

    @classmethod
    def from_seed(cls, seed: bytes) -> HonestKey:
        digest = hashlib.sha512(seed).digest()
        scalar = int.from_bytes(digest[:32], "little")
        scalar &= (1 << 254) - 8
        scalar |= 1 << 254
        return cls(seed, scalar, digest[32:], encode(mul_base(scalar)))

    def nonce(self, message: bytes) -> int:
        return int.from_bytes(hashlib.sha512(self.prefix + message).digest(), "little") % L

    def sign(self, message: bytes) -> bytes:
        """RFC 8032 §5.1.6 signing."""
        r = self.nonce(message)
        big_r = encode(mul_base(r))
        s = (r + challenge(big_r, self.public_key, message) * self.scalar) % L
        return big_r + s.to_bytes(32, "little")

    def resign_with_r(self, message: bytes, r_bytes: bytes) -> bytes:
        """``r_bytes`` as R and ``S = r + k·a`` for the honest nonce ``r``: the R that ``S``
        recovers is the honest one, not ``r_bytes`` (Wycheproof's "InvalidEncoding")."""
        r = self.nonce(message)
        s = (r + challenge(r_bytes, self.public_key, message) * self.scalar) % L
        return r_bytes + s.to_bytes(32, "little")


def _scalars(label: bytes) -> list[int]:
    """Deterministic nonzero scalars for a forger's search."""
    return [
        int.from_bytes(hashlib.sha512(label + i.to_bytes(4, "big")).digest(), "little") % L or 1
        for i in range(64)
    ]


def _signature(r: bytes, s: int) -> bytes:
    return r + s.to_bytes(32, "little")


NEGATIVE_ZERO_ORDER_2 = ((P - 1) | 1 << 255).to_bytes(32, "little")
"""``y = −1`` with the sign bit set: the point of order 2 (whose ``x`` is 0), non-canonical."""
CANONICAL_ORDER_2 = (P - 1).to_bytes(32, "little")


def forge_speccheck(case: int, message: bytes) -> tuple[bytes, bytes]:
    """(public key, signature) of speccheck case ``case`` over ``message``.

    Raises:
        LookupError: case 0 has no search space but its 49 torsion pairs; for about one message
            in 700 none of them fits (the caller then varies its message).
    """
    t8 = torsion_generator()
    label = b"speccheck %d " % case + message
    if case == 0:  # small A, small R, S = 0: [0]B = R + [k]A
        for j in range(1, 8):
            a = encode(mul(j, t8))
            for i in range(1, 8):
                big_r = encode(mul(i, t8))
                if same(neg(mul(challenge(big_r, a, message), decode(a) or IDENTITY)), mul(i, t8)):
                    return a, _signature(big_r, 0)
        raise LookupError("no small-order pair fits this message")
    if case == 1:  # small A, mixed R = [r]B + iT, S = r: needs iT = −k·jT
        for r in _scalars(label):
            for i, j in ((1, 1), (3, 5), (2, 3), (5, 7)):
                a = encode(mul(j, t8))
                big_r = encode(add(mul_base(r), mul(i, t8)))
                if (i + challenge(big_r, a, message) * j) % 8 == 0:
                    return a, _signature(big_r, r)
    if case in (2, 3, 4, 5, 8, 9):  # mixed A = [a]B + jT, S = r + k·a
        for a_scalar in _scalars(label):
            j = 1
            a = encode(add(mul_base(a_scalar), mul(j, t8)))
            if case in (8, 9):
                # R is the negative-zero encoding of the point of order 2 (4T), S = k·a: needs
                # 4T = −k·jT, with k over R's canonical bytes (8) or over R as received (9),
                # and for the other reading of R not to fit
                big_r = NEGATIVE_ZERO_ORDER_2
                hashed, other = (CANONICAL_ORDER_2, big_r)[:: 1 if case == 8 else -1]
                k = challenge(hashed, a, message)
                if (4 + k * j) % 8 == 0 and (4 + challenge(other, a, message) * j) % 8:
                    return a, _signature(big_r, k * a_scalar % L)
                continue
            r = _scalars(label + b"r" + a)[0]
            for i in range(8):
                if case == 2:  # small R = iT, S = k·a: needs iT = −k·jT
                    big_r, s_r = encode(mul(i, t8)), 0
                elif case == 5:  # R of prime order: the torsion k·jT is left over
                    big_r, s_r = encode(mul_base(r)), r
                else:  # mixed R = [r]B + iT
                    big_r, s_r = encode(add(mul_base(r), mul(i, t8))), r
                k = challenge(big_r, a, message)
                fits = (i * (case != 5) + k * j) % 8 == 0
                if (case == 5 or i) and fits == (case in (2, 3)):
                    return a, _signature(big_r, (s_r + k * a_scalar) % L)
    if case in (6, 7):  # an honest signature with S + L, or S + 14L (its top bits set)
        honest = HonestKey.from_seed(hashlib.sha256(label).digest())
        signature = honest.sign(message)
        s = int.from_bytes(signature[32:], "little") + (L if case == 6 else 14 * L)
        return honest.public_key, _signature(signature[:32], s)
    if case in (10, 11):  # A = negative-zero order 2, R = [r]B + 4T, S = r: needs k odd, with
        # k over A's canonical bytes (10) or as received (11), and even over the other
        a = NEGATIVE_ZERO_ORDER_2
        hashed, other = (CANONICAL_ORDER_2, a)[:: 1 if case == 10 else -1]
        for r in _scalars(label):
            big_r = encode(add(mul_base(r), mul(4, t8)))
            if challenge(big_r, hashed, message) % 2 and not challenge(big_r, other, message) % 2:
                return a, _signature(big_r, r)
    raise LookupError(f"speccheck case {case}: no forgery found")


def cofactored_accepts(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """``[8][S]B = [8]R + [8][k]A`` with lenient decoding: what speccheck calls cofactored."""
    a, r = decode(public_key, lenient=True), decode(signature[:32], lenient=True)
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= L:
        return False
    k = challenge(signature[:32], public_key, message)
    return same(mul(8, mul_base(s)), mul(8, add(r, mul(k, a))))
