"""The Ed25519 cases every verifier of the project is tested against (DESIGN §3.2).

- ``vectors()``: the twelve speccheck cases and the 151 Wycheproof vectors as published
  (``tests/vectors/ed25519/``), for verifiers that take a raw key, signature and message.
- ``transplanted(message)``: the same cases made over a message of the caller's format (a note,
  an entry, a checkpoint body), for verifiers whose message cannot be an arbitrary byte string.
  Each speccheck case is forged again with the same construction (``ed25519_reference``); each
  Wycheproof vector becomes the same defect applied to an honest signature of the message.

Every case carries the strict rule's answer: speccheck case 3 alone of the twelve is valid, and a
Wycheproof vector is valid exactly when Wycheproof says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from tests.ed25519_reference import HonestKey, L, challenge, forge_speccheck
from tests.vector_files import VECTOR_DIR

ED25519_DIR = VECTOR_DIR / "ed25519"
SPECCHECK_VALID = frozenset({3})
"""The speccheck cases the strict rule accepts: mixed-order A and R that pass both equations."""
HONEST = HonestKey.from_seed(bytes(range(32)))


class Case(NamedTuple):
    label: str
    public_key: bytes
    signature: bytes
    message: bytes
    valid: bool
    """The strict rule's answer."""


@lru_cache(maxsize=1)
def _speccheck() -> list[dict[str, str]]:
    loaded: list[dict[str, str]] = json.loads((ED25519_DIR / "speccheck_cases.json").read_text())
    return loaded


@lru_cache(maxsize=1)
def _wycheproof() -> list[tuple[str, dict[str, Any]]]:
    """(group public key hex, test) for every Wycheproof test."""
    data = json.loads((ED25519_DIR / "wycheproof_ed25519_test.json").read_text())
    return [(g["publicKey"]["pk"], t) for g in data["testGroups"] for t in g["tests"]]


def vectors() -> list[Case]:
    """Every speccheck case and Wycheproof vector as published."""
    cases = [
        Case(
            f"speccheck {i}",
            bytes.fromhex(c["pub_key"]),
            bytes.fromhex(c["signature"]),
            bytes.fromhex(c["message"]),
            i in SPECCHECK_VALID,
        )
        for i, c in enumerate(_speccheck())
    ]
    cases += [
        Case(
            f"wycheproof {t['tcId']}",
            bytes.fromhex(pk),
            bytes.fromhex(t["sig"]),
            bytes.fromhex(t["msg"]),
            t["result"] == "valid",
        )
        for pk, t in _wycheproof()
    ]
    return cases


def public_keys() -> list[tuple[str, bytes]]:
    """Every distinct public key of the published vectors, labelled by its first case."""
    seen: dict[bytes, str] = {}
    for case in vectors():
        seen.setdefault(case.public_key, case.label)
    return [(label, key) for key, label in seen.items()]


_LENGTH_EDITS: dict[str, Callable[[bytes], bytes]] = {
    "empty signature": lambda s: b"",
    "s missing": lambda s: s[:32],
    "signature too short": lambda s: s[:62],
    "signature too long": lambda s: s + b"  ",
    "include pk in signature": lambda s: s + HONEST.public_key,
    "prepending 0 byte to signature": lambda s: b"\x00" + s,
    "prepending 0 byte to s": lambda s: s[:32] + b"\x00" + s[32:],
    "appending 0 byte to signature": lambda s: s + b"\x00",
    "removing 0 byte from signature": lambda s: s[:40] + s[41:],
    "removing leading 0 byte from signature": lambda s: s[1:],
    "dropping byte from signature": lambda s: s[:33] + s[34:],
}
"""Wycheproof's edits of a signature's length, by their comment, applied to ours."""
_MODIFIED_R_BIT = re.compile(r"modified bit (\d+) in R")


def _published_s(pk: str, message: str) -> int | None:
    """S of the valid Wycheproof signature of ``message`` under ``pk``, if one is published."""
    for group_pk, t in _wycheproof():
        if group_pk == pk and t["msg"] == message and t["result"] == "valid":
            return int.from_bytes(bytes.fromhex(t["sig"])[32:], "little")
    return None


def _wycheproof_defect(pk: str, test: dict[str, Any], message: bytes) -> bytes:
    """The signature ``test`` makes of an honest signature of ``message`` by ``HONEST``."""
    honest = HONEST.sign(message)
    published = bytes.fromhex(test["sig"])
    comment, flags = test["comment"], test["flags"]
    if test["result"] == "valid":
        return honest
    if comment == "special values for r and s":
        return published  # the same R and S whatever the key and message
    if comment in _LENGTH_EDITS:
        return _LENGTH_EDITS[comment](honest)
    if "SignatureMalleability" in flags or "InvalidKtv" in flags:
        base = _published_s(pk, test["msg"])
        added = L if base is None else int.from_bytes(published[32:], "little") - base
        s = (int.from_bytes(honest[32:], "little") + added) % 2**256
        return honest[:32] + s.to_bytes(32, "little")
    if "InvalidEncoding" in flags:
        r = int.from_bytes(honest[:32], "little")
        bit = _MODIFIED_R_BIT.match(comment)
        if bit is not None:
            wrong_r = (r ^ 1 << int(bit.group(1))).to_bytes(32, "little")
        elif comment == "R==0":
            wrong_r = bytes(32)
        elif comment == "invalid R":
            wrong_r = published[:32]
        elif comment == "all bits flipped in R":
            wrong_r = (r ^ (1 << 256) - 1).to_bytes(32, "little")
        elif comment.startswith("R encodes y = 1 with the sign bit of x set"):
            # S = k·a, so that [S]B − [k]A is the identity, whose canonical encoding differs
            # from R only in the sign bit
            wrong_r = (1 | 1 << 255).to_bytes(32, "little")
            s = challenge(wrong_r, HONEST.public_key, message) * HONEST.scalar % L
            return wrong_r + s.to_bytes(32, "little")
        else:
            raise KeyError(f"no transplant for Wycheproof {test['tcId']}: {comment}")
        return HONEST.resign_with_r(message, wrong_r)
    raise KeyError(f"no transplant for Wycheproof {test['tcId']}: {comment}")


def transplanted_speccheck(message: bytes) -> list[Case]:
    """The twelve speccheck cases forged over ``message``, each under its own public key."""
    return [
        Case(f"speccheck {i}", *forge_speccheck(i, message), message, i in SPECCHECK_VALID)
        for i in range(12)
    ]


def transplanted_wycheproof(message: bytes) -> list[Case]:
    """Each Wycheproof vector's defect on an honest signature of ``message`` by ``HONEST``;
    vectors that give the same signature are kept once."""
    cases: dict[bytes, Case] = {}
    for pk, test in _wycheproof():
        signature = _wycheproof_defect(pk, test, message)
        label = f"wycheproof {test['tcId']}"
        cases.setdefault(
            signature,
            Case(label, HONEST.public_key, signature, message, test["result"] == "valid"),
        )
    return list(cases.values())


def transplanted(message: bytes) -> list[Case]:
    """Every case over ``message``: speccheck forgeries, then Wycheproof defects."""
    return transplanted_speccheck(message) + transplanted_wycheproof(message)
