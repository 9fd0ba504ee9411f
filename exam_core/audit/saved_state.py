"""The state an audit saves for the next one (``examctl audit --save-state`` / ``--since``).

An audit that held writes, at the newest checkpoint it verified, everything the next audit of
a longer bundle needs in order to check only what is new and still give a full audit's answer:

- the checkpoint note itself, the log key it verified under, and the tree's frontier (the
  roots of its perfect subtrees, a compact range), which must give that checkpoint's root;
- how many checkpoint files the bundle listed, the SHA-256 of them and what their witnesses'
  cosignatures state, and the SHA-256 of the policy they were verified under, so that the next
  bundle is held to the same history without verifying it again;
- the ordered pass (``exam_core.audit.ordered_pass.PassState``): the key registry and every
  actor's ``seq``, the admitted entries the replayers read, every entry's signer and ``ts``,
  refused key registrations;
- the blobs checked (name → length) and referenced, and the warnings the earlier audit found
  on the entries, so the report lists them as a full audit does;
- what each replayer saves of its own (``exam_core.audit.replayer_state``).

The file is a one-line header and a body, like the centre's snapshot, whose last part is the
signing times in binary (at a million entries they are 24 MB, which JSON would make slow)::

    exam-integrity/audit-state/v1 sha256:<hex SHA-256 of the body>\\n
    <JSON of the state, keys sorted, no spaces>\\n
    <signer id, ts, latest: ``count`` little-endian int64 each>

``decode_state`` parses it strictly (any changed byte fails the digest; any field missing,
extra, of another type or out of range is refused), and ``verify_state`` holds it to the
auditor's policy: the same log, a checkpoint signed by its key, a frontier that gives that
checkpoint's root.  The digest catches corruption, not forgery: the state is the auditor's own
record, as trusted as the machine that keeps it.  Whether the bundle extends the state's tree
is the incremental audit's own check (``exam_core.audit.incremental``).
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exam_core.audit.ordered_pass import PassState
from exam_core.audit.replayer_state import JsonValue
from exam_core.audit.timing import SigningTimes
from exam_core.errors import (
    AuditStateError,
    CanonicalError,
    CheckpointError,
    EntryError,
    KeyFormatError,
    NoteError,
)
from exam_core.findings import WARNING, Finding
from exam_core.log.canonical import compact_json, parse_compact_json
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text, verify_checkpoint
from exam_core.log.entry import Entry, parse_entry
from exam_core.log.merkle import HASH_SIZE, MerkleFrontier
from exam_core.log.note import ed25519_verifier_from_vkey, parse_note
from exam_core.log.policy import Policy
from exam_core.log.registry import KeyRecord, KeyRegistry, RegistryState
from exam_core.log.schemas.types import ALL_ROLES, Role

__all__ = [
    "FORMAT",
    "MAX_STATE_BYTES",
    "AuditState",
    "decode_state",
    "encode_state",
    "verify_state",
]

FORMAT = b"exam-integrity/audit-state/v1"
VERSION = 1
MAX_STATE_BYTES = 1 << 30
"""A state grows with the entries the replayers keep and 24 bytes an entry of signing times:
a million-entry log of test events saves about 24 MB."""

_HEADER = re.compile(re.escape(FORMAT) + rb" sha256:([0-9a-f]{64})")
_FIELDS = frozenset(
    {
        "v",
        "origin",
        "log_key",
        "checkpoint",
        "listed",
        "policy",
        "frontier",
        "registry",
        "kept",
        "times",
        "refused",
        "stopped",
        "blobs",
        "referenced",
        "findings",
        "overflow",
        "replayers",
    }
)
_LISTED_FIELDS = frozenset({"count", "sha256", "cosigned"})
_REGISTRY_FIELDS = frozenset({"applied", "genesis_open", "keys", "seq"})
_KEY_FIELDS = frozenset({"name", "role", "vkey", "revoked"})
_TIMES_FIELDS = frozenset({"actors", "count"})
_FINDING_FIELDS = frozenset({"index", "code", "message"})


@dataclass(frozen=True)
class AuditState:
    """What an audit that held saves at its newest checkpoint (see the module docstring)."""

    origin: str
    log_key: str
    """The vkey of the log key the checkpoint verified under."""
    checkpoint: bytes
    """The newest checkpoint note, exactly as the bundle held it."""
    listed: int
    """How many checkpoint files the bundle listed (``checkpoints/``)."""
    listed_sha256: bytes
    """``listed_digest`` of those files."""
    cosigned: tuple[Mapping[str, int], ...]
    """Per listed checkpoint, witness → the time its verified cosignature states."""
    policy_sha256: bytes
    """SHA-256 of the policy the checkpoints were verified under."""
    frontier: tuple[bytes, ...]
    passed: PassState
    blobs: Mapping[str, int] = field(default_factory=dict)
    """Blob name → length, of every blob that hashed to its name."""
    referenced: frozenset[str] = frozenset()
    findings: tuple[Finding, ...] = ()
    """The warnings the ordered pass found on the entries so far, in order."""
    overflow: Mapping[str, int] = field(default_factory=dict)
    """Code → how many more findings of it were counted and not listed."""
    replayers: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.passed.size


def listed_digest(checkpoints: Sequence[tuple[str, bytes]]) -> bytes:
    """The SHA-256 over listed checkpoint files (path and bytes, each length-prefixed)."""
    digest = hashlib.sha256()
    for path, data in checkpoints:
        for part in (path.encode(), data):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


def _int64(values: array[int]) -> bytes:
    if sys.byteorder == "big":  # pragma: no cover - the file is little-endian everywhere
        values = array("q", values)
        values.byteswap()
    return values.tobytes()


def encode_state(state: AuditState) -> bytes:
    """The state file: header with the body's SHA-256, then the JSON body."""
    passed = state.passed
    registry = passed.registry.state()
    actors, actor, ts, latest = passed.times.saved()
    body: dict[str, Any] = {
        "v": VERSION,
        "origin": state.origin,
        "log_key": state.log_key,
        "checkpoint": state.checkpoint.decode(),
        "listed": {
            "count": state.listed,
            "sha256": state.listed_sha256.hex(),
            "cosigned": [dict(c) for c in state.cosigned],
        },
        "policy": state.policy_sha256.hex(),
        "frontier": [base64.b64encode(h).decode() for h in state.frontier],
        "registry": {
            "applied": registry.size,
            "genesis_open": registry.genesis_open,
            "keys": [
                {"name": k.name, "role": str(k.role), "vkey": k.verifier.vkey, "revoked": k.revoked}
                for k in registry.keys
            ],
            "seq": dict(registry.last_seq),
        },
        "kept": {
            kind: [[index, base64.b64encode(entry.data).decode()] for index, entry in pairs]
            for kind, pairs in passed.kept.items()
        },
        "times": {"actors": actors, "count": len(ts)},
        "refused": dict(passed.refused),
        "stopped": passed.stopped,
        "blobs": dict(state.blobs),
        "referenced": sorted(state.referenced),
        "findings": [
            {"index": f.index, "code": f.code, "message": f.message} for f in state.findings
        ],
        "overflow": dict(state.overflow),
        "replayers": dict(state.replayers),
    }
    data = compact_json(body) + b"\n" + b"".join(_int64(a) for a in (actor, ts, latest))
    return FORMAT + b" sha256:" + hashlib.sha256(data).hexdigest().encode() + b"\n" + data


def decode_state(data: bytes) -> AuditState:
    """Parse a state file strictly: its digest, its version, every field.

    Raises:
        AuditStateError: the file is too large, its header or digest is wrong, or its body is
            not a well-formed audit state.
    """
    if len(data) > MAX_STATE_BYTES:
        raise AuditStateError(f"audit state is over {MAX_STATE_BYTES} bytes")
    header, newline, rest = data.partition(b"\n")
    match = _HEADER.fullmatch(header)
    if not newline or match is None:
        raise AuditStateError(
            "not an audit state: the header is not 'exam-integrity/audit-state/v1 sha256:…'"
        )
    if hashlib.sha256(rest).hexdigest().encode() != match.group(1):
        raise AuditStateError("audit state body does not match its SHA-256: the file was changed")
    text, newline, arrays = rest.partition(b"\n")
    if not newline:
        raise AuditStateError("audit state body does not end with a newline")
    body = _object(_loads(text), _FIELDS, "body")
    if body["v"] != VERSION:
        raise AuditStateError(f"audit state is not version {VERSION}")
    origin = _string(body["origin"], "origin")
    note = _string(body["checkpoint"], "checkpoint").encode()
    try:
        size = parse_checkpoint_text(parse_note(note).text).size
    except (NoteError, CheckpointError) as e:
        raise AuditStateError(f"audit state checkpoint: {e}") from e
    listed = _object(body["listed"], _LISTED_FIELDS, "listed")
    passed = PassState(
        size=size,
        registry=_registry(origin, body["registry"]),
        kept=_kept(body["kept"], size),
        times=_times(body["times"], arrays, size),
        refused={
            k: _index(v, size, "refused") for k, v in _dict(body["refused"], "refused").items()
        },
        stopped=None if body["stopped"] is None else _index(body["stopped"], size, "stopped"),
    )
    findings = tuple(_finding(f, size) for f in _list(body["findings"], "findings"))
    return AuditState(
        origin=origin,
        log_key=_string(body["log_key"], "log_key"),
        checkpoint=note,
        listed=_count(listed["count"], "listed count"),
        listed_sha256=_hex(listed["sha256"], "listed sha256"),
        cosigned=_cosigned(listed["cosigned"], listed["count"]),
        policy_sha256=_hex(body["policy"], "policy"),
        frontier=tuple(_hash(h) for h in _list(body["frontier"], "frontier")),
        passed=passed,
        blobs={
            _blob_name(name): _count(n, "blob length")
            for name, n in _dict(body["blobs"], "blobs").items()
        },
        referenced=frozenset(_blob_name(n) for n in _list(body["referenced"], "referenced")),
        findings=findings,
        overflow={c: _count(n, "overflow") for c, n in _dict(body["overflow"], "overflow").items()},
        replayers=_dict(body["replayers"], "replayers"),
    )


def verify_state(state: AuditState, policy: Policy) -> Checkpoint:
    """Hold a decoded state to the auditor's policy; return the checkpoint it was saved at.

    Raises:
        AuditStateError: the state is of another log or log key, its checkpoint is not signed
            by that key, or its frontier does not give that checkpoint's root.
    """
    if state.origin != policy.origin:
        raise AuditStateError(
            f"the audit state is of log {state.origin!r}, not of {policy.origin!r}"
        )
    if state.log_key not in {log.vkey for log in policy.logs}:
        raise AuditStateError(
            f"the audit state was saved under log key {state.log_key}, which the policy does "
            "not name"
        )
    try:
        checkpoint = verify_checkpoint(state.checkpoint, ed25519_verifier_from_vkey(state.log_key))
    except (CheckpointError, KeyFormatError) as e:
        raise AuditStateError(f"the audit state's checkpoint does not verify: {e}") from e
    try:
        frontier = MerkleFrontier.from_subtree_hashes(checkpoint.size, state.frontier)
    except ValueError as e:
        raise AuditStateError(f"the audit state's frontier: {e}") from e
    if frontier.root() != checkpoint.root_hash:
        raise AuditStateError("the audit state's frontier does not give its checkpoint's root")
    return checkpoint


# -- strict parsing --------------------------------------------------------------------------


def _loads(data: bytes) -> Any:
    try:
        return parse_compact_json(data)
    except CanonicalError as e:
        raise AuditStateError(f"audit state body: {e}") from e


def _object(value: Any, fields: frozenset[str], what: str) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != fields:
        raise AuditStateError(f"audit state {what} is not an object of {sorted(fields)}")
    return value


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AuditStateError(f"audit state {what} is not an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise AuditStateError(f"audit state {what} is not a list")
    return value


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise AuditStateError(f"audit state {what} is not a string")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise AuditStateError(f"audit state {what} is not true or false")
    return value


def _count(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AuditStateError(f"audit state {what} is not a non-negative integer")
    return value


def _index(value: Any, size: int, what: str) -> int:
    index = _count(value, what)
    if index >= size:
        raise AuditStateError(f"audit state {what} {index} is not an entry of its {size}")
    return index


def _hex(value: Any, what: str) -> bytes:
    text = _string(value, what)
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise AuditStateError(f"audit state {what} is not 64 lowercase hex digits")
    return bytes.fromhex(text)


def _blob_name(value: Any) -> str:
    return _hex(value, "blob name").hex()


def _b64(value: Any, what: str) -> bytes:
    text = _string(value, what)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as e:  # binascii.Error, or a text that is not ASCII
        raise AuditStateError(f"audit state {what} is not base64: {e}") from e
    # Base64 is canonical group by group: only the last group can hide spare bits.
    if text and base64.b64encode(raw[(len(text) // 4 - 1) * 3 :]).decode() != text[-4:]:
        raise AuditStateError(f"audit state {what} is not canonical base64")
    return raw


def _hash(value: Any) -> bytes:
    raw = _b64(value, "frontier hash")
    if len(raw) != HASH_SIZE:
        raise AuditStateError(f"audit state frontier hash is not {HASH_SIZE} bytes")
    return raw


def _int64_array(raw: memoryview) -> array[int]:
    values = array("q")
    values.frombytes(raw)
    if sys.byteorder == "big":  # pragma: no cover - the file is little-endian everywhere
        values.byteswap()
    return values


def _registry(origin: str, value: Any) -> KeyRegistry:
    body = _object(value, _REGISTRY_FIELDS, "registry")
    keys = []
    for k in _list(body["keys"], "registry keys"):
        record = _object(k, _KEY_FIELDS, "registry key")
        name, role = _string(record["name"], "key name"), _string(record["role"], "key role")
        if role not in ALL_ROLES:
            raise AuditStateError(f"audit state key {name} has unknown role {role!r}")
        try:
            verifier = ed25519_verifier_from_vkey(_string(record["vkey"], "vkey"))
        except KeyFormatError as e:
            raise AuditStateError(f"audit state key {name}: {e}") from e
        keys.append(KeyRecord(name, Role(role), verifier, _flag(record["revoked"], "revoked")))
    seq = [(actor, _count(n, f"seq of {actor}")) for actor, n in _dict(body["seq"], "seq").items()]
    state = RegistryState(
        size=_count(body["applied"], "registry applied"),
        genesis_open=_flag(body["genesis_open"], "genesis_open"),
        keys=tuple(keys),
        last_seq=tuple(seq),
    )
    try:
        return KeyRegistry.from_state(origin, state)
    except ValueError as e:
        raise AuditStateError(f"audit state registry: {e}") from e


def _kept(value: Any, size: int) -> dict[str, list[tuple[int, Entry]]]:
    kept: dict[str, list[tuple[int, Entry]]] = {}
    for kind, pairs in _dict(value, "kept").items():
        out: list[tuple[int, Entry]] = []
        for pair in _list(pairs, f"kept {kind}"):
            if not isinstance(pair, list) or len(pair) != 2:
                raise AuditStateError(f"audit state kept {kind}: not [index, entry] pairs")
            index = _index(pair[0], size, f"kept {kind} index")
            try:
                entry = parse_entry(_b64(pair[1], f"kept {kind} entry"))
            except EntryError as e:
                raise AuditStateError(f"audit state kept entry {index}: {e.message}") from e
            if entry.type != kind or (out and index <= out[-1][0]):
                raise AuditStateError(f"audit state kept entry {index} is out of place")
            out.append((index, entry))
        kept[kind] = out
    return kept


def _times(value: Any, arrays: bytes, size: int) -> SigningTimes:
    body = _object(value, _TIMES_FIELDS, "times")
    actors = [_string(a, "signer") for a in _list(body["actors"], "signers")]
    count = _count(body["count"], "times count")
    if count > size:
        raise AuditStateError(f"audit state times cover more than its {size} entries")
    if len(arrays) != 3 * 8 * count:
        raise AuditStateError(
            f"audit state ends with {len(arrays)} bytes of signing times; {count} entries "
            f"take {3 * 8 * count}"
        )
    view = memoryview(arrays)
    parts = [_int64_array(view[k * 8 * count : (k + 1) * 8 * count]) for k in range(3)]
    try:
        return SigningTimes.resumed(actors, *parts)
    except ValueError as e:
        raise AuditStateError(f"audit state {e}") from e


def _cosigned(value: Any, count: int) -> tuple[dict[str, int], ...]:
    times = tuple(
        {w: _count(t, "cosignature time") for w, t in _dict(c, "cosigned").items()}
        for c in _list(value, "cosigned")
    )
    if len(times) != count:
        raise AuditStateError(f"audit state lists {count} checkpoints and {len(times)} witnessings")
    return times


def _finding(value: Any, size: int) -> Finding:
    body = _object(value, _FINDING_FIELDS, "finding")
    return Finding(
        _index(body["index"], size, "finding index"),
        _string(body["code"], "finding code"),
        _string(body["message"], "finding message"),
        WARNING,
    )
