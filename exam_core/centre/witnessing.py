"""Witnessing a centre's log: every new checkpoint goes to each witness of its policy, in the
background, and the cosignatures that come back are kept beside the checkpoint (DESIGN §3.3–3.4).

Publishing never waits for a witness: the sequencer signs and commits a checkpoint, then only
wakes this module's threads (one per witness, so a slow witness delays no other).  Each thread
sends the newest checkpoint with a consistency proof from the size it believes the witness
holds, following C2SP tlog-witness:

1. the witness's size is what it last cosigned for us (from the database), else 0;
2. ``add-checkpoint`` with ``old <size>``, the RFC 6962 proof from the stored tree, and the note;
3. 200: the answer's line of this witness's key is verified on the checkpoint and kept;
4. 409: the witness names its size — resend from there (a witness that lost our answer, or was
   fed by another process of this centre); a size above ours means this process is behind;
5. anything else, or no answer: retry later, backing off up to ``MAX_BACKOFF_S``.

So a centre keeps sequencing while its witnesses are unreachable, and when they return it sends
only its newest checkpoint, with one proof covering everything it missed.  Callers that need a
witnessed checkpoint (receipts, the export) wait with ``wait_witnessed``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from exam_core.centre.store import LogStore
from exam_core.centre.witness_http import WitnessTransport, WitnessUnreachableError
from exam_core.errors import CheckpointError, NoteError
from exam_core.log.checkpoint import Checkpoint, parse_checkpoint_text
from exam_core.log.cosignature import CosignatureVerifier, add_cosignatures, verified_witnesses
from exam_core.log.note import NoteVerifier, parse_note, parse_signature_line
from exam_core.log.policy import Policy
from exam_core.log.tlog_witness import add_checkpoint_body, parse_size_body

__all__ = ["WitnessStatus", "Witnessing", "describe"]

log = logging.getLogger("exam_integrity.witnessing")

IDLE_POLL_S = 5.0
"""Without a wake-up, look again this often: another process of the centre may have published."""
FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 30.0
MAX_CONFLICTS = 3
WAIT_POLL_S = 0.05


@dataclass(frozen=True)
class WitnessStatus:
    """How far one witness has cosigned this log, and why it has not gone further."""

    name: str
    url: str
    cosigned_size: int | None
    last_error: str | None


TransportFactory = Callable[[str], WitnessTransport]


class _Feed:
    """The thread that keeps one witness up to date."""

    def __init__(
        self,
        *,
        store: LogStore,
        name: str,
        url: str,
        witness_key: CosignatureVerifier,
        log_keys: list[NoteVerifier],
        transport: WitnessTransport,
        cosigned: Callable[[], None],
        clock_ms: Callable[[], int],
    ) -> None:
        self.name = name
        self.url = url
        self._store = store
        self._witness_key = witness_key
        self._log_keys = log_keys
        self._transport = transport
        self._cosigned_callback = cosigned
        self._clock_ms = clock_ms
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._backoff = FIRST_BACKOFF_S
        self._cosigned: int | None = None
        self._known: int | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"witness {name}", daemon=True)

    @property
    def cosigned_size(self) -> int | None:
        return self._cosigned

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._transport.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                delay = self._step()
            except Exception as e:  # the thread must outlive any failure; it is reported
                delay = self._failed(f"{type(e).__name__}: {e}")
            self._wake.wait(delay)

    def _failed(self, reason: str) -> float:
        if reason != self.last_error:
            log.warning("witness %s at %s: %s", self.name, self.url, reason)
        self.last_error = reason
        delay = self._backoff
        self._backoff = min(MAX_BACKOFF_S, self._backoff * 2)
        return delay

    def _step(self) -> float:
        """Bring the witness to the newest checkpoint; the delay before looking again."""
        if self._cosigned is None:
            self._cosigned = self._store.cosigned_size(self.name)
        note = self._store.latest_checkpoint()
        if note is None:
            return IDLE_POLL_S
        cp = parse_checkpoint_text(parse_note(note).text)
        if self._cosigned is not None and self._cosigned >= cp.size:
            return IDLE_POLL_S
        # (1) the size the witness holds, as far as we know.
        old = self._known if self._known is not None else (self._cosigned or 0)
        if old > cp.size:
            old = 0
        for _ in range(MAX_CONFLICTS + 1):
            # (2)
            proof = [] if old in (0, cp.size) else self._store.consistency_proof(old, cp.size)
            try:
                answer = self._transport.add_checkpoint(add_checkpoint_body(old, proof, note))
            except WitnessUnreachableError as e:
                return self._failed(str(e))
            # (3)
            if answer.status == 200:
                line = self._accept(note, cp, answer.body)
                self._store.add_cosignature(cp.size, self.name, line, self._clock_ms())
                self._cosigned = self._known = cp.size
                self._backoff = FIRST_BACKOFF_S
                self.last_error = None
                self._cosigned_callback()
                return IDLE_POLL_S
            # (4)
            if answer.status == 409:
                held = parse_size_body(answer.body)
                if held > cp.size:
                    self._known = None
                    return self._failed(
                        f"the witness holds size {held}, above this process's newest {cp.size}"
                    )
                if held == old:
                    return self._failed(f"409 naming the size {old} that was sent")
                self._known = old = held
                continue
            # (5)
            text = answer.body[:200].decode("utf-8", "replace").strip()
            return self._failed(f"answered {answer.status}: {text}")
        return self._failed(f"gave up after {MAX_CONFLICTS} conflicts")

    def _accept(self, note: bytes, cp: Checkpoint, body: bytes) -> bytes:
        """This witness's line in a 200 answer, verified on the checkpoint (3).

        Raises:
            CheckpointError: the answer holds no line of this witness's key that verifies.
        """
        ours = (self._witness_key.name, self._witness_key.key_id)
        for line in body.splitlines(keepends=True):
            try:
                sig = parse_signature_line(line.rstrip(b"\n"))
            except (NoteError, UnicodeDecodeError):
                continue  # signed-note: lines of keys we do not know are ignored
            if (sig.name, sig.key_id) != ours or not line.endswith(b"\n"):
                continue
            cosigned = add_cosignatures(note, [line])
            _, names = verified_witnesses(cosigned, self._log_keys, [self._witness_key])
            if names == (self.name,):
                return line
        raise CheckpointError(f"no valid cosignature of {self.name} on size {cp.size}")


class Witnessing:
    """The witness feeds of one centre and the waiting for a witnessed checkpoint."""

    def __init__(
        self,
        store: LogStore,
        policy: Policy,
        clock_ms: Callable[[], int],
        transport: TransportFactory = WitnessTransport,
    ) -> None:
        self._store = store
        self._policy = policy
        self._changed = threading.Condition()
        keys = policy.witness_verifiers
        self._feeds = [
            _Feed(
                store=store,
                name=w.name,
                url=w.url,
                witness_key=keys[w.name],
                log_keys=list(policy.log_verifiers),
                transport=transport(w.url),
                cosigned=self._notify,
                clock_ms=clock_ms,
            )
            for w in policy.witnesses
            if w.url is not None
        ]

    @property
    def required(self) -> bool:
        """Whether the policy asks for any witness at all."""
        return self._policy.quorum != "none"

    def start(self) -> None:
        for feed in self._feeds:
            feed.start()

    def published(self, _size: int) -> None:
        """A new checkpoint was published: send it (the sequencer calls this; never blocks)."""
        for feed in self._feeds:
            feed.wake()

    def close(self, timeout: float = 6.0) -> None:
        """Stop the feeds; a request in flight gets ``timeout`` seconds to finish."""
        for feed in self._feeds:
            feed.stop(timeout)

    def status(self) -> list[WitnessStatus]:
        return [WitnessStatus(f.name, f.url, f.cosigned_size, f.last_error) for f in self._feeds]

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def newest_witnessed(self, min_size: int = 0) -> bytes | None:
        """The newest checkpoint of at least ``min_size`` whose cosignatures meet the quorum,
        with them; without a quorum to meet, the newest checkpoint with what it has."""
        if not self.required:
            size = self._store.size()
            return self._store.cosigned_checkpoint(size) if size >= min_size and size else None
        lines = self._store.cosignatures(min_size)
        for size in sorted(lines, reverse=True):
            if self._policy.quorum_met(lines[size]):
                return self._store.cosigned_checkpoint(size)
        return None

    def wait_witnessed(self, min_size: int, timeout: float | None) -> bytes | None:
        """Wait until a checkpoint of at least ``min_size`` meets the quorum; None on timeout.

        Cosignatures kept by other processes of the centre are seen by polling the database.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            found = self.newest_witnessed(min_size)
            if found is not None:
                return found
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            with self._changed:
                self._changed.wait(
                    WAIT_POLL_S if remaining is None else min(WAIT_POLL_S, remaining)
                )


def describe(status: list[WitnessStatus]) -> str:
    """One line per witness, for logs and the command line."""
    lines = []
    for s in status:
        size = "nothing" if s.cosigned_size is None else f"size {s.cosigned_size}"
        error = f"; last error: {s.last_error}" if s.last_error else ""
        lines.append(f"{s.name} ({s.url}): cosigned up to {size}{error}")
    return "\n".join(lines)
