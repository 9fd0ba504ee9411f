"""The key registry the mirror resumes from: ``RegistryState`` to bytes and back.

The mirror checks a centre's entries as the log grows, in order, with the ingest rules
(``KeyRegistry``), and must resume after a restart without reading the entries it already
checked.  So, with every batch of entries it stores, it stores the registry as it stands after
them: canonical JSON of the keys (name, role, vkey, revoked) and each actor's last ``seq``.
Read back strictly: it is the monitoring centre's own data, but a registry that contradicts
itself must stop the mirror rather than let it admit entries under a wrong key.
"""

from __future__ import annotations

from typing import Any

from exam_core.errors import CanonicalError, KeyFormatError, StoreError
from exam_core.log.canonical import canonical_json, parse_canonical
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.log.registry import KeyRecord, KeyRegistry, RegistryState
from exam_core.log.schemas.types import ALL_ROLES, Role

__all__ = ["decode_registry", "encode_registry"]

VERSION = 1


def encode_registry(state: RegistryState) -> bytes:
    """The canonical JSON of ``state``."""
    return canonical_json(
        {
            "v": VERSION,
            "size": state.size,
            "genesis_open": state.genesis_open,
            "keys": [[k.name, str(k.role), k.verifier.vkey, k.revoked] for k in state.keys],
            "seq": [[actor, seq] for actor, seq in state.last_seq],
        }
    )


def decode_registry(origin: str, data: bytes) -> KeyRegistry:
    """The registry of ``origin`` that ``encode_registry`` wrote.

    Raises:
        StoreError: ``data`` is not such a registry, or it contradicts itself.
    """
    try:
        body: Any = parse_canonical(data)
        if not isinstance(body, dict) or body.get("v") != VERSION:
            raise StoreError(f"the mirror's registry is not version {VERSION}")
        keys = tuple(_key(k) for k in body["keys"])
        state = RegistryState(
            size=int(body["size"]),
            genesis_open=bool(body["genesis_open"]),
            keys=keys,
            last_seq=tuple((str(a), int(s)) for a, s in body["seq"]),
        )
        return KeyRegistry.from_state(origin, state)
    except (CanonicalError, KeyFormatError, KeyError, TypeError, ValueError) as e:
        raise StoreError(f"the mirror's registry of {origin} is unreadable: {e}") from e


def _key(value: Any) -> KeyRecord:
    name, role, vkey, revoked = value
    if role not in ALL_ROLES:
        raise ValueError(f"key {name} has unknown role {role!r}")
    return KeyRecord(str(name), Role(role), ed25519_verifier_from_vkey(str(vkey)), bool(revoked))
