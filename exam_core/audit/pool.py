"""Entry signature checks for the audit, shared out chunk by chunk between processes.

Re-verifying every actor's Ed25519 signature is most of an audit's cost, and it needs no order:
which key is the registered one at each point is decided later by the ordered registry pass
(``exam_core.audit.ordered_pass``).  So worker processes verify chunks of entries while the
auditing process runs that ordered pass, and both meet on a board in shared memory: one state
per chunk (free, taken by a worker, taken here, done) and, per entry, which registered key
verified it.

- A worker takes the lowest free chunk, verifies it, writes its answers and marks it done.
  Given the log's origin (``prove``), a worker also proves each entry
  (``exam_core.audit.signatures.Proof``: it parses, names the log, passes its schema) and
  posts its ``seq``, ``ts`` and type beside the key, four numbers an entry in shared memory:
  the ordered pass then neither parses nor re-checks that entry, it only applies the rules
  that depend on the entries before it.
- The ordered pass reads the answers in log order.  When its next chunk is still free it takes
  it (the registry then verifies those entries as ingest does).  When a worker holds it and is
  not done, the pass takes the next free chunk and verifies it rather than wait.

So every process stays busy until the last chunk whatever their relative speed or the other
load on the machine, and no fixed share has to guess it.  Nothing is sent per chunk, and a
worker that dies only hands its chunk back: the auditing process verifies it itself.

Workers are forked on Linux when this process runs no other thread: they inherit the entries and
start in milliseconds.  Otherwise (a fork of a threaded process could inherit a lock some thread
holds) they are spawned, and the entries are sent to them once.  The entries of a bundle on disk
(``exam_core.audit.log_entries``) are sent as the names of their files: each process reads the
chunks it verifies, so no process holds the log.
"""

from __future__ import annotations

import ctypes
import multiprocessing

# What the board's shared arrays and lock are made by, imported with this module rather than by
# the first board an audit makes: they bring ``tempfile`` and ``subprocess``, ~10 ms that the
# first audit of a process would otherwise spend before any worker could start.
import multiprocessing.sharedctypes  # noqa: F401
import multiprocessing.synchronize  # noqa: F401
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from multiprocessing import get_all_start_methods
from multiprocessing.context import BaseContext, ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Any, Literal, cast

from exam_core.audit.answer_columns import (
    AnswerColumns,
    KeyList,
    answer_columns,
    key_list,
    read_answers,
)
from exam_core.audit.chunk_sources import (
    Chunk,
    ChunkSource,
    HeldEntries,
    KeyListDigests,
    LinedUpEntries,
    LiningUp,
    shared_zeros,
)
from exam_core.audit.log_entries import LogBundle, LogEntries
from exam_core.audit.signatures import Answer, ProvingKeys, keys_by_name, registered_key_pairs
from exam_core.log.merkle import HASH_SIZE
from exam_core.log.tiles import TILE_WIDTH, TilePath

__all__ = ["LinedUpProof", "ProcessSignatureCheck"]

DEFAULT_CHUNK = 512
"""Entries a chunk: tens of milliseconds of verification, so the board is touched rarely, and
small enough that the last chunks keep every process busy until the end."""

FREE, HERE, DONE = 0, 1, 2
"""Chunk states; a chunk a worker holds is ``WORKER + its number``."""
WORKER = 3
WAIT_SECONDS = 0.2
"""How long the ordered pass waits on a worker before it looks whether the worker still runs."""


StartMethod = Literal["fork", "spawn"]


def _context(start_method: StartMethod | None) -> ForkContext | SpawnContext:
    """The chosen start method, else fork on Linux when this process runs no other thread,
    else spawn (macOS system libraries are not safe to use after a fork)."""
    if start_method is None:
        fork_safe = sys.platform.startswith("linux") and threading.active_count() == 1
        start_method = "fork" if fork_safe and "fork" in get_all_start_methods() else "spawn"
    if start_method == "fork":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class ChunkBoard:
    """The shared state of one audit's signature checks.

    ``lining_up`` makes the board of workers forked before the log is lined up
    (``exam_core.audit.chunk_sources``): its arrays are sized for the most entries the log's
    bundles could hold, in memory the kernel gives as it is written, and the bundles are
    published on ``lining_up`` as they are lined up.
    """

    def __init__(
        self,
        ctx: BaseContext,
        size: int,
        chunk: int,
        key_list: KeyList,
        origin: str | None,
        *,
        lining_up: LiningUp | None = None,
    ) -> None:
        self.chunk = chunk
        self.chunks = -(-size // chunk)
        self.key_list = key_list
        """The auditing process's key list: an answer's key is a place in it."""
        self.origin = origin
        """The log whose entries are proven (``Proof``); None: verify signatures only."""
        self.changed: Any = ctx.Condition(ctx.Lock())
        self.lining_up = lining_up

        def zeros(ctype: Any, count: int) -> Any:
            if lining_up is None:
                return ctx.RawArray(ctype, max(count, 1))
            return shared_zeros(ctype, count)

        self.limit: Any = zeros(ctypes.c_int64, 1)
        """How many chunks may be claimed: all but those past the log, once its size is known."""
        self.limit[0] = self.chunks
        self.states: Any = zeros(ctypes.c_uint8, self.chunks)
        self.posted: Any = zeros(ctypes.c_int32, self.chunks)
        """Per chunk, how many answers a worker posted for it."""
        self.listed: Any = zeros(ctypes.c_int32, self.chunks)
        """Per chunk, the length of the key list its answers number keys by …"""
        self.listed_digests: Any = zeros(ctypes.c_ubyte, self.chunks * HASH_SIZE)
        """… and that list's digest (``KeyListDigests``)."""
        self.answers: Any = zeros(ctypes.c_int32, size)
        self.types: Any = zeros(ctypes.c_int16, size)
        """Per entry, the place of its type in ``PROVEN_TYPES`` if proven, else NOT_PROVEN."""
        self.seqs: Any = zeros(ctypes.c_int64, size)
        self.times: Any = zeros(ctypes.c_int64, size)

    def end(self, size: int) -> None:
        """The log holds ``size`` entries: no chunk past them is claimed any more.  Once only:
        a later call changes nothing."""
        with self.changed:
            if self.lining_up is not None:
                if self.lining_up.ended:
                    return
                self.lining_up.end(size)
            self.limit[0] = min(self.chunks, -(-size // self.chunk))
            self.changed.notify_all()

    def post(self, c: int, found: Sequence[Answer], chunk: Chunk) -> None:
        """Write a worker's answers for chunk ``c`` (a worker's side)."""
        keys, types, seqs, times = answer_columns(found, chunk.listed)
        start = c * self.chunk
        end = start + len(found)
        self.answers[start:end] = keys
        self.types[start:end] = types
        self.seqs[start:end] = seqs
        self.times[start:end] = times
        self.listed[c] = len(chunk.listed)
        self.listed_digests[c * HASH_SIZE : (c + 1) * HASH_SIZE] = chunk.listed_digest
        self.posted[c] = len(found)

    def read(self, c: int, size: int, digests: Sequence[bytes]) -> list[Answer] | None:
        """The answers a worker posted for the ``size`` entries of chunk ``c``; None if it
        posted another number of them, or numbered keys by a list that is not the first keys
        of ``key_list`` (whose prefixes have ``digests``): the chunk is then verified here."""
        listed = self.listed[c]
        digest = bytes(self.listed_digests[c * HASH_SIZE : (c + 1) * HASH_SIZE])
        if self.posted[c] != size or listed >= len(digests) or digests[listed] != digest:
            return None
        start = c * self.chunk
        end = start + size
        columns = AnswerColumns(
            self.answers[start:end],
            self.types[start:end],
            self.seqs[start:end],
            self.times[start:end],
        )
        return list(read_answers(columns, self.key_list))

    def claim(self, first: int, state: int) -> int | None:
        """Mark the lowest free chunk from ``first`` on as ``state``; call with the lock held."""
        states = self.states
        for c in range(first, self.limit[0]):
            if states[c] == FREE:
                states[c] = state
                return c
        return None


WorkerLoop = Callable[[int, ChunkSource, ChunkBoard], None]
"""What a worker process runs: its number, where it reads its chunks, and the shared board."""


def verify_chunks(number: int, source: ChunkSource, board: ChunkBoard) -> None:
    """A worker's loop: take the lowest free chunk, verify it, post the answers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the auditing process handles Ctrl-C
    size, first = board.chunk, 0
    while True:
        with board.changed:
            c = board.claim(first, WORKER + number)
        if c is None:
            return
        first = c + 1
        chunk = source.chunk(c * size, size)
        if chunk.entries:  # none: the chunk is past the log, which ended before it
            board.post(c, chunk.prover.prove(chunk.entries), chunk)
        with board.changed:
            board.states[c] = DONE
            board.changed.notify_all()


class ProcessSignatureCheck:
    """A ``SignatureCheck`` backed by ``workers`` processes; use it as a context manager."""

    def __init__(
        self,
        workers: int,
        chunk: int = DEFAULT_CHUNK,
        start_method: StartMethod | None = None,
        worker: WorkerLoop | None = None,
    ) -> None:
        """``worker`` is the loop each worker process runs (``verify_chunks``); a test passes
        one that dies holding a chunk, to see the chunk handed back.

        Raises:
            RuntimeError: fewer than one worker or one entry a chunk (a caller bug).
        """
        if workers < 1 or chunk < 1:
            raise RuntimeError("a signature pool needs at least one worker and one entry a chunk")
        self._workers = workers
        self._chunk = chunk
        self._start_method = start_method
        self._worker = worker or verify_chunks
        self._entered = False
        self._processes: list[BaseProcess] = []
        self._lining_up: list[ChunkBoard] = []
        """Boards of workers started before the log was lined up (``begin``)."""
        self._passes: list[_OrderedPass] = []

    @property
    def taken_back(self) -> int:
        """Entries the auditing process verified itself rather than wait for a worker."""
        return sum(p.taken_back for p in self._passes)

    @property
    def handed_back(self) -> int:
        """Entries of chunks a worker took whose answers the auditing process could not use
        (the worker stopped, or numbered keys by another list), and verified itself."""
        return sum(p.handed_back for p in self._passes)

    @property
    def verified_by_workers(self) -> int:
        """Entries whose signature a worker verified (its answer read and not None)."""
        return sum(p.verified_by_workers for p in self._passes)

    def __enter__(self) -> ProcessSignatureCheck:
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for board in self._lining_up:
            board.end(0)  # a log never lined up (the audit stopped before): nothing is left
        for process in self._processes:
            if process.exitcode is None and exc_type is not None:
                process.terminate()  # the audit stopped early: its answers are not wanted
            process.join()
        self._processes.clear()
        self._lining_up.clear()
        self._entered = False

    def __call__(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
    ) -> Iterator[bytes | None]:
        """Verify ``entries``' signatures: per entry, the registered key that verified it."""
        return cast(Iterator[bytes | None], self._start(entries, keys, None))  # no origin, no Proof

    def prove(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str
    ) -> Iterator[Answer]:
        """``ProvingCheck``: verify ``entries`` and prove those of the log ``origin``."""
        return self._start(entries, keys, origin)

    def begin(
        self, files: Mapping[TilePath, bytes], origin: str, cap: int | None
    ) -> LinedUpProof | None:
        """``EarlyProvingCheck``: start workers on the log's entry bundle ``files`` before they
        are lined up, to prove the entries of the log ``origin`` up to ``cap`` (the newest
        checkpoint's size).  None when workers are not forked (a spawned worker is sent what it
        reads, which is not known yet) or the log is too small for more than one chunk.
        """
        self._check_entered()
        ctx = _context(self._start_method)
        if not isinstance(ctx, ForkContext):
            return None
        positions = {tile.n for tile in files}
        held = next(n for n in range(len(positions) + 1) if n not in positions)
        size = held * TILE_WIDTH if cap is None else min(cap, held * TILE_WIDTH)
        if size <= self._chunk:
            return None
        try:
            lining_up = LiningUp(held)
            board = ChunkBoard(ctx, size, self._chunk, [], origin, lining_up=lining_up)
        except (OSError, OverflowError, ValueError, MemoryError):
            return None  # more than this machine maps: start once the log is lined up
        workers = self._fork(
            ctx, board, lambda: LinedUpEntries(files, lining_up, board.changed, cap, origin)
        )
        self._lining_up.append(board)
        return LinedUpProof(self, board, lining_up, workers)

    def _check_entered(self) -> None:
        if not self._entered:
            raise RuntimeError("use ProcessSignatureCheck as a context manager")

    def _start(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str | None
    ) -> Iterator[Answer]:
        self._check_entered()
        ctx = _context(self._start_method)
        board = ChunkBoard(ctx, len(entries), self._chunk, key_list(keys), origin)
        source = HeldEntries(entries, keys, origin, board.key_list)
        workers = self._fork(ctx, board, lambda: source) if board.chunks > 1 else []
        return self.ordered_pass(board, entries, keys, workers)

    def _fork(
        self,
        ctx: ForkContext | SpawnContext,
        board: ChunkBoard,
        source: Callable[[], ChunkSource],
    ) -> list[BaseProcess]:
        workers: list[BaseProcess] = []
        for number in range(self._workers):
            process = ctx.Process(target=self._worker, args=(number, source(), board), daemon=True)
            process.start()
            workers.append(process)
        self._processes.extend(workers)
        return workers

    def ordered_pass(
        self,
        board: ChunkBoard,
        entries: Sequence[bytes],
        keys: Mapping[str, frozenset[bytes]],
        workers: list[BaseProcess],
    ) -> Iterator[Answer]:
        """The answers for ``entries`` in log order, read from ``board`` or verified here."""
        ordered = _OrderedPass(board, entries, keys, workers)
        self._passes.append(ordered)
        return ordered.answers()


class LinedUpProof:
    """Workers started before the log is lined up (``ProcessSignatureCheck.begin``): the
    auditing process's side, which publishes each bundle as it is lined up, then reads the
    answers."""

    def __init__(
        self,
        pool: ProcessSignatureCheck,
        board: ChunkBoard,
        lining_up: LiningUp,
        workers: list[BaseProcess],
    ) -> None:
        self._pool = pool
        self._board = board
        self._lining_up = lining_up
        self._workers = workers

    def line_up(self, bundle: LogBundle) -> None:
        """The log's next entry bundle, as ``assemble_entries`` lines it up."""
        with self._board.changed:
            self._lining_up.publish(bundle)
            self._board.changed.notify_all()

    def answers(self, entries: LogEntries) -> Iterator[Answer]:
        """The log is lined up (``entries``, cut to its newest checkpoint): per entry, what
        was proven of it, in log order."""
        self._board.end(len(entries))
        listed = registered_key_pairs(entries.registration_candidates())
        self._board.key_list = listed
        return self._pool.ordered_pass(self._board, entries, keys_by_name(listed), self._workers)


class _OrderedPass:
    """The auditing process's side of a board: the answers in log order, and the chunks it
    verifies itself rather than wait."""

    def __init__(
        self,
        board: ChunkBoard,
        entries: Sequence[bytes],
        keys: Mapping[str, frozenset[bytes]],
        workers: list[BaseProcess],
    ) -> None:
        self.board = board
        self.entries = entries
        self.prover = ProvingKeys(keys, board.origin)
        self.workers = workers
        digests = KeyListDigests()
        digests.add(board.key_list)
        self.digests = digests.digests
        """Of the first k keys of the board's list, for each k: what a worker's list must be."""
        self.taken: dict[int, list[Answer]] = {}
        """Chunks verified here ahead of the pass, by number."""
        self.ahead = 0
        """No chunk before this one is free: the board is claimed from the lowest free up."""
        self.taken_back = 0
        self.handed_back = 0
        self.verified_by_workers = 0

    def answers(self) -> Iterator[Answer]:
        board = self.board
        chunk = board.chunk
        for c in range(-(-len(self.entries) // chunk)):
            start = c * chunk
            size = min(chunk, len(self.entries) - start)
            self.ahead = max(self.ahead, c + 1)
            with board.changed:
                state = board.states[c]
                if state == FREE:
                    board.states[c] = state = HERE
            if c in self.taken:
                yield from self.taken.pop(c)
                continue
            if state == HERE:
                self.taken_back += size
                yield from self.prover.prove(self.entries[start : start + size])
                continue
            posted = board.read(c, size, self.digests) if self._wait_for(c) else None
            if posted is None:
                self.handed_back += size
                yield from (None,) * size
                continue
            self.verified_by_workers += size - posted.count(None)
            yield from posted

    def _wait_for(self, c: int) -> bool:
        """Until a worker is done with chunk ``c``, verify free chunks here; True once it is,
        False if the worker holding it stopped (then the registry verifies the chunk)."""
        board = self.board
        while True:
            with board.changed:
                if board.states[c] == DONE:
                    return True
                spare = board.claim(self.ahead, HERE)
                if spare is None:
                    board.changed.wait(WAIT_SECONDS)
                    state = board.states[c]
                    if state == DONE:
                        return True
                    if self.workers[state - WORKER].exitcode is not None:
                        board.states[c] = HERE
                        return False
                    continue
            self.ahead = spare + 1
            start = spare * board.chunk
            self.taken[spare] = self.prover.prove(self.entries[start : start + board.chunk])
            self.taken_back += len(self.taken[spare])
