"""The incremental audit (``examctl audit BUNDLE --since STATE``): only what is new.

A centre's log is never truncated, so an auditor who audits it every day would otherwise
re-verify a year of entries for one day's worth.  An audit that held saves its state at its
newest checkpoint (``exam_core.audit.saved_state``); ``check_bundle_since`` starts from that
state and checks the bundle as ``check_bundle`` would, step by step, but reads and verifies only
the entries after the saved checkpoint:

1. the policy and every checkpoint, as in a full audit (``check_policy``,
   ``check_checkpoints``), except that the checkpoints the saved audit held to its tree must
   still be the first ones listed, byte for byte (``checkpoint_history_changed``), and are
   then not verified again under the same policy;
2. the entry bundles from the saved size on; the tree is the saved frontier extended by the new
   entries' leaves, which must give every newer checkpoint's root (``checkpoint_root``); the
   level-0 tiles of the new entries are compared with them; and the saved checkpoint is held
   to the bundle like a checkpoint the auditor saw elsewhere: an RFC 9162 consistency proof
   from it to the newest checkpoint, built from the tiles (``checkpoint_outside_inconsistent``
   when the log rewrote what the saved audit verified, ``bundle_rolled_back`` when it shrank);
3. to 6. the ordered pass resumes with the saved registry, ``seq``, replayer history and
   replayer states, over the new entries only; blobs the saved audit hashed are taken as
   checked when the bundle still holds a file of their length (a replayer reading one hashes it
   again), every other blob is hashed.

What the earlier audit found on old entries (its warnings) is listed again, so on a bundle that
extends the saved one the report equals a full audit's.  What a full audit would still read and
this one does not is the bundle's copy of the old entries and tiles: it vouches for the log the
saved audit verified, not again for those files.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from exam_core.audit.blob_check import BlobCheck
from exam_core.audit.checkpoint_history import (
    CheckpointHistory,
    SeenCheckpoint,
    check_checkpoints,
    check_policy,
    witness_times,
)
from exam_core.audit.entry_bundles import report_missing_bundles
from exam_core.audit.history import Replayer
from exam_core.audit.ordered_pass import PassState, check_entries
from exam_core.audit.outside_checkpoints import (
    OutsideCheckpoint,
    check_outside_checkpoints,
    check_witnessed,
)
from exam_core.audit.reader import Bundle
from exam_core.audit.replayer_state import ResumableReplayer, not_resumable, replayer_name
from exam_core.audit.report import MAX_FINDINGS_PER_CODE, AuditReport, FindingLog
from exam_core.audit.saved_state import AuditState, listed_digest, verify_state
from exam_core.audit.signatures import Answer, ProvingCheck, SignatureCheck, registered_keys
from exam_core.errors import AuditStateError, BundleError, CheckpointError, NoteError, ProofError
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text, verify_checkpoint
from exam_core.log.merkle import (
    HASH_SIZE,
    HashSource,
    MerkleFrontier,
    frontier_nodes,
    leaf_hash,
    subtree_root,
)
from exam_core.log.note import ed25519_verifier_from_vkey, parse_note
from exam_core.log.policy import Policy
from exam_core.log.registry import KeyRegistry
from exam_core.log.tiles import (
    ENTRIES_LEVEL,
    TILE_WIDTH,
    TilePath,
    TileReader,
    decode_entry_bundle,
    entry_bundle_for,
    hash_source_from_tiles,
    parse_tile_path,
    tiles_for_size,
)

__all__ = [
    "AuditEnd",
    "check_bundle_since",
    "files_since",
    "frontier_of",
    "newest_note",
    "state_from_end",
]


@dataclass(frozen=True)
class AuditEnd:
    """Where an audit ended, for saving its state: what ``state_from_end`` needs."""

    history: CheckpointHistory
    policy: bytes | None
    """The policy text the checkpoints were verified under."""
    note: bytes | None
    """The newest checkpoint's note, as the bundle held it."""
    listed: Sequence[tuple[str, bytes]]
    frontier: tuple[bytes, ...] | None
    """The newest tree's perfect subtrees, or None when nothing gave the newest root."""
    passed: PassState | None
    blobs: BlobCheck
    entry_findings: tuple[Finding, ...]
    """What the ordered pass listed (the earlier audit's warnings included)."""
    replayers: Sequence[Replayer]


def judged_findings(
    listed: Sequence[Finding], start: int, passed: PassState | None
) -> tuple[Finding, ...]:
    """The findings on entries that the ordered pass listed from ``start`` on, up to where the
    replayers concluded: what a saved state repeats.  What was judged at the log's end (an
    exam still running, a result that never came) is judged again at the next end."""
    stop = len(listed) if passed is None else passed.judged
    return tuple(f for f in listed[start:stop] if f.index is not None)


def newest_note(bundle: Bundle, history: CheckpointHistory) -> bytes | None:
    """The note of the checkpoint the audit held the tree to, as the bundle holds it."""
    if history.newest is None:
        return None
    if history.newest.path == "checkpoint":
        return bundle.checkpoint
    return dict(bundle.checkpoints).get(history.newest.path)


def frontier_of(tree: HashSource, size: int) -> tuple[bytes, ...]:
    """The roots of the perfect subtrees of the first ``size`` leaves of ``tree``."""
    return tuple(tree(level, index) for level, index in frontier_nodes(size))


def state_from_end(end: AuditEnd, report: AuditReport) -> AuditState:
    """The state to save after an audit that held.

    Raises:
        AuditStateError: the audit did not hold, listed more than ``MAX_FINDINGS_PER_CODE``
            findings of one code, or runs a replayer that cannot save its state.
    """
    if not report.ok:
        raise AuditStateError("the audit did not hold: no state is saved from it")
    cannot = not_resumable(end.replayers)
    if cannot:
        raise AuditStateError(f"no state is saved: {', '.join(cannot)} cannot save its state")
    policy, newest = end.history.policy, end.history.newest
    if policy is None or newest is None or end.frontier is None or end.passed is None:
        raise AuditStateError("the audit verified no checkpoint: no state is saved from it")
    codes = [f.code for f in end.entry_findings]
    if any(codes.count(code) >= MAX_FINDINGS_PER_CODE for code in set(codes)):
        raise AuditStateError(
            f"the audit found {MAX_FINDINGS_PER_CODE} or more of one finding: no state is saved"
        )
    note = end.note
    if note is None or end.policy is None or len(end.history.listed) != len(end.listed):
        raise AuditStateError("the audit verified no checkpoint: no state is saved from it")
    log_key = _signing_log_key(note, [log.vkey for log in policy.logs])
    return AuditState(
        origin=policy.origin,
        log_key=log_key,
        checkpoint=note,
        listed=len(end.listed),
        listed_sha256=listed_digest(end.listed),
        cosigned=tuple(dict(s.cosigned_at) for s in end.history.listed),
        policy_sha256=hashlib.sha256(end.policy).digest(),
        frontier=end.frontier,
        passed=end.passed,
        blobs=end.blobs.checked,
        referenced=end.blobs.referenced,
        findings=tuple(f for f in end.entry_findings if f.index is not None),
        replayers={
            replayer_name(r): r.save_state()
            for r in end.replayers
            if isinstance(r, ResumableReplayer)
        },
    )


def _signing_log_key(note: bytes, vkeys: Sequence[str]) -> str:
    for vkey in vkeys:
        try:
            verify_checkpoint(note, ed25519_verifier_from_vkey(vkey))
        except CheckpointError:
            continue
        return vkey
    raise AuditStateError("no log key of the policy verifies the newest checkpoint")


def files_since(state: AuditState) -> Callable[[str], bool]:
    """Which files of a bundle an audit resuming from ``state`` reads (``read_bundle``'s
    ``wanted``): the notes, and the entry bundles and level-0 tiles of entries after the
    saved size.  Blobs are never read ahead; other tiles are read on demand."""
    first_tile = state.size // TILE_WIDTH

    def wanted(rel: str) -> bool:
        if not rel.startswith("tile/"):
            return True
        try:
            tile = parse_tile_path(rel)
        except CheckpointError:
            return True  # the reader reports it
        return tile.level in (ENTRIES_LEVEL, 0) and tile.n >= first_tile

    return wanted


def _bundle_tiles(bundle: Bundle) -> TileReader:
    def read(tile: TilePath) -> bytes:
        data = (bundle.entry_bundles if tile.is_entries else bundle.tiles).get(tile)
        if data is None:
            raise BundleError(f"{tile.path} is missing")
        return data

    return read


def check_bundle_since(
    bundle: Bundle,
    state: AuditState,
    replayers: Sequence[Replayer] = (),
    *,
    gating: Sequence[Replayer] = (),
    policy: bytes | None = None,
    outside: Sequence[OutsideCheckpoint] = (),
    signature_check: SignatureCheck | None = None,
    tiles: TileReader | None = None,
    where: str = "saved state",
) -> tuple[AuditReport, AuditEnd]:
    """Audit ``bundle`` from ``state`` (see the module docstring); the report and its end.

    ``bundle`` may hold only the files ``files_since(state)`` names; ``tiles`` reads the other
    tiles (the bundle's own by default).  ``where`` names the state in findings.

    Raises:
        AuditStateError: the state cannot be resumed on this bundle: no policy to hold it to,
            another log or log key, a checkpoint or frontier that does not verify, or replayers
            other than those it was saved with.
    """
    findings = FindingLog(bundle.problems)
    everyone = [*replayers, *gating]
    pinned = policy is not None
    # (1) step 1: the policy, which the state must be of, and every checkpoint
    trusted = check_policy(policy if pinned else bundle.policy, findings, pinned=pinned)
    if trusted is None:
        raise AuditStateError("the bundle has no policy to hold the audit state to")
    saved = verify_state(state, trusted)
    _restore_replayers(everyone, state)
    policy_text = policy if pinned else bundle.policy
    opened = _verified_prefix(bundle, state, policy_text, findings, where)
    history = check_checkpoints(bundle, trusted, findings, opened)
    newest = history.newest.checkpoint if history.newest is not None else None
    if newest is None or newest.size < state.size:
        # Nothing to resume on: the bundle is not a continuation of the saved tree.
        check_outside_checkpoints([(where, state.checkpoint)], history, None, findings)
        end = AuditEnd(
            history,
            policy_text,
            None,
            bundle.checkpoints,
            None,
            None,
            BlobCheck({}, findings),
            (),
            everyone,
        )
        return _report(bundle, history, findings, 0), end
    # (2) step 2: the new entries, the tree they extend, the saved checkpoint held to it
    new = _new_entries(bundle, state.size, newest, findings)
    verified = _start_signature_check(new, state, signature_check, history.origin)
    frontier = _check_new_tree(new, state, saved, history, findings)
    tree = _tiles_tree(tiles or _bundle_tiles(bundle), newest)
    _check_new_tiles(
        bundle,
        new,
        state.size,
        findings,
        entries_hold=frontier is not None,
        tiles_hold=tree is not None,
    )
    if tree is None and frontier is not None:
        # The saved frontier extended by the new entries gives the newest root: that is the
        # consistency proof of the saved checkpoint; the tiles cannot prove the others.
        held = check_outside_checkpoints(outside, history, None, findings)
        held.append(SeenCheckpoint(where, saved, _cosigned(trusted, state.checkpoint)))
    else:
        held = check_outside_checkpoints(
            [(where, state.checkpoint), *outside], history, tree, findings
        )
    check_witnessed(history, held, findings)
    # (6) step 6, first half: the blobs the saved audit did not hash
    blobs = BlobCheck(bundle.blobs, findings)
    blobs.resume(state.blobs, state.referenced)
    for name in sorted(set(state.blobs) - set(bundle.blobs)):
        findings.add(
            None, "blob_missing", f"blobs/{name}: referenced before {where}, not in the bundle"
        )
    blobs.check_files()
    # (3)-(6) the ordered pass, resumed: the earlier audit's findings first
    listed_before = len(findings.listed)
    for f in state.findings:
        findings.add(f.index, f.code, f.message, f.severity)
    passed = check_entries(
        new,
        history,
        everyone,
        blobs=blobs,
        verified=verified,
        findings=findings,
        outside=held,
        resume=_fresh(state.passed, trusted),
    )
    entry_findings = judged_findings(findings.listed, listed_before, passed)
    report = _report(bundle, history, findings, state.size + len(new))
    end = AuditEnd(
        history,
        policy_text,
        newest_note(bundle, history),
        bundle.checkpoints,
        frontier.subtree_hashes if frontier is not None else None,
        passed,
        blobs,
        entry_findings,
        everyone,
    )
    return report, end


def _fresh(passed: PassState, policy: Policy) -> PassState:
    """A copy of ``passed`` for the ordered pass to advance (so that a state held in memory, a
    mirror's, can be resumed again), its registry holding the administrator keys the policy
    pins, as a full audit's does."""
    registry = passed.registry
    return replace(
        passed,
        registry=KeyRegistry.from_state(
            registry.origin, registry.state(), pinned_admins=policy.admins or None
        ),
        times=passed.times.copy(),
        refused=dict(passed.refused),
    )


def _report(
    bundle: Bundle, history: CheckpointHistory, findings: FindingLog, entries: int
) -> AuditReport:
    newest = history.newest.checkpoint if history.newest is not None else None
    origin = history.policy.origin if history.policy is not None else None
    return AuditReport(
        findings=findings.done(),
        origin=origin or (newest.origin if newest is not None else None),
        tree_size=newest.size if newest is not None else None,
        root_hash=newest.root_hash if newest is not None else None,
        entries=entries,
        checkpoints=len(bundle.checkpoints) + (bundle.checkpoint is not None),
        blobs=len(bundle.blobs),
    )


def _restore_replayers(replayers: Sequence[Replayer], state: AuditState) -> None:
    """Hand each replayer its saved state; refuse when the set of replayers differs, or one
    of them cannot resume (it would give another answer than a full audit).

    Raises:
        AuditStateError: see above, or a replayer refuses its state.
    """
    cannot = not_resumable(replayers)
    if cannot:
        raise AuditStateError(f"{', '.join(cannot)} cannot restore its state: audit in full")
    names = sorted(replayer_name(r) for r in replayers)
    if names != sorted(state.replayers):
        raise AuditStateError(
            f"the audit state was saved by the replayers {sorted(state.replayers)}; this audit "
            f"runs {names}: audit in full"
        )
    reads = {t for r in replayers for t in r.reads}
    if set(state.passed.kept) != reads:
        raise AuditStateError(
            "the audit state kept the entries of other types than these replayers read"
        )
    for r in replayers:
        if isinstance(r, ResumableReplayer):
            r.restore_state(state.replayers[replayer_name(r)])


def _cosigned(policy: Policy, note: bytes) -> dict[str, int]:
    try:
        return witness_times(policy, note)
    except CheckpointError:
        return {}


def _verified_prefix(
    bundle: Bundle, state: AuditState, policy: bytes | None, findings: FindingLog, where: str
) -> list[SeenCheckpoint]:
    """The checkpoints the saved audit verified, when the bundle still lists them first, byte
    for byte (``checkpoint_history_changed`` when not); empty when they must be verified again
    (another policy)."""
    listed = bundle.checkpoints[: state.listed]
    if len(listed) < state.listed or listed_digest(listed) != state.listed_sha256:
        findings.add(
            None,
            "checkpoint_history_changed",
            f"checkpoints/: the first {state.listed} checkpoints listed are not those the "
            f"audit of {where} held to the tree",
        )
        return []
    if policy is None or hashlib.sha256(policy).digest() != state.policy_sha256:
        return []
    try:
        return [
            SeenCheckpoint(path, parse_checkpoint_text(parse_note(data).text), cosigned)
            for (path, data), cosigned in zip(listed, state.cosigned, strict=True)
        ]
    except (NoteError, CheckpointError):
        return []  # the saved audit verified them: cannot happen, and they are checked again


def _start_signature_check(
    new: Sequence[bytes], state: AuditState, check: SignatureCheck | None, origin: str | None
) -> Iterator[Answer]:
    """Verify the new entries' signatures ahead (the keys registered before included), and
    prove those of the log ``origin`` when ``check`` can (``ProvingCheck``)."""
    if check is None:
        return itertools.repeat(None)
    keys = {
        name: frozenset({r.verifier.public_key}) for name, r in state.passed.registry.keys.items()
    }
    for name, found in registered_keys(new).items():
        keys[name] = keys.get(name, frozenset()) | found
    if origin is not None and isinstance(check, ProvingCheck):
        return check.prove(new, keys, origin)
    return check(new, keys)


def _new_entries(
    bundle: Bundle, size: int, newest: Checkpoint, findings: FindingLog
) -> list[bytes]:
    """The entries after ``size``, up to the newest checkpoint, from the entry bundles."""
    decoded: dict[int, list[bytes]] = {}
    widths: dict[int, int] = {}
    for tile, data in sorted(bundle.entry_bundles.items(), key=lambda kv: kv[0].sort_key):
        first = tile.n * TILE_WIDTH
        if first + tile.length <= size:
            continue
        try:
            entries = decode_entry_bundle(data)
        except CheckpointError as e:
            findings.add(first, "entry_bundle_malformed", f"{tile.path}: {e}")
            continue
        if len(entries) != tile.length:
            findings.add(
                first + min(len(entries), tile.length),
                "entry_bundle_count",
                f"{tile.path}: holds {len(entries)} entries, its name says {tile.length}",
            )
        if first + tile.length > newest.size:
            findings.add(
                first,
                "entry_bundle_beyond_tree",
                f"{tile.path}: holds entries past the newest checkpoint's size {newest.size}",
            )
        if tile.length >= widths.get(tile.n, 0):
            decoded[tile.n], widths[tile.n] = entries[: tile.length], tile.length
    # only a bundle holding an entry after ``size`` is read, so only such a one is missing
    # (the partial bundle of a log that did not grow holds none)
    if newest.size > size:
        held = {
            n
            for n, entries in decoded.items()
            if n * TILE_WIDTH < newest.size
            and len(entries) >= entry_bundle_for(n * TILE_WIDTH, newest.size).length
        }
        report_missing_bundles(newest.size, size // TILE_WIDTH, held, findings)
    log: list[bytes] = []
    n = size // TILE_WIDTH
    while n in decoded:
        start = max(size - n * TILE_WIDTH, 0)
        log.extend(decoded[n][start:])
        if len(decoded[n]) < TILE_WIDTH:
            break
        n += 1
    wanted = newest.size - size
    if len(log) < wanted:
        findings.add(
            size + len(log),
            "missing_entries",
            f"tile/entries: the bundle holds {size + len(log)} entries; the newest checkpoint "
            f"covers {newest.size}",
        )
    elif len(log) > wanted:
        findings.add(
            newest.size,
            "entries_beyond_checkpoint",
            f"tile/entries: {len(log) - wanted} entries after the newest checkpoint's size "
            f"{newest.size}; no checkpoint covers them",
        )
        del log[wanted:]
    return log


def _check_new_tree(
    new: Sequence[bytes],
    state: AuditState,
    saved: Checkpoint,
    history: CheckpointHistory,
    findings: FindingLog,
) -> MerkleFrontier | None:
    """Extend the saved frontier by the new entries; every checkpoint at or after the saved
    size must have the root the tree has at its size.  The frontier at the newest size, or
    None when it does not give the newest root."""
    frontier = MerkleFrontier.from_subtree_hashes(saved.size, state.frontier)
    wanted: dict[int, list[tuple[str, Checkpoint]]] = {}
    for s in history.seen:
        if s.checkpoint.size >= saved.size:
            wanted.setdefault(s.checkpoint.size, []).append((s.path, s.checkpoint))
    roots = {saved.size: saved.root_hash}
    for data in new:
        frontier.append(leaf_hash(data))
        if frontier.size in wanted:
            roots[frontier.size] = frontier.root()
    for size, seen in sorted(wanted.items()):
        root = roots.get(size)
        for path, cp in seen:
            if root is not None and root != cp.root_hash:
                findings.add(
                    size - 1 if size else None,
                    "checkpoint_root",
                    f"{path}: root of size {size} is {base64.b64encode(cp.root_hash).decode()}; "
                    f"the entries give {base64.b64encode(root).decode()}",
                )
    newest = history.newest.checkpoint if history.newest is not None else None
    if newest is None or roots.get(newest.size) != newest.root_hash:
        return None
    return frontier


def _tiles_tree(read: TileReader, newest: Checkpoint) -> HashSource | None:
    """The tree of the bundle's tiles when they give the newest root, else None."""
    source = hash_source_from_tiles(read, newest.size)
    try:
        root = subtree_root(source, 0, newest.size) if newest.size else None
    except (BundleError, CheckpointError, ProofError, IndexError):
        return None
    if newest.size and root != newest.root_hash:
        return None
    return _guarded(source)


def _guarded(source: HashSource) -> HashSource:
    """``source`` with an unreadable tile turned into a failed proof."""

    def get_node(level: int, index: int) -> bytes:
        try:
            return source(level, index)
        except (BundleError, CheckpointError) as e:
            raise ProofError(f"a tile cannot be read: {e}") from e

    return get_node


def _check_new_tiles(
    bundle: Bundle,
    new: Sequence[bytes],
    size: int,
    findings: FindingLog,
    *,
    entries_hold: bool,
    tiles_hold: bool,
) -> None:
    """Compare the level-0 tiles of the new entries with their leaf hashes."""
    leaves = {size + k: leaf_hash(data) for k, data in enumerate(new)}
    end = size + len(new)
    for tile in tiles_for_size(end):
        if tile.level == 0 and (tile.n + 1) * TILE_WIDTH > size and tile not in bundle.tiles:
            findings.add(tile.n * TILE_WIDTH, "missing_tile", f"{tile.path}: missing")
    for tile, data in sorted(bundle.tiles.items(), key=lambda kv: kv[0].sort_key):
        first = tile.n * TILE_WIDTH
        if tile.level != 0 or first + tile.length <= size:
            continue
        if len(data) != tile.length * HASH_SIZE:
            findings.add(
                first,
                "tile_malformed",
                f"{tile.path}: {len(data)} bytes; {tile.length} hashes are "
                f"{tile.length * HASH_SIZE}",
            )
            continue
        if first + tile.length > end:
            findings.add(
                first,
                "tile_beyond_tree",
                f"{tile.path}: covers hashes a tree of {end} entries does not have",
            )
            continue
        for k in range(max(size - first, 0), tile.length):
            index = first + k
            if data[k * HASH_SIZE : (k + 1) * HASH_SIZE] == leaves[index]:
                continue
            if not entries_hold and tiles_hold:
                findings.add(
                    index,
                    "entry_mismatch",
                    f"entry {index} does not hash to leaf {index} of {tile.path}, which the "
                    "checkpoint covers",
                )
            elif not entries_hold:
                findings.add(
                    index,
                    "leaf_mismatch",
                    f"entry {index} and leaf {index} of {tile.path} disagree, and neither "
                    "the entries nor the tiles give the checkpoint's root",
                )
            else:
                findings.add(
                    index,
                    "tile_mismatch",
                    f"{tile.path}: hash {k} (from entry {index}) differs from the entries' tree",
                )
    if entries_hold and not tiles_hold:
        findings.add(
            None,
            "tile_mismatch",
            "tile/: the tiles do not give the newest checkpoint's root; the entries do",
        )
