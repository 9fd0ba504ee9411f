"""Which registered key verified each entry: the order-free part of the audit's signature checks.

Re-verifying every actor's signature is most of an audit's cost, and it needs no order: which
key was the registered one at each point is decided later by the ordered registry pass
(``exam_core.audit``).  These functions live apart from the audit so that a worker process
running them imports only the note and entry parsers, not the whole audit, and starts fast.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from collections.abc import Mapping, Sequence

from exam_core.entry import parse_entry
from exam_core.errors import ExamCoreError
from exam_core.note import EM_DASH_PREFIX, Ed25519Verifier, parse_vkey

__all__ = ["registered_keys", "signing_keys"]

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


def _sole_signature(data: bytes) -> tuple[bytes, str, int, bytes] | None:
    """(text, key name, key ID, signature) of a note with exactly one signature line, or None.

    The split ``parse_note`` makes (the last blank line), without its other checks: the ordered
    pass parses every entry fully and uses a verified key only for an entry that parses, for
    which the two splits agree.
    """
    split = data.rfind(b"\n\n")
    line = data[split + 2 :]
    if split < 0 or not line.startswith(EM_DASH_PREFIX) or line.find(b"\n") != len(line) - 1:
        return None
    fields = line[len(EM_DASH_PREFIX) : -1].split(b" ")
    if len(fields) != 2:
        return None
    try:
        blob = base64.b64decode(fields[1], validate=True)
        name = fields[0].decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    if len(blob) < 5:
        return None
    return data[: split + 1], name, int.from_bytes(blob[:4], "big"), blob[4:]


def signing_keys(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> list[bytes | None]:
    """For each entry, the registered public key of its signer that verifies it, else None.

    Pure and order-free, so it can run on chunks in several processes.
    """
    verifiers = {
        (verifier.name, verifier.key_id): verifier
        for name, public_keys in keys.items()
        for verifier in (Ed25519Verifier(name, public_key) for public_key in public_keys)
    }
    result: list[bytes | None] = []
    for data in entries:
        found: bytes | None = None
        signed = _sole_signature(data)
        if signed is not None:
            text, name, key_id, signature = signed
            verifier = verifiers.get((name, key_id))
            if verifier is not None and verifier.verify(text, signature):
                found = verifier.public_key
        result.append(found)
    return result
