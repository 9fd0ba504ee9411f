"""Which registered key verified each entry: the order-free part of the audit's signature checks.

Re-verifying every actor's signature is most of an audit's cost, and it needs no order: which
key was the registered one at each point is decided later by the ordered registry pass
(``exam_core.audit``).  These functions live apart from the audit so that a worker process
running them imports only the note and entry parsers, not the whole audit, and starts fast.
"""

from __future__ import annotations

import binascii
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence

from cryptography.exceptions import InvalidSignature

from exam_core.entry import parse_entry
from exam_core.errors import ExamCoreError
from exam_core.note import (
    ED25519_SIGNATURE_SIZE,
    EM_DASH_PREFIX,
    Ed25519Verifier,
    ed25519_public_key,
    parse_vkey,
)

__all__ = ["SigningKeys", "registered_keys", "signing_keys"]

_KEY_REGISTERED = b'"type":"key.registered"'


def registered_keys(entries: Sequence[bytes]) -> dict[str, frozenset[bytes]]:
    """Every Ed25519 public key any ``key.registered`` entry names, by key name.

    A cheap pre-scan for ``signing_keys``: only entries whose text holds the canonical
    ``"type":"key.registered"`` are parsed.  Nothing here is trusted; the ordered registry pass
    decides which key was registered when.
    """
    keys: dict[str, set[bytes]] = defaultdict(set)
    for data in entries:
        if _KEY_REGISTERED not in data:
            continue
        try:
            event = parse_entry(data).event
            if event.get("type") != "key.registered":
                continue
            vkey = parse_vkey(str(event.get("vkey")))
        except ExamCoreError:
            continue
        keys[vkey.name].add(vkey.public_key)
    return {name: frozenset(found) for name, found in keys.items()}


_SOLE_SIGNATURE_LINE = re.compile(
    rb"\n\n" + re.escape(EM_DASH_PREFIX) + rb"([^ \n]+) ([A-Za-z0-9+/]*={0,2})\n"
)
"""A blank line, then one signature line ``— <name> <base64>`` that ends the note."""


def _sole_signature(data: bytes) -> tuple[bytes, str, int, bytes] | None:
    """(text, key name, key ID, signature) of a note with exactly one signature line, or None.

    The split ``parse_note`` makes (the last blank line), without its other checks: the ordered
    pass parses every entry fully and uses a verified key only for an entry that parses, for
    which the two splits agree.
    """
    split = data.rfind(b"\n\n")
    line = _SOLE_SIGNATURE_LINE.fullmatch(data, split) if split >= 0 else None
    if line is None:
        return None
    name, encoded = line.groups()
    try:
        blob = binascii.a2b_base64(encoded)
        key_name = name.decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if len(blob) < 5:
        return None
    return data[: split + 1], key_name, int.from_bytes(blob[:4], "big"), blob[4:]


class SigningKeys:
    """``signing_keys`` for one set of registered keys, loaded once for every chunk."""

    def __init__(self, keys: Mapping[str, frozenset[bytes]]) -> None:
        self._checks: dict[tuple[str, int], tuple[bytes, Callable[[bytes, bytes], None]]] = {}
        for name, public_keys in keys.items():
            for public_key in public_keys:
                key = Ed25519Verifier(name, public_key)
                verify = ed25519_public_key(public_key).verify
                self._checks[(name, key.key_id)] = (public_key, verify)

    def __call__(self, entries: Sequence[bytes]) -> list[bytes | None]:
        """For each entry, the registered public key of its signer that verifies it, else None.

        The loop calls the key objects itself: the per-entry wrapper calls of
        ``Ed25519Verifier.verify`` cost a few percent of the verification.
        """
        checks = self._checks
        result: list[bytes | None] = []
        for data in entries:
            found: bytes | None = None
            signed = _sole_signature(data)
            if signed is not None:
                text, name, key_id, signature = signed
                check = checks.get((name, key_id))
                if check is not None and len(signature) == ED25519_SIGNATURE_SIZE:
                    try:
                        check[1](signature, text)
                        found = check[0]
                    except InvalidSignature:
                        pass
            result.append(found)
        return result


def signing_keys(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> list[bytes | None]:
    """For each entry, the registered public key of its signer that verifies it, else None.

    Pure and order-free, so it can run on chunks in several processes.
    """
    return SigningKeys(keys)(entries)
