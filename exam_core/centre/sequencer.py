"""The batching writer of one log: sequence → integrate → publish (DESIGN §3.3).

Callers ``submit`` entry bytes and get a future; a background thread gathers submissions into
batches (default: 256 entries, or 250 ms after the first one arrived), admits each entry in
order (``exam_core.centre.ingest``), and commits the admitted entries, their tree hashes and the
checkpoint signed by the log key in **one** database transaction.  When a future resolves with
an index, that entry is durable and published; a refused entry's future fails with the
``EntryError`` that says why, and nothing of it was written.

Several writers may share one database (two processes of a centre, or a restart while the old
process still drains): each takes the database's write lock for its batch, first replays into
its registry whatever the others appended since its last batch, and only then checks its own
entries — so indices, ``seq`` and key state stay right.

When a pool of worker processes is given, the signatures of submissions are checked there
while the writer commits the previous batch (a thread feeds the pool in arrival order), so
ingest uses more than one core.

The writer starts from a saved admission state when it is given one (the centre's verified
snapshot) and reads only the entries after it; whatever it reads, it checks that the tree of
those entries has the root the log's checkpoint of that size signed.  Every ``save_every``
published entries, and when it closes, it hands its state with the checkpoint it was taken at
to ``save_state`` (the centre writes its snapshot); after a failed batch it resumes from the
newest such state rather than from an empty registry, so a failure never replays the log.

A guard (``exam_core.centre.guard``) given with the admission state is fed the log's entries it
has not seen before the registry catches up, so it is rebuilt from the log when the writer
starts; after a failed batch it is reset and rebuilt the same way (its effects of the lost batch
are gone with it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from exam_core.centre.ingest import (
    AdmissionState,
    Ingest,
    IngestFactory,
    PendingVerification,
    Proven,
    parse_submission,
)
from exam_core.centre.store import CheckpointSigner, LogStore
from exam_core.errors import EntryError, ExamCoreError, ExamDayError, StoreError
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.entry import Entry
from exam_core.log.note import parse_note

DEFAULT_MAX_BATCH = 256
DEFAULT_MAX_AGE_MS = 250
DEFAULT_SAVE_EVERY = 16_384
"""Entries between saved states: a centre reopened after a crash replays at most this many
(about a third of a second), and a save costs a few milliseconds every second or two at full
ingest."""
CATCH_UP_CHUNK = 4096
VERIFY_CHUNK = 64
"""Entries per pool job: large enough to amortise the hand-over, small enough to pipeline."""

StateSaver = Callable[[AdmissionState, bytes], None]
"""``save(state, checkpoint)``: keep ``state``, taken at the log's checkpoint note
``checkpoint``; whatever it raises is logged as a warning, and the writer goes on."""

logger = logging.getLogger(__name__)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class _Submission:
    data: bytes
    entry: Entry | None
    """Parsed at submission, or (with a worker pool) by a worker."""
    future: Future[int]
    arrived: float


@dataclass
class _Chunk:
    items: list[_Submission]
    pending: PendingVerification | None = None
    arrived: float = field(default=0.0)


_STOP = object()


class Sequencer:
    """Batches submissions into durable, published appends to a ``LogStore``."""

    def __init__(
        self,
        store: LogStore,
        make_ingest: IngestFactory,
        sign_checkpoint: CheckpointSigner,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_age_ms: int = DEFAULT_MAX_AGE_MS,
        clock_ms: Callable[[], int] = wall_clock_ms,
        pipeline: bool = False,
        start_state: AdmissionState | None = None,
        save_state: StateSaver | None = None,
        save_every: int = DEFAULT_SAVE_EVERY,
        on_publish: Callable[[int], None] | None = None,
    ) -> None:
        """``start_state`` must be a state of this log already checked against it (the centre
        verifies its snapshot); the writer catches up from there.

        Raises:
            ValueError: a batching or saving parameter is out of range.
        """
        if max_batch < 1 or max_age_ms < 0 or save_every < 1:
            raise ValueError(
                "a batch holds at least one entry and waits a non-negative time; "
                "states are saved every one entry or more"
            )
        self._store = store
        self._make_ingest = make_ingest
        self._sign = sign_checkpoint
        self._max_batch = max_batch
        self._max_age = max_age_ms / 1000
        self._clock_ms = clock_ms
        self._pipeline = pipeline
        self._save_state = save_state
        self._save_every = save_every
        self._on_publish = on_publish
        """Told the new size after each published batch (witnessing wakes; it never blocks)."""
        self._ingest = make_ingest(start_state)
        # The checkpoint note of the log at the size the tree of _ingest has reached.
        self._checkpoint: bytes | None = None
        # The newest state known to be committed, with its checkpoint: a failed batch resumes
        # from here; and the size of the newest state saved (or started from).
        self._restart: tuple[AdmissionState | None, bytes | None] = (start_state, None)
        self._saved_size = 0 if start_state is None else start_state.size
        self._inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._submitted = False
        self._ready: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._published = threading.Condition()
        self._published_size = 0
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._submit_lock = threading.Lock()

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Read the log's entries after the start state, then start accepting submissions.

        Raises:
            RuntimeError: the sequencer is already running.
            StoreError: the log cannot be read, or its entries do not make the tree its
                checkpoint of that size signed.
            EntryError: a stored entry does not parse (the database was altered).
        """
        if self._threads:
            raise RuntimeError("the sequencer is already running")
        self._catch_up(self._store.size(), self._store.entries, self._store.checkpoint)
        self._restart = (self._ingest.state(), self._checkpoint)
        if self._ingest.size - self._saved_size >= self._save_every:
            self._save()
        self._set_published(self._ingest.size)
        writer = threading.Thread(target=self._write_loop, name="log-writer", daemon=True)
        self._threads.append(writer)
        if self._pipeline:
            feeder = threading.Thread(target=self._verify_loop, name="log-verify", daemon=True)
            self._threads.append(feeder)
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Publish what was submitted, then stop; later submissions are refused."""
        with self._submit_lock:
            if self._closed:
                return
            self._closed = True
            self._inbox.put(_STOP)
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Sequencer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- callers ---------------------------------------------------------------------------

    @property
    def registry_view(self) -> Ingest:
        """The admission state as of the last batch (read-only use: next seq, roles)."""
        return self._ingest

    def submit(self, data: bytes, parsed: Entry | None = None) -> Future[int]:
        """Queue entry bytes for sequencing; the future gives the index once published.

        Without a worker pool a malformed entry is refused here, at once, with ``EntryError``;
        with one, the workers parse it and its future fails with that error.  ``parsed`` is
        ``parse_submission(data)`` when the caller has already made it (the HTTP service
        parses to answer a malformed entry before queueing it); it is not parsed again.

        Raises:
            EntryError: the entry does not parse (without a worker pool).
            RuntimeError: the sequencer is not running.
        """
        submission = self._submission(data, parsed, time.monotonic())
        with self._submit_lock:
            if self._closed or not self._threads:
                raise RuntimeError("the sequencer is not running")
            self._submitted = True
            self._inbox.put(submission)
        return submission.future

    def _submission(self, data: bytes, parsed: Entry | None, now: float) -> _Submission:
        """``data`` queued as it is with a worker pool, else parsed here (or taken from
        ``parsed`` when that is its parse).

        Raises:
            EntryError: the entry does not parse, or is not bytes.
        """
        if self._pipeline:
            if not isinstance(data, bytes):
                raise EntryError("malformed_note", "an entry is submitted as bytes")
            entry = None
        elif parsed is not None and parsed.data is data:
            entry = parsed
        else:
            entry = parse_submission(data)
        return _Submission(data, entry, Future(), now)

    def submit_many(self, items: Sequence[tuple[bytes, Entry | None]]) -> list[Future[int]]:
        """Queue several entries in this order, as ``submit`` does one each (``parsed`` the
        entry's ``parse_submission`` if the caller has it); one future each.

        Handed to the writer together — one trip through the queue, not one per entry — so a
        bundle of entries costs the writer's queue what one entry does; a writer batch may
        still close between two of them (at ``max_batch``).

        Raises:
            EntryError: an entry does not parse (without a worker pool); none is queued.
            RuntimeError: the sequencer is not running.
        """
        now = time.monotonic()
        subs = [self._submission(data, parsed, now) for data, parsed in items]
        if not subs:
            return []
        with self._submit_lock:
            if self._closed or not self._threads:
                raise RuntimeError("the sequencer is not running")
            self._submitted = True
            if self._pipeline:
                # The feeder thread takes submissions one by one, in arrival order.
                for sub in subs:
                    self._inbox.put(sub)
            else:
                for start in range(0, len(subs), self._max_batch):
                    part = subs[start : start + self._max_batch]
                    self._inbox.put(_Chunk(part, None, now))
        return [sub.future for sub in subs]

    def catch_up_before_submitting(self) -> None:
        """Read what other writers appended since this sequencer started: a process that
        claims an actor after opening the centre signs with the ``seq`` the log holds now, not
        the one it held at opening.  Once this sequencer has accepted a submission its writer
        thread owns the registry (and catches up at every batch), so this does nothing."""
        with self._submit_lock:
            if self._submitted:
                return
            self._catch_up(self._store.size(), self._store.entries, self._store.checkpoint)
            self._set_published(self._ingest.size)

    @property
    def parses_in_workers(self) -> bool:
        """Whether submitted entries are parsed by the worker processes (each one's future
        then fails with its ``EntryError``) rather than at ``submit``, which raises it."""
        return self._pipeline

    def published_size(self) -> int:
        with self._published:
            return self._published_size

    def wait_published(self, index: int, timeout: float | None = None) -> int:
        """Wait until entry ``index`` is covered by a checkpoint this writer published.

        Raises:
            StoreError: no such checkpoint was published within ``timeout`` seconds.
        """
        with self._published:
            if not self._published.wait_for(lambda: self._published_size > index, timeout):
                raise StoreError(f"entry {index} was not published within {timeout} s")
            return self._published_size

    # --- the threads -----------------------------------------------------------------------

    def _verify_loop(self) -> None:
        # Feed the pool in arrival order; the writer receives chunks in that same order.
        stop = False
        while not stop:
            first = self._inbox.get()
            if first is _STOP:
                break
            items = [first]
            while len(items) < VERIFY_CHUNK:
                try:
                    nxt = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                items.append(nxt)
            subs = [s for s in items if isinstance(s, _Submission)]
            pending = self._ingest.start_verification([s.data for s in subs])
            self._ready.put(_Chunk(subs, pending, subs[0].arrived))
        self._ready.put(_STOP)

    def _next_chunk(self, timeout: float | None) -> object:
        source = self._ready if self._pipeline else self._inbox
        if timeout is None:
            item = source.get()
        elif timeout <= 0:
            item = source.get_nowait()
        else:
            item = source.get(timeout=timeout)
        if isinstance(item, _Submission):
            return _Chunk([item], None, item.arrived)
        return item

    def _write_loop(self) -> None:
        stop = False
        carry: _Chunk | None = None
        while not stop:
            first = carry if carry is not None else self._next_chunk(None)
            carry = None
            if first is _STOP or not isinstance(first, _Chunk):
                break
            batch = [first]
            count = len(first.items)
            deadline = first.arrived + self._max_age
            while count < self._max_batch:
                # Past the deadline, take only what is already queued: a backlog still fills
                # whole batches, and an idle log publishes a lone entry after max_age.
                remaining = max(0.0, deadline - time.monotonic())
                try:
                    nxt = self._next_chunk(remaining)
                except queue.Empty:
                    break
                if nxt is _STOP or not isinstance(nxt, _Chunk):
                    stop = True
                    break
                if count + len(nxt.items) > self._max_batch and count > 0:
                    carry = nxt
                    break
                batch.append(nxt)
                count += len(nxt.items)
            self._commit_or_fail(batch)
        # Drain anything that raced with close().
        if carry is not None:
            self._commit_or_fail([carry])
        if self._ingest.size != self._saved_size:
            self._save()

    def _commit_or_fail(self, chunks: Sequence[_Chunk]) -> None:
        # The writer thread must outlive any bug in one batch: every caller gets an answer.
        try:
            self._commit(chunks)
        except Exception as e:
            self._resume_from_restart()
            for chunk in chunks:
                for sub in chunk.items:
                    if not sub.future.done():
                        sub.future.set_exception(e)

    def _commit(self, chunks: Sequence[_Chunk]) -> None:
        items: list[tuple[_Submission, Entry, bytes | None, Proven]] = []
        for chunk in chunks:
            if chunk.pending is None:
                for sub in chunk.items:
                    if sub.entry is None:
                        raise RuntimeError("a submission without a pool is parsed at submit")
                    items.append((sub, sub.entry, None, None))
                continue
            answers = chunk.pending.admissions()
            for sub, (parsed, key, proven) in zip(chunk.items, answers, strict=True):
                if isinstance(parsed, EntryError):
                    sub.future.set_exception(parsed)
                else:
                    items.append((sub, parsed, key, proven))
        now = self._clock_ms()
        accepted: list[_Submission] = []
        actor_seqs: list[tuple[str, int]] = []
        refused: list[tuple[_Submission, EntryError | ExamDayError]] = []
        try:
            with self._store.write() as writer:
                # (1) catch up with entries other writers appended since our last batch.
                self._catch_up(writer.size, writer.entries, writer.checkpoint)
                # (2) admit in order; a refusal leaves the registry as it was.
                for sub, entry, key, proven in items:
                    try:
                        self._ingest.admit(entry, now, key, proven)
                    except (EntryError, ExamDayError) as e:
                        refused.append((sub, e))
                    else:
                        accepted.append(sub)
                        actor_seqs.append((entry.event["actor"], entry.event["seq"]))
                # (3) integrate and publish in the same transaction.
                result = (
                    writer.append(
                        [s.data for s in accepted],
                        self._sign,
                        now,
                        self._ingest.frontier,
                        actor_seqs,
                    )
                    if accepted
                    else None
                )
        except (ExamCoreError, OSError) as e:
            # Nothing was written; the registry may hold effects of the lost batch.
            self._resume_from_restart()
            failure = e if isinstance(e, StoreError) else StoreError(f"batch not written: {e}")
            for sub, _, _, _ in items:
                sub.future.set_exception(failure)
            return
        if result is not None:
            self._ingest.integrated(result.frontier)
            self._checkpoint = result.checkpoint
        # Saved before the callers hear back, so that a state saved at publication covers
        # every entry whose index has been handed out before it.
        if self._ingest.size - self._saved_size >= self._save_every:
            self._save()
        for sub, error in refused:
            sub.future.set_exception(error)
        if result is not None:
            for offset, sub in enumerate(accepted):
                sub.future.set_result(result.first_index + offset)
            self._set_published(result.size)

    def _catch_up(
        self,
        size: int,
        read: Callable[[int, int], list[bytes]],
        read_checkpoint: Callable[[int], bytes | None],
    ) -> None:
        """Apply the log's entries up to ``size``, then check that they make its tree.

        Raises:
            StoreError: the log lacks an entry below ``size``, shrank, has no checkpoint of
                ``size``, or its entries do not make the tree that checkpoint signed.
        """
        self._catch_up_guard(read)
        before = self._ingest.size
        while self._ingest.size < size:
            start = self._ingest.size
            chunk = read(start, min(size, start + CATCH_UP_CHUNK))
            if not chunk:
                raise StoreError(f"the log has no entry {start} below its size {size}")
            self._ingest.catch_up(chunk)
        if self._ingest.size > size:
            raise StoreError(f"the log shrank from {self._ingest.size} to {size} entries")
        if size == 0 or (size == before and self._checkpoint is not None):
            return
        # The tree of what was read (or resumed) must be the one the log signed at this size.
        note = read_checkpoint(size)
        if note is None:
            raise StoreError(f"the log of {size} entries has no checkpoint of that size")
        if parse_checkpoint_text(parse_note(note).text).root_hash != self._ingest.frontier.root():
            raise StoreError(f"the log's entries do not make the tree its checkpoint {size} signed")
        self._checkpoint = note

    def _catch_up_guard(self, read: Callable[[int, int], list[bytes]]) -> None:
        """Feed the guard the logged entries it has not seen, up to where the registry is.

        Raises:
            StoreError: the log lacks an entry the registry has seen.
        """
        guard = self._ingest.guard
        if guard is None:
            return
        while guard.size < self._ingest.size:
            start = guard.size
            chunk = read(start, min(self._ingest.size, start + CATCH_UP_CHUNK))
            if not chunk:
                raise StoreError(f"the log has no entry {start} for the guard")
            for offset, data in enumerate(chunk):
                guard.replay(start + offset, data)

    def _save(self) -> None:
        """Keep the current state as the restart point, and hand it to ``save_state``."""
        state = self._ingest.state()
        self._restart = (state, self._checkpoint)
        self._saved_size = state.size
        if self._save_state is None or self._checkpoint is None:
            return
        try:
            self._save_state(state, self._checkpoint)
        except Exception as e:
            # A snapshot only saves time; failing to write one never fails a committed batch.
            logger.warning("the log's state at size %d was not saved: %s", state.size, e)

    def _resume_from_restart(self) -> None:
        state, checkpoint = self._restart
        self._ingest = self._make_ingest(state)
        self._checkpoint = checkpoint
        if self._ingest.guard is not None and self._ingest.guard.size != self._ingest.size:
            # It may hold effects of the lost batch: rebuilt from the log at the next batch.
            self._ingest.guard.reset()

    def _set_published(self, size: int) -> None:
        with self._published:
            grew = size > self._published_size
            if grew:
                self._published_size = size
                self._published.notify_all()
        if grew and self._on_publish is not None:
            self._on_publish(size)
