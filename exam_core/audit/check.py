"""The offline audit of a log bundle (DESIGN §3.5): every check, every finding, no early exit.

An auditor trusts nobody but the keys in the policy, so this module recomputes everything the
bundle claims from the entries themselves and reports each difference with the entry index (or
the file, for things that belong to no entry).  It is pure: a ``Bundle`` of bytes in, an
``AuditReport`` out; ``exam_core.audit.reader`` does the reading.

The steps, numbered as in the body:

1. the policy parses; every checkpoint carries the log's signature and the witness quorum of
   the policy, in canonical encoding; the history runs without gaps and never shrinks, two
   checkpoints of one size agree, and the top checkpoint is the newest one listed;
2. the entry bundles decode; the tree recomputed from the entries has the newest checkpoint's
   size and root, and every older checkpoint's root at its size (so successive checkpoints
   are consistent without a proof: the auditor holds every entry); independently of the
   entries, an RFC 9162 consistency proof from each checkpoint to the newest is built from
   the level-0 tiles and verified, which tells a forked log from a changed bundle; every tile
   file equals the tile recomputed from the entries;
3. every entry passes ``KeyRegistry`` — the very rules ingest applies (actor signature, key
   registration and revocation, role, schema, ``seq`` without gaps) — with the administrator
   keys the policy pins;
4. and 5. every allocation and every score is recomputed by the ``Replayer`` the caller plugs
   in for its event types (``exam_core`` never imports the domains that own them);
6. every blob hashes to its name, and every blob an entry references (a ``…sha256`` field with
   its sibling ``…length`` or ``…len``) is present with that length; device gating (§5.4) is
   checked by the ``gating`` replayers, the hook kept for it.

Signature checks dominate the cost (tlog.md §5.2), so a caller may pass ``signature_check``: a
function that verifies the entries' signatures ahead of the ordered pass (e.g. in worker
processes, see ``exam_core.audit.pool``) and yields, per entry, the public key that verified
it.  The registry then only confirms that this is the key registered at that point.
"""

from __future__ import annotations

import base64
import gc
import hashlib
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from heapq import merge
from operator import itemgetter
from typing import Any

from exam_core.audit.history import Finding, Replayer
from exam_core.audit.reader import Bundle
from exam_core.audit.signatures import registered_keys, signing_keys
from exam_core.errors import CheckpointError, EntryError, NoteError, ProofError
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text
from exam_core.log.cosignature import verified_witnesses
from exam_core.log.entry import Entry, parse_entry
from exam_core.log.evidence import blob_references, referenced_blobs
from exam_core.log.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    HashSource,
    consistency_proof,
    hash_source_from_leaf_hashes,
    leaf_hash,
    subtree_root,
    verify_consistency,
)
from exam_core.log.note import parse_note
from exam_core.log.policy import Policy, parse_policy
from exam_core.log.registry import KeyRegistry
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TILE_HEIGHT,
    TILE_WIDTH,
    TilePath,
    checkpoint_history_path,
    decode_entry_bundle,
    read_leaf_hashes,
    tiles_for_size,
)

__all__ = [
    "ERROR",
    "WARNING",
    "AuditReport",
    "SignatureCheck",
    "blob_references",
    "check_bundle",
    "registered_keys",
    "signing_keys",
]

ERROR = "error"
WARNING = "warning"
MAX_FINDINGS_PER_CODE = 1000
"""Beyond this many findings of one code the rest are counted, not listed (one shifted entry
can make every later leaf differ)."""

SignatureCheck = Callable[[Sequence[bytes], Mapping[str, frozenset[bytes]]], Iterator[bytes | None]]
"""``(entries, registered public keys by name) -> per entry, the key that verified it or None``."""


@dataclass(frozen=True)
class AuditReport:
    """Everything the audit found, with what it audited; ``ok`` only without error findings."""

    findings: tuple[Finding, ...]
    origin: str | None
    tree_size: int | None
    """Size of the newest checkpoint (None when the bundle has no readable checkpoint)."""
    root_hash: bytes | None
    entries: int
    checkpoints: int
    blobs: int

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity != WARNING)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready report (hashes in hex) for machines."""
        return {
            "ok": self.ok,
            "origin": self.origin,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex() if self.root_hash is not None else None,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "blobs": self.blobs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [
                {"index": f.index, "code": f.code, "message": f.message, "severity": f.severity}
                for f in self.findings
            ],
        }


def _order(tile: TilePath) -> tuple[int, int, int]:
    return (tile.level, tile.n, tile.length)


def _first_leaf(tile: TilePath) -> int:
    """The first entry index a tile covers."""
    return (tile.n * TILE_WIDTH) << (TILE_HEIGHT * max(tile.level, 0))


class _Findings:
    """Collects findings, listing at most ``MAX_FINDINGS_PER_CODE`` of each code."""

    def __init__(self) -> None:
        self.listed: list[Finding] = []
        self._count: dict[str, int] = defaultdict(int)

    def add(self, index: int | None, code: str, message: str, severity: str = ERROR) -> None:
        self._count[code] += 1
        if self._count[code] <= MAX_FINDINGS_PER_CODE:
            self.listed.append(Finding(index, code, message, severity))

    def extend(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            self.add(f.index, f.code, f.message, f.severity)

    def done(self) -> tuple[Finding, ...]:
        tail = [
            Finding(None, code, f"{n - MAX_FINDINGS_PER_CODE} more {code} findings not listed")
            for code, n in sorted(self._count.items())
            if n > MAX_FINDINGS_PER_CODE
        ]
        return (*self.listed, *tail)


@dataclass(frozen=True)
class _SeenCheckpoint:
    """A checkpoint file, its parsed body, and whether its signatures held."""

    path: str
    checkpoint: Checkpoint


class _History:
    """The ``AuditHistory`` replayers see: the admitted entries of the types they read, by
    type and in log order, and the blobs that match their hash.

    Only those entries are kept: an audit of a long log holds the entries' bytes, not a parsed
    copy of every one of them.
    """

    def __init__(self, blobs: Mapping[str, bytes], reads: Collection[str]) -> None:
        self._blobs = blobs
        self._by_type: dict[str, tuple[list[int], list[Entry]]] = {kind: ([], []) for kind in reads}

    def admit(self, index: int, entry: Entry) -> None:
        """Record an entry the ingest rules admitted; indices come in increasing order."""
        kept = self._by_type.get(entry.type)
        if kept is not None:
            kept[0].append(index)
            kept[1].append(entry)

    def earlier(
        self, kinds: Collection[str], stop: int, start: int = 0
    ) -> Iterator[tuple[int, Entry]]:
        runs: list[Iterator[tuple[int, Entry]]] = []
        for kind in frozenset(kinds):
            kept = self._by_type.get(kind)
            if kept is None:
                raise ValueError(f"{kind} is not among the types the replayers read")
            indices, entries = kept
            lo, hi = bisect_left(indices, start), bisect_left(indices, stop)
            runs.append(zip(indices[lo:hi], entries[lo:hi], strict=True))
        if len(runs) == 1:
            return runs[0]
        return merge(*runs, key=itemgetter(0))

    def blob(self, sha256_hex: str) -> bytes | None:
        return self._blobs.get(sha256_hex)


def _loose_signature_line(data: bytes) -> str | None:
    """Why a signature line is not in canonical base64, or None.

    Base64 leaves spare bits in its last character; a decoder ignores them, so a checkpoint
    file could be altered without touching what is signed.  The log writes canonical base64,
    and the audit holds the files to exactly that.
    """
    block = data[data.rfind(b"\n\n") + 2 :]
    for line in block.split(b"\n")[:-1]:
        encoded = line.rsplit(b" ", 1)[-1]
        try:
            canonical = base64.b64encode(base64.b64decode(encoded, validate=True))
        except ValueError:
            return "a signature line is not base64"
        if canonical != encoded:
            return f"signature line {line[:60]!r} is not canonical base64"
    return None


def _root_at(source: HashSource, size: int) -> bytes:
    """MTH of the first ``size`` leaves of a tree whose perfect subtrees ``source`` gives."""
    return subtree_root(source, 0, size) if size else EMPTY_ROOT


def _refusal_code(policy: Policy, data: bytes) -> str:
    """Why the policy refused a checkpoint: a signature that fails, or too few witnesses."""
    try:
        verified_witnesses(data, policy.log_verifiers, policy.witness_verifiers.values())
    except CheckpointError:
        return "checkpoint_signature"
    return "checkpoint_quorum"


def _serial_signature_check(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> Iterator[bytes | None]:
    del entries, keys
    while True:
        yield None


class _Audit:
    def __init__(
        self,
        bundle: Bundle,
        replayers: Sequence[Replayer],
        gating: Sequence[Replayer],
        policy_text: bytes | None,
        signature_check: SignatureCheck | None,
    ) -> None:
        self.bundle = bundle
        self.replayers = [*replayers, *gating]
        self.policy_text = policy_text if policy_text is not None else bundle.policy
        self.signature_check = signature_check
        self.findings = _Findings()
        self.findings.extend(bundle.problems)
        self.policy: Policy | None = None
        self.listed: list[_SeenCheckpoint] = []
        self.newest: _SeenCheckpoint | None = None
        self.entries: list[bytes] = []
        self.leaves: list[bytes] = []
        self.source: HashSource = hash_source_from_leaf_hashes([])
        self.good_blobs: dict[str, bytes] = {}
        self.verified: Iterator[bytes | None] = _serial_signature_check((), {})

    # (1) policy and checkpoints -------------------------------------------------------------

    def check_policy(self) -> None:
        if self.policy_text is None:
            self.findings.add(None, "missing_policy", "policy: no policy file; nothing to trust")
            return
        try:
            self.policy = parse_policy(self.policy_text)
        except (CheckpointError, NoteError) as e:
            self.findings.add(None, "policy_malformed", f"policy: {e}")

    def open_checkpoint(self, path: str, data: bytes) -> _SeenCheckpoint | None:
        """Verify one checkpoint note under the policy; report and return what it states."""
        try:
            body = parse_note(data).text
            cp = parse_checkpoint_text(body)
        except (NoteError, CheckpointError) as e:
            self.findings.add(None, "checkpoint_malformed", f"{path}: {e}")
            return None
        loose = _loose_signature_line(data)
        if loose is not None:
            self.findings.add(None, "checkpoint_malformed", f"{path}: {loose}")
        if self.policy is not None and cp.origin != self.policy.origin:
            self.findings.add(
                None,
                "checkpoint_origin",
                f"{path}: origin {cp.origin!r} is not the policy's log {self.policy.origin!r}",
            )
        elif self.policy is not None:
            try:
                self.policy.verify_checkpoint(data)
            except CheckpointError as e:
                self.findings.add(None, _refusal_code(self.policy, data), f"{path}: {e}")
        return _SeenCheckpoint(path, cp)

    def check_checkpoints(self) -> None:
        previous: _SeenCheckpoint | None = None
        by_size: dict[int, _SeenCheckpoint] = {}
        expected = 0
        for path, data in self.bundle.checkpoints:
            ordinal = int(path.rsplit("/", 1)[-1])
            if ordinal != expected:
                self.findings.add(
                    None,
                    "checkpoint_gap",
                    f"{path}: {checkpoint_history_path(expected)} to "
                    f"{checkpoint_history_path(ordinal - 1)} are missing",
                )
            expected = ordinal + 1
            seen = self.open_checkpoint(path, data)
            if seen is None:
                continue
            self.listed.append(seen)
            size = seen.checkpoint.size
            if previous is not None and size < previous.checkpoint.size:
                self.findings.add(
                    None,
                    "checkpoint_order",
                    f"{path}: size {size} is smaller than {previous.path}'s "
                    f"{previous.checkpoint.size}; a log never shrinks",
                )
            other = by_size.setdefault(size, seen)
            if other.checkpoint.root_hash != seen.checkpoint.root_hash:
                self.findings.add(
                    size - 1 if size else None,
                    "checkpoint_fork",
                    f"{path} and {other.path} state different trees of size {size}",
                )
            previous = seen
        if self.bundle.checkpoint is None:
            self.findings.add(None, "missing_checkpoint", "checkpoint: the bundle has none")
            self.newest = self.listed[-1] if self.listed else None
            return
        self.newest = self.open_checkpoint("checkpoint", self.bundle.checkpoint)
        if self.newest is not None and self.listed:
            last = self.listed[-1]
            if last.checkpoint != self.newest.checkpoint:
                self.findings.add(
                    None,
                    "checkpoint_latest",
                    f"checkpoint: differs from the newest listed checkpoint {last.path}",
                )
            same_size = by_size.get(self.newest.checkpoint.size)
            if (
                same_size is not None
                and same_size.checkpoint.root_hash != self.newest.checkpoint.root_hash
            ):
                self.findings.add(
                    self.newest.checkpoint.size - 1,
                    "checkpoint_fork",
                    f"checkpoint and {same_size.path} state different trees of size "
                    f"{self.newest.checkpoint.size}",
                )
        if self.newest is None and self.listed:
            self.newest = self.listed[-1]  # audit the tree against what the log did sign

    # (2) entries and tree -------------------------------------------------------------------

    def decode_bundles(self) -> None:
        """Assemble the entries from full bundles, then the widest partial bundle after them."""
        decoded: dict[TilePath, list[bytes]] = {}
        for tile, data in sorted(self.bundle.entry_bundles.items(), key=lambda kv: _order(kv[0])):
            first = tile.n * TILE_WIDTH
            try:
                entries = decode_entry_bundle(data)
            except CheckpointError as e:
                self.findings.add(first, "entry_bundle_malformed", f"{tile.path}: {e}")
                continue
            if len(entries) != tile.length:
                self.findings.add(
                    first + min(len(entries), tile.length),
                    "entry_bundle_count",
                    f"{tile.path}: holds {len(entries)} entries, its name says {tile.length}",
                )
            decoded[tile] = entries[: tile.length]
        n = 0
        while TilePath(ENTRIES_LEVEL, n) in decoded:
            full = decoded[TilePath(ENTRIES_LEVEL, n)]
            self.entries.extend(full)
            if len(full) < TILE_WIDTH:
                break
            n += 1
        else:
            partials = [t for t in decoded if t.n == n]
            if partials:
                self.entries.extend(decoded[max(partials, key=lambda t: t.length)])
        # Partial bundles kept for older checkpoints must be prefixes of the log.
        for tile, entries in decoded.items():
            start = tile.n * TILE_WIDTH
            for k, data in enumerate(entries):
                at = start + k
                if at < len(self.entries) and self.entries[at] != data:
                    self.findings.add(
                        at,
                        "entry_bundle_mismatch",
                        f"{tile.path}: entry {at} differs from the same entry in the bundle "
                        "that holds the log",
                    )
                    break

    def fit_entries(self) -> None:
        """Hold the entries up to the newest checkpoint's size, reporting any difference."""
        newest = self.newest.checkpoint if self.newest is not None else None
        if newest is None:
            return
        for tile in tiles_for_size(newest.size):
            if tile.is_entries and tile not in self.bundle.entry_bundles:
                self.findings.add(
                    tile.n * TILE_WIDTH, "missing_entry_bundle", f"{tile.path}: missing"
                )
        for tile in sorted(self.bundle.entry_bundles, key=_order):
            if tile.n * TILE_WIDTH + tile.length > newest.size:
                self.findings.add(
                    tile.n * TILE_WIDTH,
                    "entry_bundle_beyond_tree",
                    f"{tile.path}: holds entries past the newest checkpoint's size {newest.size}",
                )
        if len(self.entries) < newest.size:
            self.findings.add(
                len(self.entries),
                "missing_entries",
                f"tile/entries: the bundle holds {len(self.entries)} entries; the newest "
                f"checkpoint covers {newest.size}",
            )
        elif len(self.entries) > newest.size:
            self.findings.add(
                newest.size,
                "entries_beyond_checkpoint",
                f"tile/entries: {len(self.entries) - newest.size} entries after the newest "
                f"checkpoint's size {newest.size}; no checkpoint covers them",
            )
            del self.entries[newest.size :]

    def start_signatures(self) -> None:
        check = self.signature_check or _serial_signature_check
        self.verified = check(self.entries, registered_keys(self.entries))

    def check_tree(self) -> None:
        newest = self.newest.checkpoint if self.newest is not None else None
        self.leaves = [leaf_hash(data) for data in self.entries]
        self.source = hash_source_from_leaf_hashes(self.leaves)  # every level, hashed once
        # Each checkpoint's root recomputed at its size: consistency between successive
        # checkpoints needs no proof when the auditor holds every entry.
        seen = [*self.listed, *([self.newest] if self.newest is not None else [])]
        roots = {
            s.checkpoint.size: _root_at(self.source, s.checkpoint.size)
            for s in seen
            if s.checkpoint.size <= len(self.leaves)
        }
        for s in seen:
            cp = s.checkpoint
            root = roots.get(cp.size)
            if root is None:
                continue  # reported as missing_entries
            if root != cp.root_hash:
                self.findings.add(
                    cp.size - 1 if cp.size else None,
                    "checkpoint_root",
                    f"{s.path}: root of size {cp.size} is "
                    f"{base64.b64encode(cp.root_hash).decode()}; the entries give "
                    f"{base64.b64encode(root).decode()}",
                )
        entries_hold = newest is not None and roots.get(newest.size) == newest.root_hash
        tile_leaves = self.tile_leaves(newest.size) if newest is not None else None
        tiles_source: HashSource | None = None
        if newest is not None and tile_leaves is not None:
            tiles_source = (
                self.source
                if tile_leaves == self.leaves
                else hash_source_from_leaf_hashes(tile_leaves)
            )
            if _root_at(tiles_source, newest.size) != newest.root_hash:
                tiles_source = None
        if newest is not None and tiles_source is not None:
            self.check_consistency(newest, seen, tiles_source)
        self.check_tiles(entries_hold, tiles_source is not None)

    def check_consistency(
        self, newest: Checkpoint, seen: Sequence[_SeenCheckpoint], source: HashSource
    ) -> None:
        """RFC 9162 consistency of every checkpoint with the newest, proved from the tiles.

        The proofs come from the level-0 tiles, which give the newest checkpoint's root, so
        this holds or fails whatever the entry bundles say: a fork of the log is told apart
        from entries changed in the bundle.
        """
        for s in seen:
            cp = s.checkpoint
            if cp.size == 0 or cp.size > newest.size or cp == newest:
                continue
            try:
                proof = consistency_proof(source, cp.size, newest.size)
                verify_consistency(cp.size, newest.size, proof, cp.root_hash, newest.root_hash)
            except ProofError as e:
                self.findings.add(
                    cp.size - 1,
                    "checkpoint_inconsistent",
                    f"{s.path}: size {cp.size} is not a prefix of the newest checkpoint: {e}",
                )

    def tile_leaves(self, size: int) -> list[bytes] | None:
        """The leaf hashes the level-0 tile files give at ``size``, or None if they cannot."""

        def read(tile: TilePath) -> bytes:
            data = self.bundle.tiles.get(tile)
            if data is None:
                raise CheckpointError(f"{tile.path} is missing")
            return data

        try:
            return read_leaf_hashes(read, size)
        except CheckpointError:
            return None

    def check_tiles(self, entries_hold: bool, tiles_hold: bool) -> None:
        """Compare every tile file with the tile recomputed from the entries' leaf hashes.

        Where a level-0 tile and an entry disagree, the one that does not give the newest
        checkpoint's root is named; if neither does, both are suspect (``leaf_mismatch``).
        """
        size = len(self.leaves)
        get_node = self.source
        levels: list[list[bytes]] = []
        level = 0
        while size >> (TILE_HEIGHT * level):
            count = size >> (TILE_HEIGHT * level)
            levels.append([get_node(TILE_HEIGHT * level, i) for i in range(count)])
            level += 1
        for tile in tiles_for_size(size):
            if not tile.is_entries and tile not in self.bundle.tiles:
                self.findings.add(_first_leaf(tile), "missing_tile", f"{tile.path}: missing")
        for tile, data in sorted(self.bundle.tiles.items(), key=lambda kv: _order(kv[0])):
            if tile.is_entries:
                continue  # entry bundles are filed apart by exam_core.audit.reader
            first, width = tile.n * TILE_WIDTH, tile.length
            if len(data) != width * HASH_SIZE:
                self.findings.add(
                    _first_leaf(tile),
                    "tile_malformed",
                    f"{tile.path}: {len(data)} bytes; {width} hashes are {width * HASH_SIZE}",
                )
                continue
            have = levels[tile.level] if tile.level < len(levels) else []
            if first + width > len(have):
                self.findings.add(
                    _first_leaf(tile),
                    "tile_beyond_tree",
                    f"{tile.path}: covers hashes a tree of {size} entries does not have",
                )
                continue
            for k in range(width):
                if data[k * HASH_SIZE : (k + 1) * HASH_SIZE] == have[first + k]:
                    continue
                index = (first + k) << (TILE_HEIGHT * tile.level)
                if tile.level == 0 and not entries_hold and tiles_hold:
                    self.findings.add(
                        index,
                        "entry_mismatch",
                        f"entry {index} does not hash to leaf {index} of {tile.path}, which the "
                        "checkpoint covers",
                    )
                elif tile.level == 0 and not entries_hold:
                    self.findings.add(
                        index,
                        "leaf_mismatch",
                        f"entry {index} and leaf {index} of {tile.path} disagree, and neither "
                        "the entries nor the tiles give the checkpoint's root",
                    )
                else:
                    self.findings.add(
                        index,
                        "tile_mismatch",
                        f"{tile.path}: hash {k} (from entry {index}) differs from the entries' "
                        "tree",
                    )

    # (3)-(6) entries in order -----------------------------------------------------------------

    def check_blobs(self) -> None:
        for name, data in sorted(self.bundle.blobs.items()):
            if hashlib.sha256(data).hexdigest() != name:
                self.findings.add(None, "blob_hash", f"blobs/{name}: content does not match name")
            else:
                self.good_blobs[name] = data

    def check_entries(self) -> None:
        origin = self.policy.origin if self.policy is not None else None
        if origin is None and self.newest is not None:
            origin = self.newest.checkpoint.origin
        if origin is None:
            self.findings.add(None, "no_origin", "no policy or checkpoint names the log")
            return
        pinned = self.policy.admins if self.policy is not None else None
        if pinned is not None and not pinned:
            self.findings.add(
                None,
                "policy_no_admins",
                "policy: pins no administrator key, so the keys the log registers at its start "
                "are taken on trust",
            )
            pinned = None
        registry = KeyRegistry(origin, pinned_admins=pinned)
        by_type: dict[str, list[Replayer]] = defaultdict(list)
        for replayer in self.replayers:
            for event_type in replayer.event_types:
                by_type[event_type].append(replayer)
        history = _History(self.good_blobs, {t for r in self.replayers for t in r.reads})
        history_whole = True
        referenced: set[str] = set()
        refused: dict[str, int] = {}  # key name → index of its refused registration
        for index, data in enumerate(self.entries):
            verified_key = next(self.verified, None)  # None: the registry verifies it
            try:
                entry = parse_entry(data)
            except EntryError as e:
                self.findings.add(index, e.code, e.message)
                if history_whole:
                    history_whole = False
                    self.findings.add(
                        index,
                        "replay_stopped",
                        f"entries after {index} are not replayed: entry {index} does not parse",
                    )
                continue
            # (3) the ingest rules, in log order
            try:
                registry.check(entry, None, verified_key)
            except EntryError as e:
                message = e.message
                if e.code == "unknown_key" and entry.actor in refused:
                    message += f" (its registration, entry {refused[entry.actor]}, was refused)"
                self.findings.add(index, e.code, message)
                kind = entry.event.get("type")
                if e.code == "bad_seq" and not str(kind).startswith("key."):
                    registry.apply(entry)  # keep counting from here: one gap, one finding
                if kind == "key.registered" and isinstance(entry.event.get("name"), str):
                    refused.setdefault(str(entry.event["name"]), index)
                continue
            registry.apply(entry)
            history.admit(index, entry)
            # (4), (5) and device gating: the domain's own recomputation
            if history_whole:
                for replayer in by_type.get(entry.type, ()):
                    self.replay(replayer, index, entry, history)
            # (6) the evidence it references (canonical JSON: a reference has a key "…sha256")
            refs = referenced_blobs(entry)
            for sha, length in refs:
                referenced.add(sha)
                if sha in self.good_blobs:
                    if len(self.good_blobs[sha]) != length:
                        self.findings.add(
                            index,
                            "blob_length",
                            f"blobs/{sha}: {len(self.good_blobs[sha])} bytes, entry says {length}",
                        )
                elif sha in self.bundle.blobs:
                    self.findings.add(index, "blob_corrupt", f"blobs/{sha}: does not match hash")
                else:
                    self.findings.add(index, "blob_missing", f"blobs/{sha}: not in the bundle")
        for name in sorted(set(self.bundle.blobs) - referenced):
            self.findings.add(
                None, "blob_unreferenced", f"blobs/{name}: no entry references it", WARNING
            )

    def replay(self, replayer: Replayer, index: int, entry: Entry, history: _History) -> None:
        try:
            self.findings.extend(replayer.replay(index, entry, history))
        except Exception as e:  # one failing replayer must not hide the rest
            self.findings.add(
                index,
                "replay_crashed",
                f"{type(replayer).__name__} failed on {entry.type}: {type(e).__name__}: {e}",
            )

    def report(self) -> AuditReport:
        newest = self.newest.checkpoint if self.newest is not None else None
        origin = self.policy.origin if self.policy is not None else None
        return AuditReport(
            findings=self.findings.done(),
            origin=origin or (newest.origin if newest is not None else None),
            tree_size=newest.size if newest is not None else None,
            root_hash=newest.root_hash if newest is not None else None,
            entries=len(self.entries),
            checkpoints=len(self.bundle.checkpoints) + (self.bundle.checkpoint is not None),
            blobs=len(self.bundle.blobs),
        )


def check_bundle(
    bundle: Bundle,
    replayers: Sequence[Replayer] = (),
    *,
    gating: Sequence[Replayer] = (),
    policy: bytes | None = None,
    signature_check: SignatureCheck | None = None,
) -> AuditReport:
    """Audit ``bundle`` and return every finding (DESIGN §3.5 steps 1–6).

    ``policy`` replaces the bundle's own policy file: an auditor who pinned the log's keys out
    of band should not take them from the party being audited.  ``replayers`` recompute
    allocations and scores; ``gating`` checks device gating per exam.
    """
    audit = _Audit(bundle, replayers, gating, policy, signature_check)
    with _cycle_collector_paused():
        # (1) the trust anchors and the checkpoints they sign
        audit.check_policy()
        audit.check_checkpoints()
        # (2) the tree recomputed from the entries, against checkpoints and tiles
        audit.decode_bundles()
        audit.fit_entries()
        audit.start_signatures()  # workers verify signatures while this process builds the tree
        audit.check_tree()
        # (6, first half) blobs against their names, before entries reference them
        audit.check_blobs()
        # (3)-(6) every entry in order: registry, replayers, referenced blobs
        audit.check_entries()
    return audit.report()


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector for the audit, and restore it after.

    The audit keeps the parsed entries the replayers read (on an exam day, most of them), so
    each full collection rescans all of them: 3 µs an entry when it kept every entry of a
    100,000-entry bundle (``bench/audit_throughput.py``), for objects that hold no reference
    cycles and are freed by reference counting anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
