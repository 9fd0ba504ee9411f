"""An actor that writes to a remote centre's log: it signs, numbers and sends its own events.

``RemoteLog`` is what a device gateway, a tablet or an in-car unit holds: its own key (made on
the device, registered by the administrator) and a ``CentreClient``.  Events are queued and one
sender thread signs and sends them **in order**, because the log takes an actor's entries only
in ``seq`` order:

1. the next event is signed with the next ``seq`` and the current time;
2. the same bytes are sent until the centre answers — a dropped link or a restarting server is
   waited out with backoff (by default without limit, so nothing is lost), and a resubmission
   after a lost answer gets the index the entry already has;
3. if the centre refuses the entry, its ``seq`` is not used up: the next event takes it (a
   refusal for ``seq`` itself means another writer used the key; the count is re-read from the
   centre and the event signed again, once);
4. the event's future resolves with its index, or with the ``RefusedError``.

While the link is down, events wait in the queue in order and are sent when it returns; when
more than one is waiting, up to 64 go in one bundle request (``POST /entries/bundle``), the
accepted prefix resolves, a refused event fails alone, and the events after it are signed again
with the ``seq`` it left unused and sent again.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass

from api.client.centre_client import Appended, CentreClient
from api.client.errors import ClientError, RefusedError
from api.client.retry import FOREVER, RetryPolicy
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer

BAD_SEQ = "entry-bad-seq"
MAX_BUNDLE = 64


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class _Pending:
    event_type: str
    fields: Mapping[str, object]
    future: Future[int]
    blob: bytes | None = None
    """Evidence to upload first; the event then carries its ``sha256`` and ``length``."""
    ts: int | None = None
    """When the event happened on this machine (None: when it is signed)."""


_STOP = object()


class RemoteLog:
    """One actor's entries, signed on this machine and sent to the centre in order."""

    def __init__(
        self,
        client: CentreClient,
        signer: Ed25519Signer,
        *,
        origin: str | None = None,
        clock_ms: Callable[[], int] = wall_clock_ms,
        retry: RetryPolicy = FOREVER,
    ) -> None:
        self.client = client
        self.signer = signer
        self.origin = origin if origin is not None else client.origin()
        self._clock_ms = clock_ms
        self._retry = retry
        self._next_seq = client.next_seq(signer.name)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_loop, name="entry-sender", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self._sender.start()

    @property
    def name(self) -> str:
        return self.signer.name

    def submit(
        self,
        event_type: str,
        fields: Mapping[str, object],
        blob: bytes | None = None,
        *,
        ts: int | None = None,
    ) -> Future[int]:
        """Queue an event; the future gives its index once the centre has it.

        With ``blob`` (a telemetry chunk, a snapshot), the sender uploads it first — retrying
        like the entry, so a chunk made while the link is down waits its turn — and the event
        gets the blob's ``sha256`` and ``length`` fields.

        With ``ts``, the event carries the time it happened on this machine rather than the time
        it is signed: an in-car unit that buffered its chunks while the link was down still says
        when each was recorded (the centre refuses a time further than its allowed skew).

        Raises:
            RuntimeError: the log was closed.
        """
        future: Future[int] = Future()
        pending = _Pending(event_type, dict(fields), future, blob, ts)
        if blob is not None:
            pending.fields = {
                **pending.fields,
                "sha256": hashlib.sha256(blob).hexdigest(),
                "length": len(blob),
            }
        with self._lock:
            if self._closed:
                raise RuntimeError("this RemoteLog is closed")
            self._queue.put(pending)
        return future

    def append(
        self,
        event_type: str,
        fields: Mapping[str, object],
        timeout: float | None = None,
        *,
        ts: int | None = None,
    ) -> int:
        """Send an event and wait for its index (``ts``: as for ``submit``).

        Raises:
            RefusedError: the centre refused it.
            UnavailableError: the centre stayed unreachable (with a bounded retry policy).
            TimeoutError: no answer within ``timeout``.
        """
        return self.submit(event_type, fields, ts=ts).result(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Send what is queued, then stop the sender."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._sender.join(timeout)

    def _sign(self, pending: _Pending, offset: int = 0) -> bytes:
        event = {
            "v": 1,
            "log": self.origin,
            "type": pending.event_type,
            "ts": self._clock_ms() if pending.ts is None else pending.ts,
            "actor": self.signer.name,
            "seq": self._next_seq + offset,
            **pending.fields,
        }
        return make_entry(self.signer, event)

    def _send_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if not isinstance(item, _Pending):
                return
            batch = [item]
            while len(batch) < MAX_BUNDLE:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(more, _Pending):
                    stop = True
                    break
                batch.append(more)
            if len(batch) == 1:
                self._send_one(item)
            else:
                self._send_bundle(batch)

    def _send_one(self, item: _Pending) -> None:
        try:
            index = self._send(item)
        except (ClientError, ValueError, RuntimeError) as e:
            item.future.set_exception(e)
        else:
            item.future.set_result(index)

    def _upload(self, pending: _Pending) -> None:
        if pending.blob is not None:
            self.client.put_blob(pending.blob, retry=self._retry)
            pending.blob = None  # stored: a resend of the entry need not upload it again

    def _send_bundle(self, batch: list[_Pending]) -> None:
        waiting = deque(batch)
        resynced = False
        while waiting:
            for pending in list(waiting):
                try:
                    self._upload(pending)
                except ClientError as e:  # this evidence is refused: its event fails alone
                    waiting.remove(pending)
                    pending.future.set_exception(e)
            if not waiting:
                return
            try:
                signed = [self._sign(p, k) for k, p in enumerate(waiting)]
                answers = self.client.append_bundle(signed, retry=self._retry)
            except (ClientError, ValueError, RuntimeError) as e:
                for p in waiting:
                    p.future.set_exception(e)
                return
            for answer in answers:
                pending = waiting[0]
                if isinstance(answer, Appended):
                    waiting.popleft()
                    self._next_seq += 1
                    pending.future.set_result(answer.index)
                    continue
                # (3) the first refusal: the entries after it failed for the gap it left.
                if answer.name == BAD_SEQ and not resynced:
                    self._next_seq = self.client.next_seq(self.signer.name)
                    resynced = True
                else:
                    waiting.popleft()
                    pending.future.set_exception(answer)
                break

    def _send(self, pending: _Pending) -> int:
        self._upload(pending)
        resynced = False
        while True:
            # (1)
            data = self._sign(pending)
            try:
                # (2)
                index = self.client.append(data, retry=self._retry).index
            except RefusedError as e:
                # (3)
                if e.name == BAD_SEQ and not resynced:
                    self._next_seq = self.client.next_seq(self.signer.name)
                    resynced = True
                    continue
                raise
            # (4)
            self._next_seq += 1
            return index


__all__ = ["RemoteLog"]
