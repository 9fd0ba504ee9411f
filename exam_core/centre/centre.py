"""An exam centre on disk: its configuration, keys, log database and blob store.

A centre directory holds everything one centre's log needs::

    centre.json   origin, database URL (default: log.db here), pinned administrator vkeys,
                  the log's vkey, batching and clock-skew settings
    keys/         one private key file per key name (mode 0600, folder 0700)
    log.db        the SQLite log (unless centre.json names a PostgreSQL database)
    log.snapshot  the admission state at a recent checkpoint (``exam_core.centre.snapshot``)
    blobs/        content-addressed evidence

``Centre`` is the one door through which the rest of the system writes to the log: the device
gateway, allocation, scoring and the demo call ``append`` with a signer, an event type and its
fields, and get back the entry's index once it is durable and published; ``wait_receipt``
gives the C2SP tlog-proof of an entry.  The log key signs checkpoints and nothing else; its
name is the origin (DESIGN §3.2, §3.3).

Opening a centre resumes from its snapshot when the snapshot checks out against the log, and
reads only the entries after it; a snapshot that is absent, unreadable or refused is replaced
by a replay of the whole log, and a refusal is logged as a warning naming the reason.  The
writer saves a new snapshot every ``snapshot_every`` entries and when the centre closes.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from exam_core.centre.actor_lock import ActorLocks
from exam_core.centre.blobs import BlobStore
from exam_core.centre.config import (
    CONFIG_FILE,
    DEFAULT_DB_FILE,
    CentreConfig,
    WitnessConfig,
    database_url,
    full_key_name,
    load_config,
    policy_of,
)
from exam_core.centre.durable import DEFAULT_MODE, replace_atomically, write_new
from exam_core.centre.guard import EntryGuard, GuardFactory
from exam_core.centre.ingest import AdmissionState, ingest_factory, parse_and_verify
from exam_core.centre.keys import read_key_file, write_key_file
from exam_core.centre.sequencer import (
    DEFAULT_MAX_AGE_MS,
    DEFAULT_MAX_BATCH,
    DEFAULT_SAVE_EVERY,
    Sequencer,
    wall_clock_ms,
)
from exam_core.centre.snapshot import (
    MAX_SNAPSHOT_BYTES,
    CentreSnapshot,
    decode_snapshot,
    encode_snapshot,
    verify_snapshot,
)
from exam_core.centre.store import LogStore
from exam_core.centre.witness_http import url_problem
from exam_core.centre.witnessing import Witnessing, describe
from exam_core.db.engine import make_engine
from exam_core.errors import KeyFormatError, StoreError
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text, sign_checkpoint
from exam_core.log.cosignature import cosignature_verifier_from_vkey
from exam_core.log.entry import Entry, make_entry
from exam_core.log.names import check_origin
from exam_core.log.note import (
    Ed25519Signer,
    check_key_name,
    ed25519_verifier_from_vkey,
    parse_note,
)
from exam_core.log.policy import Policy, render_policy
from exam_core.log.registry import DEFAULT_MAX_SKEW_MS
from exam_core.log.schemas.types import ADMIN, ALL_ROLES, Role
from exam_core.log.tlog_proof import make_receipt

KEYS_DIR = "keys"
BLOBS_DIR = "blobs"
SNAPSHOT_FILE = "log.snapshot"
ADMIN_KEY_SUFFIX = "admin"
DEFAULT_WAIT_S = 30.0
RECEIPT_POLL_S = 0.05

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opening:
    """How a centre came to its admission state when it opened."""

    snapshot_size: int | None
    """The size of the snapshot it resumed from; None when it replayed the whole log."""
    refused: str | None
    """Why the snapshot on disk was not used (None: there was none, or it was used)."""
    replayed: int
    """How many entries it read from the log to reach the log's size."""


def key_file_name(name: str) -> str:
    """The file of key ``name`` in ``keys/``: the name with every '/' escaped."""
    check_key_name(name)
    return quote(name, safe="") + ".pem"


class Centre:
    """An open centre: its log (through a running sequencer), keys and blobs."""

    def __init__(
        self,
        root: Path,
        config: CentreConfig,
        store: LogStore,
        log_signer: Ed25519Signer,
        *,
        passphrase: bytes | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        verify_workers: int = 0,
        max_batch: int | None = None,
        max_age_ms: int | None = None,
        start_state: AdmissionState | None = None,
        refused: str | None = None,
        snapshot_every: int = DEFAULT_SAVE_EVERY,
        guard: GuardFactory | None = None,
    ) -> None:
        self.root = root
        self.config = config
        self.store = store
        self.blobs = BlobStore(root / BLOBS_DIR)
        self._log_signer = log_signer
        self._passphrase = passphrase
        self._clock_ms = clock_ms
        self._workers = verify_workers
        # spawn, not fork: workers start while the writer threads run and may hold locks.
        self._executor: Executor | None = (
            ProcessPoolExecutor(verify_workers, mp_context=multiprocessing.get_context("spawn"))
            if verify_workers > 0
            else None
        )
        self._seq_lock = threading.Lock()
        self._actor_locks = ActorLocks(root)
        self._assigned: dict[str, int] = {}
        self._signers: dict[str, Ed25519Signer] = {}
        self.witnessing = Witnessing(store, policy_of(config), clock_ms)
        """Sends each new checkpoint to the policy's witnesses, in the background."""
        self.guard: EntryGuard | None = (
            None if guard is None else guard(config.origin, store, self.blobs)
        )
        """Checks each entry after the registry (``exam_core.centre.guard``): the exam day."""
        self.sequencer = Sequencer(
            store,
            ingest_factory(
                config.origin,
                frozenset(config.pinned_admins),
                config.max_skew_ms,
                self._executor,
                self.guard,
            ),
            self._sign_checkpoint,
            max_batch=config.max_batch if max_batch is None else max_batch,
            max_age_ms=config.max_age_ms if max_age_ms is None else max_age_ms,
            clock_ms=clock_ms,
            pipeline=self._executor is not None,
            start_state=start_state,
            save_state=self._save_snapshot,
            save_every=snapshot_every,
            on_publish=self.witnessing.published,
        )
        self.sequencer.start()
        self.witnessing.start()
        resumed = None if start_state is None else start_state.size
        self.opening = Opening(resumed, refused, self.sequencer.published_size() - (resumed or 0))

    # --- opening and creating --------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: Path | str,
        *,
        passphrase: bytes | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        verify_workers: int = 0,
        max_batch: int | None = None,
        max_age_ms: int | None = None,
        snapshot_every: int = DEFAULT_SAVE_EVERY,
        guard: GuardFactory | None = None,
    ) -> Centre:
        """Open the centre in ``root``: resume from its snapshot, or replay its log; ``guard``
        makes the rule above the log that the writer checks each entry with (the exam day).

        Raises:
            StoreError: ``root`` is not a centre directory, its database cannot be read, or
                its log's entries do not make the tree its newest checkpoint signed.
            KeyFormatError: the log key file is missing, unreadable or not the config's key.
        """
        root = Path(root)
        config = load_config(root)
        log_signer = read_key_file(
            root / KEYS_DIR / key_file_name(config.origin), config.origin, passphrase
        )
        if log_signer.vkey != config.log_vkey:
            raise KeyFormatError("the log key file does not match the log vkey in the config")
        store = LogStore.open(make_engine(database_url(root, config)))
        try:
            start_state, refused = cls._load_snapshot(root, config, store)
            return cls(
                root,
                config,
                store,
                log_signer,
                passphrase=passphrase,
                clock_ms=clock_ms,
                verify_workers=verify_workers,
                max_batch=max_batch,
                max_age_ms=max_age_ms,
                start_state=start_state,
                refused=refused,
                snapshot_every=snapshot_every,
                guard=guard,
            )
        except BaseException:
            store.close()
            raise

    @staticmethod
    def _load_snapshot(
        root: Path, config: CentreConfig, store: LogStore
    ) -> tuple[AdmissionState | None, str | None]:
        """The verified state of the snapshot on disk, or why there is none to resume from."""
        path = root / SNAPSHOT_FILE
        try:
            with path.open("rb") as f:
                data = f.read(MAX_SNAPSHOT_BYTES + 1)
        except FileNotFoundError:
            return None, None
        except OSError as e:
            reason = f"cannot read it: {e.strerror or e}"
        else:
            try:
                snapshot = decode_snapshot(data)
                verify_snapshot(
                    snapshot,
                    config.origin,
                    ed25519_verifier_from_vkey(config.log_vkey),
                    store.checkpoint(snapshot.size),
                )
            except StoreError as e:
                reason = str(e)
            else:
                return snapshot.state, None
        logger.warning(
            "centre %s: snapshot %s refused (%s); replaying the whole log instead",
            config.origin,
            path,
            reason,
        )
        return None, reason

    def _save_snapshot(self, state: AdmissionState, checkpoint: bytes) -> None:
        snapshot = CentreSnapshot(self.config.origin, checkpoint, state)
        replace_atomically(self.root / SNAPSHOT_FILE, encode_snapshot(snapshot))

    @classmethod
    def create(
        cls,
        root: Path | str,
        origin: str,
        *,
        database_url: str | None = None,
        passphrase: bytes | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    ) -> Centre:
        """Create a centre: keys, database and the genesis entry registering the admin key.

        Raises:
            StoreError: the origin is invalid, ``root`` is not empty, or the database cannot be
                reached or already holds a log.
        """
        root = Path(root)
        try:
            check_origin(origin)
        except KeyFormatError as e:
            raise StoreError(f"invalid origin {origin!r}: {e}") from e
        root.mkdir(parents=True, exist_ok=True)
        if any(root.iterdir()):
            raise StoreError(f"{root} is not empty; a centre is created in a new directory")
        # The database first: if it cannot be reached or already holds a log, no keys or
        # configuration are left behind and the same command can be run again.
        url = database_url or f"sqlite:///{(root / DEFAULT_DB_FILE).resolve()}"
        probe = LogStore.open(make_engine(url))
        try:
            if probe.size() != 0:
                raise StoreError("the configured database already holds a log")
        finally:
            probe.close()
        keys = root / KEYS_DIR
        keys.mkdir(mode=0o700)
        log_signer = Ed25519Signer.generate(origin)
        admin = Ed25519Signer.generate(f"{origin}/{ADMIN_KEY_SUFFIX}")
        write_key_file(keys / key_file_name(origin), log_signer, passphrase)
        write_key_file(keys / key_file_name(admin.name), admin, passphrase)
        config = CentreConfig(
            origin=origin,
            admin=admin.name,
            pinned_admins=(admin.vkey,),
            log_vkey=log_signer.vkey,
            database_url=database_url,
            max_skew_ms=max_skew_ms,
            max_batch=max_batch,
            max_age_ms=max_age_ms,
        )
        write_new(root / CONFIG_FILE, config.to_json())
        centre = cls.open(root, passphrase=passphrase, clock_ms=clock_ms)
        try:
            # (DESIGN §3.2) the first entry of the log registers the administrator key.
            centre.append(
                admin, "key.registered", {"name": admin.name, "vkey": admin.vkey, "role": ADMIN}
            )
        except BaseException:
            centre.close()
            raise
        return centre

    def start_workers(self) -> None:
        """Start the signature-checking processes now rather than on the first submission."""
        if self._executor is not None:
            jobs = [self._executor.submit(parse_and_verify, []) for _ in range(self._workers)]
            for job in jobs:
                job.result()

    def close(self) -> None:
        """Publish what was submitted, then release the witnesses, the database, the worker pool and
        the actor locks.

        A witness request in flight is given its timeout to finish; the checkpoints not yet
        cosigned are sent by the next process that opens the centre.
        """
        self.sequencer.close()
        self.witnessing.close()
        if self._executor is not None:
            self._executor.shutdown()
        self.store.close()
        self._actor_locks.release()

    def __enter__(self) -> Centre:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity --------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.config.origin

    @property
    def log_vkey(self) -> str:
        return self.config.log_vkey

    def key_name(self, name: str) -> str:
        """A full key name: ``name`` itself when under the origin, else relative to it.

        A name whose first segment holds a dot (``other.example/...``) is a full name and
        must be under the origin; the origin itself names the log key.

        Raises:
            StoreError: the name is empty, outside the origin, or has an empty, ``.``,
                ``..`` or ill-formed segment (``exam_core.log.names``).
        """
        return full_key_name(self.origin, name)

    def signer(self, name: str) -> Ed25519Signer:
        """The signer of key ``name`` (full or relative), loaded from its key file.

        Raises:
            StoreError: the name is not a valid key name under the origin.
            KeyFormatError: ``name`` is the log key (it signs checkpoints only), or its key file
                is missing or unreadable with the passphrase.
        """
        full = self.key_name(name)
        if full == self.origin:
            raise KeyFormatError("the log key signs checkpoints only")
        cached = self._signers.get(full)
        if cached is None:
            cached = read_key_file(
                self.root / KEYS_DIR / key_file_name(full), full, self._passphrase
            )
            self._signers[full] = cached
        return cached

    def claim_actor(self, name: str) -> Ed25519Signer:
        """The signer of key ``name``, held by this centre alone until it is closed.

        A process that signs as one actor for a while (``examctl log append``) claims it
        first, so that a second such process is refused before it appends anything instead
        of both failing part-way with ``bad_seq`` (``exam_core.centre.actor_lock``).

        Raises:
            StoreError: another process holds the actor, or the name is invalid.
            KeyFormatError: there is no readable key file for the name.
        """
        signer = self.signer(name)
        self._actor_locks.claim(signer.name)
        # The previous holder may have appended after this centre replayed the log.
        self.sequencer.catch_up_before_submitting()
        return signer

    def admin(self) -> Ed25519Signer:
        return self.signer(self.config.admin)

    def register_key(self, name: str, role: Role, passphrase: bytes | None = None) -> Ed25519Signer:
        """Create key ``name`` with ``role``, store it (0600) and register it in the log.

        The key file is written before the registration is appended, so a registered key always
        has its private half.  A key file left by a registration that never reached the log
        (a crash in between) is registered on the next call instead of being replaced.

        Raises:
            StoreError: ``role`` is unknown, the name is invalid, the key is registered
                already, or the log cannot be written.
            KeyFormatError: ``name`` is the log key (it signs checkpoints only), or a key file
                left from an earlier attempt cannot be read with the passphrase.
        """
        if role not in ALL_ROLES:
            raise StoreError(f"unknown role {role!r}; roles are {', '.join(sorted(ALL_ROLES))}")
        full = self.key_name(name)
        if full == self.origin:
            raise KeyFormatError("the log key signs checkpoints only")
        path = self.root / KEYS_DIR / key_file_name(full)
        secret = passphrase if passphrase is not None else self._passphrase
        created = not path.exists()
        if created:
            signer = Ed25519Signer.generate(full)
            write_key_file(path, signer, secret)
        else:
            if full in self.sequencer.registry_view.registry.keys:
                raise StoreError(f"key {full} already exists")
            signer = read_key_file(path, full, secret)
        fields = {"name": full, "vkey": signer.vkey, "role": role}
        try:
            self.append(self.admin(), "key.registered", fields)
        except BaseException:
            if created:
                path.unlink(missing_ok=True)
            raise
        self._signers[full] = signer
        return signer

    def register_public_key(self, name: str, role: Role, vkey: str) -> int:
        """Register a public key made on its device (a tablet, an in-car unit, a gateway).

        The private half never leaves the device: the device prints its vkey and the
        administrator registers it here under ``name`` and ``role``.  The vkey is read with the
        log's own vkey rule, so a malformed key — or one that no signature could be valid under —
        is refused before anything is signed; ingest checks it again before sequencing.  Returns
        the index of the ``key.registered`` entry.

        Raises:
            KeyFormatError: the vkey is malformed, not Ed25519, or names another key than
                ``name``; or ``name`` is the log key.
            StoreError: ``role`` is unknown or ``admin`` (administrator keys are made with the
                centre and pinned by the auditor's policy), the key is registered already, or
                this centre holds a private key of that name.
            EntryError: ingest refused the registration.
        """
        if role not in ALL_ROLES:
            raise StoreError(f"unknown role {role!r}; roles are {', '.join(sorted(ALL_ROLES))}")
        if role == ADMIN:
            raise StoreError("administrator keys are made with the centre, not registered")
        full = self.key_name(name)
        if full == self.origin:
            raise KeyFormatError("the log key signs checkpoints only")
        verifier = ed25519_verifier_from_vkey(vkey)
        if verifier.name != full:
            raise KeyFormatError(f"the vkey is of key {verifier.name}, not {full}")
        if full in self.sequencer.registry_view.registry.keys:
            raise StoreError(f"key {full} already exists")
        if (self.root / KEYS_DIR / key_file_name(full)).exists():
            raise StoreError(f"this centre holds a private key named {full}; choose another name")
        return self.append(
            self.admin(), "key.registered", {"name": full, "vkey": vkey, "role": role}
        )

    def revoke_key(self, name: str, reason: str) -> int:
        """Revoke key ``name``: later entries signed by it are refused."""
        return self.append(
            self.admin(), "key.revoked", {"name": self.key_name(name), "reason": reason}
        )

    # --- appending -------------------------------------------------------------------------

    def next_seq(self, actor: str) -> int:
        """The ``seq`` the next entry of ``actor`` will carry."""
        with self._seq_lock:
            return self._peek_seq(actor)

    def _peek_seq(self, actor: str) -> int:
        logged = self.sequencer.registry_view.registry.next_seq(actor)
        return max(logged, self._assigned.get(actor, 0) + 1)

    def submit(
        self, signer: Ed25519Signer, event_type: str, fields: Mapping[str, object]
    ) -> Future[int]:
        """Sign and queue an event; common fields (v, log, type, ts, actor, seq) are filled.

        Raises:
            RuntimeError: ``fields`` sets one of the common fields (a caller bug).
        """
        clash = {"v", "log", "type", "ts", "actor", "seq"} & set(fields)
        if clash:
            raise RuntimeError(f"fields {sorted(clash)} are filled by the centre")
        with self._seq_lock:
            seq = self._peek_seq(signer.name)
            event = {
                "v": 1,
                "log": self.origin,
                "type": event_type,
                "ts": self._clock_ms(),
                "actor": signer.name,
                "seq": seq,
                **fields,
            }
            future = self.sequencer.submit(make_entry(signer, event))
            self._assigned[signer.name] = seq
        future.add_done_callback(lambda f: self._forget_refused(f, signer.name, seq))
        return future

    def _forget_refused(self, future: Future[int], actor: str, seq: int) -> None:
        # A refused entry does not consume its seq: the next one reuses it (entries of the
        # same actor queued after it are refused too, for the gap, and rewind no further).
        if future.exception() is not None:
            with self._seq_lock:
                self._assigned[actor] = min(self._assigned.get(actor, 0), seq - 1)

    def append(
        self,
        signer: Ed25519Signer,
        event_type: str,
        fields: Mapping[str, object],
        timeout: float | None = DEFAULT_WAIT_S,
    ) -> int:
        """Sign, sequence and publish an event; return its index (raises ``EntryError``)."""
        return self.submit(signer, event_type, fields).result(timeout)

    def submit_entry(self, data: bytes, parsed: Entry | None = None) -> Future[int]:
        """Queue pre-signed entry bytes (from a tablet, terminal or in-car unit); ``parsed``
        is their ``parse_entry`` if the caller has it (see ``Sequencer.submit``)."""
        return self.sequencer.submit(data, parsed)

    def submit_entries(self, items: Sequence[tuple[bytes, Entry | None]]) -> list[Future[int]]:
        """Queue several pre-signed entries in this order (a device's bundle), each with its
        ``parse_entry`` if the caller has it; one future each (``Sequencer.submit_many``)."""
        return self.sequencer.submit_many(items)

    def append_entry(self, data: bytes, timeout: float | None = DEFAULT_WAIT_S) -> int:
        """Sequence and publish pre-signed entry bytes; return the index."""
        return self.submit_entry(data).result(timeout)

    # --- reading ---------------------------------------------------------------------------

    def wait_receipt(self, index: int, timeout: float | None = DEFAULT_WAIT_S) -> bytes:
        """The tlog-proof of entry ``index``, on a checkpoint that covers it and carries the
        policy's witness quorum (every cosignature kept so far, when the policy needs none).

        Raises:
            StoreError: ``index`` is negative, or no such checkpoint came within ``timeout``
                seconds (the message says how far each witness got).
        """
        if index < 0:
            raise StoreError(f"no entry {index}")
        deadline = None if timeout is None else time.monotonic() + timeout
        if self.sequencer.published_size() <= index:
            self._wait_in_store(index, timeout)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        checkpoint = self.witnessing.wait_witnessed(index + 1, remaining)
        if checkpoint is None:
            if self.witnessing.required:
                raise StoreError(
                    f"no checkpoint covering entry {index} met the witness quorum within "
                    f"{timeout} s; {describe(self.witnessing.status())}"
                )
            raise StoreError(f"entry {index} is not published")
        size = self.checkpoint_of(checkpoint).size
        return make_receipt(index, self.store.inclusion_proof(index, size), checkpoint)

    def add_witness(self, vkey: str, url: str, quorum: int | None = None) -> Policy:
        """Name a witness in this centre's policy (``centre.json``); return the new policy.

        ``quorum`` None: every witness named must cosign.  The running feeds are not changed:
        the witness is sent checkpoints from the next time the centre is opened.

        Raises:
            KeyFormatError: ``vkey`` is not a ``cosignature/v1`` (0x04) vkey.
            CheckpointError: the witness is named already, or the quorum is out of range.
            StoreError: no request can be sent to ``url`` (``witness_http.url_problem``).
            OSError: ``centre.json`` cannot be written (it is then left as it was).
        """
        cosignature_verifier_from_vkey(vkey)
        problem = url_problem(url)
        if problem is not None:
            raise StoreError(f"witness URL {url!r}: {problem}")
        config = replace(
            self.config,
            witnesses=(*self.config.witnesses, WitnessConfig(vkey, url.rstrip("/"))),
            quorum=quorum,
        )
        policy = policy_of(config)
        replace_atomically(self.root / CONFIG_FILE, config.to_json(), mode=DEFAULT_MODE)
        self.config = config
        return policy

    def add_beacon(self, vkey: str) -> Policy:
        """Pin a hash-chain beacon key in this centre's policy (``beacon <vkey>``); return the
        new policy.  An allocation drawn on that beacon then audits with the key pinned.

        Raises:
            KeyFormatError: ``vkey`` is not an Ed25519 note vkey.
            StoreError: the key is pinned already.
            OSError: ``centre.json`` cannot be written (it is then left as it was).
        """
        ed25519_verifier_from_vkey(vkey)
        if vkey in self.config.beacons:
            raise StoreError("that beacon key is pinned already")
        config = replace(self.config, beacons=(*self.config.beacons, vkey))
        policy = policy_of(config)
        replace_atomically(self.root / CONFIG_FILE, config.to_json(), mode=DEFAULT_MODE)
        self.config = config
        return policy

    def _wait_in_store(self, index: int, timeout: float | None) -> None:
        # This writer publishes its own entries; those of other writers sharing the database
        # show up in the store, which is polled between short waits.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                self.sequencer.wait_published(index, RECEIPT_POLL_S)
                return
            except StoreError:
                if self.store.size() > index:
                    return
            if deadline is not None and time.monotonic() >= deadline:
                raise StoreError(f"entry {index} was not published within {timeout} s")

    def checkpoint_of(self, data: bytes) -> Checkpoint:
        """The checkpoint body of a stored checkpoint note (trusted: the store signed it)."""
        return parse_checkpoint_text(parse_note(data).text)

    def policy_text(self) -> str:
        """The tlog-policy an auditor verifies this log with (log key, pinned admin keys)."""
        return render_policy(self.policy()).decode()

    def policy(self) -> Policy:
        """The tlog-policy of this log: its key, its witnesses and quorum, the pinned admins."""
        return policy_of(self.config)

    def _sign_checkpoint(self, size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(self.origin, size, root), [self._log_signer])


__all__ = ["Centre", "Opening", "key_file_name"]
