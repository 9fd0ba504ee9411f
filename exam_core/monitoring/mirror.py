"""The monitoring centre's mirror (DESIGN §10; tlog-mirror): a verified copy of each centre's log.

A witness remembers one checkpoint per log; the mirror keeps the whole log, so the monitoring
centre holds every entry a centre ever published even if the centre later loses or rewrites
it, and checks each entry as it arrives rather than at the next audit.  For each registered
centre it reads the log as any C2SP client would (``LogSource``: checkpoint, tiles, entry
bundles) and verifies what is new since the checkpoint it last verified, as ``examctl audit``
would, with the same code:

1. the checkpoint is signed by the centre's log key; a smaller tree than the one verified is a
   truncation, another root at the verified size a fork;
2. the Merkle tiles that are new or grew since then are fetched (of level 0 only those the
   check reads) and checked against the checkpoint's root and, by a consistency proof, against
   the verified tree; the checkpoint and its tiles are committed together: the tree is
   verified before any entry of it is read.  Steps 1 and 2 are
   ``exam_core.monitoring.mirror_tree.verify_tree``; this module is the pull around them and
   steps 3 and 4;
3. the entry bundles after the last stored entry are fetched; each entry is held to a hash the
   signed checkpoint commits to before it is proven or stored: to its leaf in a level-0 tile
   step 2 verified, or — the full tiles step 2 did not fetch — its bundle's 256 leaf hashes
   are folded to the tile's hash in the verified level-1 tile, and, equal, are that level-0
   tile, stored with the entries (unequal, the centre's level-0 tile is fetched to say whether
   an entry or the tiles are wrong).  Each entry is then proven as the audit's workers prove
   it (order-free, in the signature workers: ``exam_core.monitoring.mirror_proofs``) and
   admitted in log order by the rules that depend on the entries before it
   (``KeyRegistry.admit_proven``); what is not proven, or refused, takes the audit's full
   registry step (``exam_core.audit.ordered_pass.admit_in_order``: log, schema, key,
   signature, role, seq).  Entries are committed a chunk at a time with their level-0 tiles,
   the registry after them and the findings they gave, so an interrupted pull resumes after
   the last chunk and downloads nothing committed, and every entry held has its level-0 tile
   held (inclusion proofs are built from the stored tiles);
4. once every entry under the verified checkpoint is held, the mirror cosigns it with its own
   key (``<name>/mirror``, distinct from the witness's: a ``cosignature/v1`` line does not name
   its role).

Whatever does not hold is a finding with its evidence (``NewFinding``: the entry indexes, or
the checkpoint held and the one served), recorded once per log and fingerprint; a centre that
rewrote, truncated or forked its log is not mirrored further — the head stays on the last
verified checkpoint — and an entry that fails the rules is kept (the copy is faithful) and
reported.  A centre silent for longer than ``silence_ms`` is a finding too.

``pull_due`` claims one due log through the store's row lock (``MirrorStore.claim``), so
several monitor processes share the centres with no coordinator.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from exam_core.audit.answer_columns import NO_KEY, NOT_PROVEN
from exam_core.audit.ordered_pass import admit_in_order
from exam_core.audit.report import FindingLog
from exam_core.audit.signatures import PROVEN_TYPES
from exam_core.errors import CheckpointError, EntryError, KeyFormatError, NoteError, StoreError
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.cosignature import CosignatureSigner
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import leaf_hashes
from exam_core.log.note import ed25519_verifier_from_vkey, parse_note, signature_line
from exam_core.log.registry import KeyRegistry
from exam_core.log.tiles import (
    TILE_WIDTH,
    TilePath,
    decode_entry_bundle,
    entry_bundle_for,
    split_tile,
)
from exam_core.monitoring.mirror_fetch import FETCHES_IN_FLIGHT, FetchAhead
from exam_core.monitoring.mirror_proofs import Checked, ProofQueue
from exam_core.monitoring.mirror_source import LogSource, SourceRefusedError, SourceUnavailableError
from exam_core.monitoring.mirror_state import decode_registry, encode_registry
from exam_core.monitoring.mirror_store import (
    MirrorHeadRecord,
    MirrorStore,
    NewFinding,
    RecordedFinding,
)
from exam_core.monitoring.mirror_tree import fingerprint, note_text, tile_root, verify_tree
from exam_core.monitoring.store import KnownLog, MonitorStore

__all__ = ["MIRROR_CODES", "Mirror", "PullOutcome", "manifest_refused", "new_findings"]

CHUNK_ENTRIES = 8192
"""Entries committed together: a killed pull fetches at most this many again (2.6 MB of
typical entries), and each commit (the head's compare-and-swap, the registry encoded, the
bundles' rows) is paid once per 8,192: at 2,048 it cost the mirror's process about 1 µs of
CPU an entry (BENCHMARKS.md)."""
SIGNATURE_BUNDLES = 8
"""Bundles whose signatures one call of a worker process verifies (2,048 entries, ~0.1 s of
a core): each call costs the mirror's process a hand-over through the pool's threads and
pipes, whatever its size."""
IN_FLIGHT_BUNDLES = 2 * SIGNATURE_BUNDLES
"""Bundles checked against their leaves (and sent to the workers) ahead of the registry: two
workers' calls, so that a worker has the next call while the registry reads the last one."""
LEAF_TILES_READ = 64
"""Level-0 tiles looked for in the database in one query when a pull checks entries under a
tree an earlier pull verified (at most 512 KiB; most are not there: the bundles make them)."""
DEFAULT_INTERVAL_MS = 10_000
DEFAULT_SILENCE_MS = 15 * 60_000

MIRROR_CODES = (
    "log_truncated",
    "log_forked",
    "log_rewritten",
    "mirror_checkpoint_refused",
    "mirror_tiles_wrong",
    "mirror_response_refused",
    "mirror_entry_mismatch",
    "centre_silent",
    "mirror_manifest_refused",
)
"""Codes of the mirror's own findings; an entry that fails the ingest rules keeps the audit's
code (``bad_signature``, ``bad_seq``, ``schema``, …).  docs/monitoring.md explains each."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class PullOutcome:
    """What one pull of one log did."""

    origin: str
    contacted: bool = False
    """The centre served a checkpoint."""
    refused: bool = False
    """Something did not verify: the head did not move past it."""
    tree_size: int = 0
    entries_size: int = 0
    findings: list[NewFinding] = field(default_factory=list)
    error: str | None = None
    """Why the centre could not be read, if it could not."""


@dataclass
class _Progress:
    """Where a pull's entries stand: committed, fetched and checked, and not yet committed."""

    committed: int
    registry: KeyRegistry
    fetched: int = -1
    pending: list[bytes] = field(default_factory=list)
    tiles: dict[int, bytes] = field(default_factory=dict)
    """Level-0 tiles made from their bundles' entries, by index, not yet committed: each is
    committed with the last entry of its bundle."""
    findings: FindingLog = field(default_factory=FindingLog)
    refused: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fetched < 0:
            self.fetched = self.committed


class _LeafTiles:
    """What a pull holds each bundle's entries to: the verified level-0 tile where the mirror
    has it, else the hash of that tile in the verified level-1 tile.

    Step 2 fetches a level-0 tile only where the tree's check needs it (the old tree's edge
    tile that grew, the new tree's partial tile); those it fetched are kept from it, as are
    its level-1 tiles, and those an earlier pull verified are read from the database, level-0
    tiles a batch at a time.  Each bundle's entries are checked once, so a level-0 tile is let
    go once taken; a level-1 tile serves 256 bundles and is kept.
    """

    def __init__(self, store: MirrorStore, origin: str) -> None:
        self._store = store
        self._origin = origin
        self._held: dict[int, bytes] = {}
        self._read_end = 0
        """Level-0 tiles below this index were read from the database (if held there)."""
        self._parents: dict[int, bytes] = {}

    def keep(self, tiles: dict[TilePath, bytes]) -> None:
        """Hold the level-0 and level-1 ``tiles`` just verified and committed."""
        self._held.update((t.n, d) for t, d in tiles.items() if t.level == 0)
        self._parents.update((t.n, d) for t, d in tiles.items() if t.level == 1)

    def take(self, bundle: TilePath) -> bytes | None:
        """The leaf hashes of ``bundle``'s entries as the verified level-0 tile holds them (32
        bytes each), or None for a full bundle whose tile the mirror does not hold (``parent``
        then gives what its entries are held to).

        Raises:
            StoreError: the verified tile of a partial bundle is missing, or one is short.
        """
        data = self._held.pop(bundle.n, None)
        if data is None and bundle.n >= self._read_end:
            self._read_end = bundle.n + LEAF_TILES_READ
            self._held.update(self._store.tiles(self._origin, 0, bundle.n, self._read_end))
            data = self._held.pop(bundle.n, None)
        if data is None and not bundle.is_partial:
            return None
        if data is None or len(data) < bundle.length * 32:
            raise StoreError(f"the verified level-0 tile {bundle.n} of {self._origin} is missing")
        return data[: bundle.length * 32]

    def parent(self, n: int) -> bytes:
        """The hash of the full level-0 tile ``n`` in the verified level-1 tile.

        Raises:
            StoreError: the verified level-1 tile is missing or short.
        """
        m, k = divmod(n, TILE_WIDTH)
        data = self._parents.get(m)
        if data is None:
            data = self._store.tile(self._origin, 1, m)
            if data is not None:
                self._parents[m] = data
        if data is None or len(data) < (k + 1) * 32:
            raise StoreError(
                f"the verified level-1 tile {m} of {self._origin} lacks the hash of tile {n}"
            )
        return data[k * 32 : k * 32 + 32]


def new_findings(store: MirrorStore, after_id: int = 0) -> list[RecordedFinding]:
    """The mirror's findings recorded after the one numbered ``after_id``, oldest first: what
    graded warnings are made of.

    Raises:
        StoreError: the database cannot be read.
    """
    return store.findings_after(after_id)


def manifest_refused(index: int, sha256_hex: str, problem: str, *, error: bool) -> NewFinding:
    """The finding for the manifest blob committed at entry ``index`` that the centre did not
    serve as committed (``error``) or would not serve to the monitor's token (a warning)."""
    return NewFinding(
        Finding(
            index,
            "mirror_manifest_refused",
            f"the manifest {sha256_hex} committed at entry {index}: {problem}",
            ERROR if error else WARNING,
        ),
        {"entries": [index], "path": f"blobs/{sha256_hex}"},
        fingerprint("manifest", index, sha256_hex, problem),
    )


class Mirror:
    """The mirror of one monitoring centre, over its store, cosigning with ``signer``."""

    def __init__(
        self,
        store: MirrorStore,
        logs: MonitorStore,
        signer: CosignatureSigner,
        *,
        interval_ms: int = DEFAULT_INTERVAL_MS,
        silence_ms: int = DEFAULT_SILENCE_MS,
        clock_ms: Callable[[], int] = _now_ms,
        signatures: Executor | None = None,
    ) -> None:
        self.after_pull: Callable[[KnownLog, LogSource, PullOutcome, int], None] | None = None
        """Called after each pull with the log, its source, the outcome and when the centre
        last answered (``exam_core.monitoring.mirror_feed`` hands the warnings what is new)."""
        self.store = store
        self.signatures = signatures
        """Worker processes to verify entry signatures in (None: in this process)."""
        self._logs = logs
        self._signer = signer
        self.interval_ms = interval_ms
        self.silence_ms = silence_ms
        self.clock_ms = clock_ms

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def vkey(self) -> str:
        """The mirror's ``cosignature/v1`` vkey."""
        return self._signer.vkey

    def cosigned_checkpoint(self, origin: str) -> bytes | None:
        """The newest checkpoint of ``origin`` the mirror cosigned (log lines and its own).

        Raises:
            StoreError: the database cannot be read.
        """
        head = self.store.head(origin)
        return None if head is None else head.cosigned

    # --- sharing the logs between processes ------------------------------------------------

    def pull_due(self, open_source: Callable[[KnownLog], LogSource]) -> PullOutcome | None:
        """Claim one due log, pull it, and schedule its next pull; None when none is due.

        Raises:
            StoreError: the database failed (what was committed before stays).
        """
        now = self.clock_ms()
        with self.store.claim(now) as claim:
            if claim is None:
                return None
            log = self._logs.log(claim.origin)
            if log is None or log.url is None:
                claim.next_pull_ms = now + self.interval_ms
                return PullOutcome(claim.origin, error="no longer watched with a URL")
            source = open_source(log)
            try:
                outcome = self.pull(log, source)
                done = self.clock_ms()
                last_contact = done if outcome.contacted else claim.last_contact_ms
                if self.after_pull is not None:
                    self.after_pull(log, source, outcome, last_contact)
            finally:
                close = getattr(source, "close", None)
                if callable(close):
                    close()
            if outcome.contacted:
                claim.contact_ms = done
            elif done - claim.last_contact_ms > self.silence_ms:
                silent = NewFinding(
                    Finding(
                        None,
                        "centre_silent",
                        f"{log.origin} has not served its checkpoint at {log.url} for "
                        f"{(done - claim.last_contact_ms) // 1000} s (allowed: "
                        f"{self.silence_ms // 1000} s): {outcome.error}",
                    ),
                    {"last_contact_ms": claim.last_contact_ms, "url": log.url},
                    fingerprint("silent", claim.last_contact_ms),
                )
                self.store.record_findings(log.origin, [silent], done)
                outcome.findings.append(silent)
            claim.next_pull_ms = done + self.interval_ms
            return outcome

    def pull_all_due(self, open_source: Callable[[KnownLog], LogSource]) -> list[PullOutcome]:
        """Schedule newly watched logs, then pull each due log once (a round).

        Raises:
            StoreError: the database failed.
        """
        self.store.schedule_new_logs(self.clock_ms())
        outcomes: list[PullOutcome] = []
        pulled: set[str] = set()
        while (outcome := self.pull_due(open_source)) is not None:
            if outcome.origin in pulled:
                break  # due again already (a short interval): the next round's
            pulled.add(outcome.origin)
            outcomes.append(outcome)
        return outcomes

    # --- one pull --------------------------------------------------------------------------

    def pull(self, log: KnownLog, source: LogSource) -> PullOutcome:
        """Verify and store what ``log`` published since the last verified checkpoint.

        Raises:
            StoreError: the log is not scheduled for mirroring, its key is unusable, or the
                database failed.
        """
        head = self.store.head(log.origin)
        if head is None:
            raise StoreError(f"{log.origin} is not mirrored (schedule_new_logs first)")
        try:
            verifier = ed25519_verifier_from_vkey(log.vkey)
        except KeyFormatError as e:
            raise StoreError(f"the key of {log.origin} is unusable: {e}") from e
        outcome = PullOutcome(log.origin, tree_size=head.tree_size, entries_size=head.entries_size)
        leaves = _LeafTiles(self.store, log.origin)
        try:
            data = source.checkpoint()
            outcome.contacted = True
            with ThreadPoolExecutor(FETCHES_IN_FLIGHT, thread_name_prefix="mirror-fetch") as fetch:
                reader = FetchAhead(fetch, source)
                tree = verify_tree(self.store, head, data, verifier, reader)
                if isinstance(tree, NewFinding):
                    self._refuse(outcome, tree)
                    head = None
                else:
                    leaves.keep(tree.tiles)
                    outcome.tree_size = tree.head.tree_size
                    head = self._verify_entries(tree.head, reader, outcome, leaves)
            if head is not None:
                self._cosign(head)
        except SourceUnavailableError as e:
            outcome.error = str(e)
        except SourceRefusedError as e:
            outcome.contacted = True
            self._refuse(
                outcome,
                NewFinding(
                    Finding(None, "mirror_response_refused", str(e)),
                    {"path": e.path},
                    fingerprint("refused", e.path, e),
                ),
            )
        return outcome

    def _refuse(self, outcome: PullOutcome, finding: NewFinding) -> None:
        outcome.refused = True
        outcome.findings.append(finding)
        self.store.record_findings(outcome.origin, [finding], self.clock_ms())

    # --- step 3: the entries ---------------------------------------------------------------

    def _verify_entries(
        self, head: MirrorHeadRecord, source: FetchAhead, outcome: PullOutcome, leaves: _LeafTiles
    ) -> MirrorHeadRecord | None:
        """Fetch, check and store the entries after ``head.entries_size``.

        Two stages, a few bundles apart: as a bundle arrives its entries are held to their
        leaves and proven — parsed, log, schema, signature against every key registered so
        far (order-free, ``exam_core.monitoring.mirror_proofs``) — by the worker processes, or here
        without them; then, in log order, each proven entry is admitted by the rules that
        depend on the entries before it (``_admit``), and any other takes the full path.

        Raises:
            SourceUnavailableError: a bundle could not be fetched.
            SourceRefusedError: a bundle was refused by the source.
            StoreError: the database failed.
        """
        origin, size = head.origin, head.tree_size
        if head.entries_size >= size:
            return head
        registry = (
            KeyRegistry(origin)
            if head.entries_size == 0
            else decode_registry(origin, head.key_registry)
        )
        known: dict[str, frozenset[bytes]] = {
            name: frozenset({record.verifier.public_key}) for name, record in registry.keys.items()
        }
        progress = _Progress(head.entries_size, registry)
        proofs = ProofQueue(origin, known, self.signatures)
        start = progress.committed - progress.committed % TILE_WIDTH
        firsts = range(start, size, TILE_WIDTH)
        tail = len(firsts) - IN_FLIGHT_BUNDLES
        bundles = (entry_bundle_for(i, size) for i in firsts)
        for k, (bundle_path, fetched) in enumerate(source.in_order(bundles)):
            checked = self._check_leaves(
                head,
                bundle_path,
                fetched.result(),
                leaves=leaves,
                progress=progress,
                source=source,
            )
            if isinstance(checked, NewFinding):
                proofs.send()
                while proofs.sent:
                    self._admit(proofs.next(), progress, outcome)
                self._flush(origin, progress, outcome)
                self._refuse(outcome, checked)
                return None
            proofs.add(checked)
            if k >= tail:
                proofs.send(each=True)
            elif proofs.unsent >= SIGNATURE_BUNDLES:
                proofs.send()
            while proofs.sent > IN_FLIGHT_BUNDLES:
                self._admit(proofs.next(), progress, outcome)
        proofs.send(each=True)
        while proofs.sent:
            self._admit(proofs.next(), progress, outcome)
        self._flush(origin, progress, outcome)
        return self.store.head(origin)

    def _check_leaves(
        self,
        head: MirrorHeadRecord,
        bundle_path: TilePath,
        data: bytes,
        *,
        leaves: _LeafTiles,
        progress: _Progress,
        source: FetchAhead,
    ) -> Checked | NewFinding:
        """The new entries of a bundle, each held to a hash the verified checkpoint commits to:
        its leaf in the bundle's level-0 tile where the mirror holds that tile (compared whole
        first, entry by entry only to name the first that differs), else, for a full bundle,
        the root of its 256 leaf hashes to the tile's hash in the level-1 tile.  Equal, those
        leaf hashes are the verified level-0 tile, kept in ``progress`` to be committed with
        the entries; unequal, ``_unequal`` says whose fault it is.

        Raises:
            SourceRefusedError: the bundle does not decode into its width's entries, or the
                level-0 tile fetched to diagnose a difference is refused.
            SourceUnavailableError: that tile could not be fetched.
            StoreError: a verified tile is missing.
        """
        try:
            bundle = decode_entry_bundle(data, bundle_path.length)
        except CheckpointError as e:
            raise SourceRefusedError(bundle_path.path, str(e)) from e
        first = bundle_path.n * TILE_WIDTH
        skip = progress.fetched - first
        tile = leaves.take(bundle_path)
        if tile is None:  # a full bundle whose level-0 tile step 2 did not fetch
            held = leaf_hashes(bundle)
            parent = leaves.parent(bundle_path.n)
            if tile_root(held) != parent:
                return self._unequal(head, bundle_path, held, parent, source.source)
            progress.tiles[bundle_path.n] = b"".join(held)
        else:
            held = leaf_hashes(bundle[skip:])
            if b"".join(held) != tile[skip * 32 :]:
                for k, ours in enumerate(held, skip):
                    if ours != tile[k * 32 : k * 32 + 32]:
                        return _entry_mismatch(head, bundle_path, first + k, ours)
        progress.fetched = first + len(bundle)
        return Checked(first + skip, bundle[skip:])

    @staticmethod
    def _unequal(
        head: MirrorHeadRecord,
        bundle_path: TilePath,
        held: list[bytes],
        parent: bytes,
        source: LogSource,
    ) -> NewFinding:
        """Why a full bundle's leaf hashes do not give its tile's verified hash: the centre's
        level-0 tile is fetched; if it gives that hash, the first entry that differs from it is
        named (``mirror_entry_mismatch``), else the tiles are wrong.

        Raises:
            SourceRefusedError: the tile is refused, or is not 256 hashes.
            SourceUnavailableError: the tile could not be fetched.
        """
        path = TilePath(0, bundle_path.n)
        try:
            theirs = split_tile(source.tile(path), path)
        except CheckpointError as e:
            raise SourceRefusedError(path.path, str(e)) from e
        if tile_root(theirs) != parent:
            problem = f"{path.path} does not hash to hash {path.n % TILE_WIDTH} of its parent tile"
            return NewFinding(
                Finding(None, "mirror_tiles_wrong", f"tiles of the verified tree: {problem}"),
                {"checkpoint": note_text(head.checkpoint), "path": path.path},
                fingerprint("tiles", head.tree_size, head.root_hash.hex(), problem),
            )
        k = next(k for k, (ours, leaf) in enumerate(zip(held, theirs, strict=True)) if ours != leaf)
        return _entry_mismatch(head, bundle_path, bundle_path.n * TILE_WIDTH + k, held[k])

    def _admit(self, checked: Checked, progress: _Progress, outcome: PullOutcome) -> None:
        """Step 3 in log order for one bundle's new entries; commit every ``CHUNK_ENTRIES``.

        An entry a worker proved is admitted by the registry's order-dependent rules alone
        (``KeyRegistry.admit_proven``), unparsed here; one they refuse, or not proven (a key
        event, a blob reference, a bad signature, an entry that does not parse or fails its
        schema), takes the full path, which gives the audit's finding.

        Raises:
            StoreError: the database failed.
            RuntimeError: the bundle was not proven first (a bug of this module).
        """
        if checked.verified is None:  # send() proves every bundle it hands on
            raise RuntimeError("a bundle reached the registry step unproven")
        start, end = checked.offset, checked.offset + len(checked.entries)
        keys_column, types, seqs, _ = checked.verified.result()
        keys = checked.keys
        progress.pending.extend(checked.entries)
        registry, findings, refused = progress.registry, progress.findings, progress.refused
        admit_proven = registry.admit_proven
        for index, entry_bytes, k, kind, seq in zip(
            range(checked.first, checked.first + len(checked.entries)),
            checked.entries,
            keys_column[start:end],
            types[start:end],
            seqs[start:end],
            strict=True,
        ):
            key: bytes | None = None
            if k != NO_KEY:
                actor, key = keys[k]
                if kind != NOT_PROVEN and admit_proven(actor, key, PROVEN_TYPES[kind], seq):
                    continue  # proven, and the rules that depend on order hold: admitted
            # refused, a key event, a blob reference or not proven: the full path says why
            try:
                entry = parse_entry(entry_bytes)
            except EntryError as e:
                findings.add(index, e.code, e.message)
                continue
            admit_in_order(registry, index, entry, key, findings=findings, refused=refused)
        if len(progress.pending) >= CHUNK_ENTRIES:
            self._flush(outcome.origin, progress, outcome)

    def _flush(self, origin: str, progress: _Progress, outcome: PullOutcome) -> None:
        """Commit the pending entries, the level-0 tiles made from their bundles, the registry
        after them and their findings.

        Raises:
            StoreError: the database failed, or another pull moved this log's copy.
        """
        new = [
            NewFinding(f, {"entries": [f.index]}, fingerprint("entry-rule", f.index, f.code))
            for f in progress.findings.done()
        ]
        if not progress.pending and not new:
            return
        end = progress.committed + len(progress.pending)
        tiles = {n: d for n, d in progress.tiles.items() if (n + 1) * TILE_WIDTH <= end}
        if not self.store.advance_entries(
            origin,
            progress.committed,
            entries=progress.pending,
            key_registry=encode_registry(progress.registry.state()),
            findings=new,
            now_ms=self.clock_ms(),
            leaf_tiles=tiles,
        ):
            raise StoreError(f"the mirror's copy of {origin} moved under this pull")
        for n in tiles:
            del progress.tiles[n]
        outcome.findings.extend(new)
        progress.committed = end
        outcome.entries_size = progress.committed
        progress.pending = []
        progress.findings = FindingLog()

    # --- step 4: the mirror's cosignature --------------------------------------------------

    def _cosign(self, head: MirrorHeadRecord) -> None:
        if head.checkpoint is None or head.entries_size != head.tree_size:
            return
        try:
            note = parse_note(head.checkpoint)
        except NoteError as e:
            raise StoreError(f"the verified checkpoint of {head.origin} is unreadable") from e
        if head.cosigned is not None and head.cosigned.startswith(note.text + b"\n"):
            return
        log_lines = b"".join(
            signature_line(s.name, s.key_id, s.signature)
            for s in note.signatures
            if s.name == head.origin
        )
        stamp = max(self.clock_ms() // 1000, 1)
        cosigned = note.text + b"\n" + log_lines + self._signer.line(note.text, stamp)
        self.store.set_cosigned(head.origin, head.tree_size, cosigned)


def _entry_mismatch(
    head: MirrorHeadRecord, bundle_path: TilePath, index: int, ours: bytes
) -> NewFinding:
    return NewFinding(
        Finding(
            index,
            "mirror_entry_mismatch",
            f"entry {index} of {bundle_path.path} does not hash to its leaf in "
            "the tiles the checkpoint signs",
        ),
        {"entries": [index], "checkpoint": note_text(head.checkpoint)},
        fingerprint("entry", index, ours.hex()),
    )
