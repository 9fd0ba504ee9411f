"""A centre's snapshot: its admission state at one checkpoint, so opening need not replay the log.

A centre that has run for a year holds millions of entries; rebuilding its key registry and
per-actor ``seq`` from all of them would take minutes (docs/log.md).  The writer therefore
saves, every few thousand entries and when it closes, what admission needs — the key registry,
the ``seq`` of every actor and the tree frontier — at a checkpoint it has just published, and a
centre that opens resumes from it and reads only the entries after it.

The file is a one-line header and a body::

    exam-integrity/centre-snapshot/v1 sha256:<hex SHA-256 of the body>\\n
    <canonical JSON of the state>\\n

The body names the checkpoint note it was taken at, byte for byte, so its hash is bound to that
checkpoint.  A snapshot is never trusted because it is there: ``verify_snapshot`` checks it
against the log, and a centre that finds any step failing says so and replays the log instead.

1. the header names this format and the body hashes to the digest it gives (any changed byte);
2. the body is JSON in exactly the form ``encode_snapshot`` writes (no float, no duplicate key,
   keys sorted, no spaces) with exactly the expected fields, every key a valid vkey of its name
   and every role one the log knows (``decode_snapshot``);
3. it is a snapshot of this log (origin);
4. its checkpoint note is signed by the log's key and is of the size the snapshot claims;
5. the log holds that very checkpoint note at that size (a snapshot of a tree the log does not
   have — another log, a lost branch, a log restored from an older backup — is refused);
6. its frontier reproduces that checkpoint's root hash, so the tree it resumes is the signed one.

What the checks cannot show is that the registry is the one those entries produce: that is as
trusted as the centre directory itself, whose key files and ``centre.json`` an intruder with
write access could replace too.  The offline audit never reads a snapshot; it replays every
entry from the log, so an entry admitted under a forged registry would be reported there.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from exam_core.centre.ingest import AdmissionState
from exam_core.errors import CanonicalError, CheckpointError, KeyFormatError, StoreError
from exam_core.log.canonical import compact_json, parse_compact_json
from exam_core.log.checkpoint import Checkpoint, verify_checkpoint
from exam_core.log.merkle import HASH_SIZE, MerkleFrontier
from exam_core.log.note import NoteVerifier, ed25519_verifier_from_vkey
from exam_core.log.registry import KeyRecord, KeyRegistry, RegistryState
from exam_core.log.schemas.types import ALL_ROLES, Role

FORMAT = b"exam-integrity/centre-snapshot/v1"
VERSION = 1
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024
"""Far above any centre's registry (a key costs ~200 bytes), far below a machine's memory."""

_HEADER = re.compile(re.escape(FORMAT) + rb" sha256:([0-9a-f]{64})")
_FIELDS = frozenset(
    {"v", "origin", "size", "checkpoint", "frontier", "genesis_open", "keys", "seq"}
)
_KEY_FIELDS = frozenset({"name", "role", "vkey", "revoked"})


@dataclass(frozen=True)
class CentreSnapshot:
    """The admission state of ``origin``'s log at the checkpoint note ``checkpoint``; its size
    is the number of entries the state's registry has seen."""

    origin: str
    checkpoint: bytes
    """The signed checkpoint note of the log at ``state.size``, exactly as the log stores it."""
    state: AdmissionState

    @property
    def size(self) -> int:
        return self.state.size


def encode_snapshot(snapshot: CentreSnapshot) -> bytes:
    """The snapshot file: header with the body's SHA-256, then the canonical JSON body."""
    registry = snapshot.state.registry
    body = {
        "v": VERSION,
        "origin": snapshot.origin,
        "size": snapshot.size,
        "checkpoint": snapshot.checkpoint.decode(),
        "frontier": [base64.b64encode(h).decode() for h in snapshot.state.frontier],
        "genesis_open": registry.genesis_open,
        "keys": [
            {"name": k.name, "role": str(k.role), "vkey": k.verifier.vkey, "revoked": k.revoked}
            for k in registry.keys
        ],
        "seq": dict(registry.last_seq),
    }
    data = compact_json(body) + b"\n"
    return FORMAT + b" sha256:" + hashlib.sha256(data).hexdigest().encode() + b"\n" + data


def decode_snapshot(data: bytes) -> CentreSnapshot:
    """Parse a snapshot file strictly (steps 1 and 2 of the module docstring).

    Raises:
        StoreError: the file is too large, its header or digest is wrong, or its body is not
            a well-formed snapshot.
    """
    if len(data) > MAX_SNAPSHOT_BYTES:
        raise StoreError(f"snapshot is over {MAX_SNAPSHOT_BYTES} bytes")
    # (1) the header names the format, and the body hashes to its digest
    header, newline, rest = data.partition(b"\n")
    match = _HEADER.fullmatch(header)
    if not newline or match is None:
        raise StoreError("snapshot header is not 'exam-integrity/centre-snapshot/v1 sha256:…'")
    if hashlib.sha256(rest).hexdigest().encode() != match.group(1):
        raise StoreError("snapshot body does not match its SHA-256: the file was changed")
    # (2) exactly the expected fields, each well-formed
    if not rest.endswith(b"\n"):
        raise StoreError("snapshot body does not end with a newline")
    body = _loads(rest[:-1])
    if not isinstance(body, dict) or set(body) != _FIELDS or body["v"] != VERSION:
        raise StoreError(f"snapshot body is not a version {VERSION} snapshot")
    origin = _string(body["origin"], "origin")
    size = _count(body["size"], "size")
    registry = RegistryState(
        size=size,
        genesis_open=_flag(body["genesis_open"], "genesis_open"),
        keys=tuple(_key_record(k) for k in _list(body["keys"], "keys")),
        last_seq=tuple(_last_seq(body["seq"])),
    )
    try:
        KeyRegistry.from_state(origin, registry)  # the state must not contradict itself
    except ValueError as e:
        raise StoreError(f"snapshot registry: {e}") from e
    frontier = tuple(_hash(h) for h in _list(body["frontier"], "frontier"))
    checkpoint = _string(body["checkpoint"], "checkpoint").encode()
    return CentreSnapshot(origin, checkpoint, AdmissionState(registry, frontier))


def verify_snapshot(
    snapshot: CentreSnapshot,
    origin: str,
    log_key: NoteVerifier,
    logged_checkpoint: bytes | None,
) -> Checkpoint:
    """Check a decoded snapshot against the log (steps 3–6); return its checkpoint.

    ``logged_checkpoint`` is the checkpoint note the log holds for ``snapshot.size`` entries
    (None when it holds none).

    Raises:
        StoreError: the snapshot is not one of this log, at a checkpoint the log signed and
            holds, with that checkpoint's tree.
    """
    # (3) this log's snapshot
    if snapshot.origin != origin:
        raise StoreError(f"snapshot is of log {snapshot.origin!r}, not {origin!r}")
    # (4) a checkpoint signed by the log key, of the claimed size
    try:
        checkpoint = verify_checkpoint(snapshot.checkpoint, log_key)
    except CheckpointError as e:
        raise StoreError(f"snapshot checkpoint does not verify under the log key: {e}") from e
    if checkpoint.size != snapshot.size:
        raise StoreError(
            f"snapshot of {snapshot.size} entries names a checkpoint of {checkpoint.size}"
        )
    # (5) the log holds that very checkpoint
    if logged_checkpoint is None:
        raise StoreError(f"the log has no checkpoint of size {snapshot.size}")
    if logged_checkpoint != snapshot.checkpoint:
        raise StoreError(f"the log's checkpoint of size {snapshot.size} is another one")
    # (6) the frontier is the signed tree
    try:
        frontier = MerkleFrontier.from_subtree_hashes(snapshot.size, snapshot.state.frontier)
    except ValueError as e:
        raise StoreError(f"snapshot frontier: {e}") from e
    if frontier.root() != checkpoint.root_hash:
        raise StoreError("snapshot frontier does not reproduce the checkpoint's root hash")
    return checkpoint


def _loads(data: bytes) -> Any:
    try:
        return parse_compact_json(data)
    except CanonicalError as e:
        raise StoreError(f"snapshot body: {e}") from e


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise StoreError(f"snapshot {what} is not a string")
    return value


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise StoreError(f"snapshot {what} is not a non-negative integer")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise StoreError(f"snapshot {what} is not true or false")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise StoreError(f"snapshot {what} is not a list")
    return value


def _hash(value: Any) -> bytes:
    try:
        raw = base64.b64decode(_string(value, "frontier hash"), validate=True)
    except ValueError as e:  # binascii.Error, or a text that is not ASCII
        raise StoreError(f"snapshot frontier hash is not base64: {e}") from e
    if len(raw) != HASH_SIZE or base64.b64encode(raw).decode() != value:
        raise StoreError(f"snapshot frontier hash is not {HASH_SIZE} canonically encoded bytes")
    return raw


def _key_record(value: Any) -> KeyRecord:
    if not isinstance(value, dict) or set(value) != _KEY_FIELDS:
        raise StoreError(f"snapshot key is not an object of {sorted(_KEY_FIELDS)}")
    name = _string(value["name"], "key name")
    role = _string(value["role"], "key role")
    if role not in ALL_ROLES:
        raise StoreError(f"snapshot key {name} has unknown role {role!r}")
    try:
        verifier = ed25519_verifier_from_vkey(_string(value["vkey"], "vkey"))
    except KeyFormatError as e:
        raise StoreError(f"snapshot key {name}: {e}") from e
    if verifier.name != name:
        raise StoreError(f"snapshot key {name} holds the vkey of {verifier.name}")
    return KeyRecord(name, Role(role), verifier, _flag(value["revoked"], "revoked"))


def _last_seq(value: Any) -> list[tuple[str, int]]:
    if not isinstance(value, dict):
        raise StoreError("snapshot seq is not an object")
    return [(actor, _count(seq, f"seq of {actor}")) for actor, seq in value.items()]


__all__ = ["CentreSnapshot", "decode_snapshot", "encode_snapshot", "verify_snapshot"]
