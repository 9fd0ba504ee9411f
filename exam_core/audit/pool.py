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

from exam_core.audit.answer_columns import AnswerColumns, answer_columns, key_list, read_answers
from exam_core.audit.signatures import Answer, ProvingKeys

__all__ = ["ProcessSignatureCheck"]

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
    """The shared state of one audit's signature checks."""

    def __init__(
        self,
        ctx: BaseContext,
        entries: Sequence[bytes],
        chunk: int,
        key_list: list[tuple[str, bytes]],
        origin: str | None,
    ) -> None:
        self.chunk = chunk
        self.chunks = -(-len(entries) // chunk)
        self.key_list = key_list
        """(name, public key) of every registered key; an answer is a place in this list."""
        self.origin = origin
        """The log whose entries are proven (``Proof``); None: verify signatures only."""
        self.states: Any = ctx.RawArray(ctypes.c_uint8, max(self.chunks, 1))
        size = max(len(entries), 1)
        self.answers: Any = ctx.RawArray(ctypes.c_int32, size)
        self.types: Any = ctx.RawArray(ctypes.c_int16, size)
        """Per entry, the place of its type in ``PROVEN_TYPES`` if proven, else NOT_PROVEN."""
        self.seqs: Any = ctx.RawArray(ctypes.c_int64, size)
        self.times: Any = ctx.RawArray(ctypes.c_int64, size)
        self.changed: Any = ctx.Condition(ctx.Lock())

    def post(self, start: int, found: Sequence[Answer]) -> None:
        """Write a worker's answers for the entries from ``start`` on (a worker's side)."""
        keys, types, seqs, times = answer_columns(found, self.key_list)
        end = start + len(found)
        self.answers[start:end] = keys
        self.types[start:end] = types
        self.seqs[start:end] = seqs
        self.times[start:end] = times

    def read(self, start: int, size: int) -> list[Answer]:
        """The answers a worker posted for ``size`` entries from ``start`` on."""
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
        for c in range(first, self.chunks):
            if states[c] == FREE:
                states[c] = state
                return c
        return None


WorkerLoop = Callable[[int, Sequence[bytes], Mapping[str, frozenset[bytes]], ChunkBoard], None]
"""What a worker process runs: its number, the entries, the keys and the shared board."""


def verify_chunks(
    number: int,
    entries: Sequence[bytes],
    keys: Mapping[str, frozenset[bytes]],
    board: ChunkBoard,
) -> None:
    """A worker's loop: take the lowest free chunk, verify it, post the answers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the auditing process handles Ctrl-C
    prover = ProvingKeys(keys, board.origin)
    chunk, first = board.chunk, 0
    while True:
        with board.changed:
            c = board.claim(first, WORKER + number)
        if c is None:
            return
        first = c + 1
        start = c * chunk
        board.post(start, prover.prove(entries[start : start + chunk]))
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
        self._passes: list[_OrderedPass] = []

    @property
    def taken_back(self) -> int:
        """Entries the auditing process verified itself rather than wait for a worker."""
        return sum(p.taken_back for p in self._passes)

    @property
    def handed_back(self) -> int:
        """Entries of chunks a stopped worker had taken, verified by the auditing process."""
        return sum(p.handed_back for p in self._passes)

    def __enter__(self) -> ProcessSignatureCheck:
        self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for ordered in self._passes:
            for process in ordered.workers:
                if process.exitcode is None and exc_type is not None:
                    process.terminate()  # the audit stopped early: its answers are not wanted
                process.join()
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

    def _start(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str | None
    ) -> Iterator[Answer]:
        if not self._entered:
            raise RuntimeError("use ProcessSignatureCheck as a context manager")
        ctx = _context(self._start_method)
        board = ChunkBoard(ctx, entries, self._chunk, key_list(keys), origin)
        workers: list[BaseProcess] = []
        for number in range(self._workers if board.chunks > 1 else 0):
            process = ctx.Process(
                target=self._worker, args=(number, entries, dict(keys), board), daemon=True
            )
            process.start()
            workers.append(process)
        ordered = _OrderedPass(board, entries, keys, workers)
        self._passes.append(ordered)
        return ordered.answers()


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
        self.taken: dict[int, list[Answer]] = {}
        """Chunks verified here ahead of the pass, by number."""
        self.ahead = 0
        """No chunk before this one is free: the board is claimed from the lowest free up."""
        self.taken_back = 0
        self.handed_back = 0

    def answers(self) -> Iterator[Answer]:
        board = self.board
        chunk = board.chunk
        for c in range(board.chunks):
            start = c * chunk
            size = min(chunk, len(self.entries) - start)
            self.ahead = max(self.ahead, c + 1)
            with board.changed:
                state = board.states[c]
                if state == FREE:
                    board.states[c] = state = HERE
            if c in self.taken:
                yield from self.taken.pop(c)
            elif state == HERE:
                self.taken_back += size
                yield from self.prover.prove(self.entries[start : start + size])
            elif self._wait_for(c):
                yield from board.read(start, size)
            else:
                self.handed_back += size
                yield from (None,) * size

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
