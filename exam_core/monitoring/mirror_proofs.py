"""The mirror's hand-over of entries to its signature workers, and what those workers run.

Step 3 of a pull (``exam_core.monitoring.mirror``) proves each entry held to its leaf as the
audit's workers prove it — strict parse, log, schema, signature against every key registered
so far, order-free (``exam_core.audit.signatures.ProvingKeys``) — in worker processes, while
the pull's own process admits the entries proven before in log order.  This module is that
hand-over:

- what a worker runs on a call's entries (``prove_call``) is the audit's ``prove_entries``
  (``exam_core.audit.answer_columns``), answered as columns of integers, with the verifiers
  of the registered keys kept from one call to the next while the keys do not change: made
  anew for every call, as ``prove_entries`` does, they cost about 0.1 ms a key — with a
  centre's 1,000 registered keys, some 50 µs an entry of a 2,048-entry call, more than a
  signature;
- the keys cross as one byte string (``encode_keys``), made once per change of the keys: the
  worker compares it with the one it holds instead of unpickling and comparing the keys;
- ``ProofQueue`` groups the bundles checked against their leaves into calls, keeps the keys
  each call was numbered with, and hands the bundles back in log order with their answers.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from exam_core.audit.answer_columns import AnswerColumns, KeyList, answer_columns, key_list
from exam_core.audit.signatures import KEY_REGISTERED_TEXT, ProvingKeys, registered_keys

__all__ = ["Checked", "ProofQueue", "encode_keys", "prove_call"]

PROVERS_HELD = 16
"""Logs whose verifiers a process keeps between calls (the last ones called for)."""

_provers: dict[str, tuple[bytes, ProvingKeys, KeyList]] = {}
"""In a worker (or the pull's process, without workers): per log, the keys of its last call
as sent, with the verifiers and key list made from them."""
_provers_lock = threading.Lock()


def encode_keys(keys: KeyList) -> bytes:
    """``keys`` as one byte string: per key, its name's length (4 bytes) and name, then its
    public key's length (4 bytes) and key.  Whatever a log registers fits: a registration of
    another signature type may name a key of any length."""
    out = bytearray()
    for name, public_key in keys:
        raw = name.encode("utf-8", "surrogatepass")
        out += len(raw).to_bytes(4, "big") + raw + len(public_key).to_bytes(4, "big") + public_key
    return bytes(out)


def _decode_keys(data: bytes) -> dict[str, frozenset[bytes]]:
    found: dict[str, set[bytes]] = {}
    pos = 0
    while pos < len(data):
        end = pos + 4 + int.from_bytes(data[pos : pos + 4], "big")
        name = data[pos + 4 : end].decode("utf-8", "surrogatepass")
        pos = end + 4 + int.from_bytes(data[end : end + 4], "big")
        found.setdefault(name, set()).add(data[end + 4 : pos])
    return {name: frozenset(keys) for name, keys in found.items()}


def prove_call(entries: Sequence[bytes], keys: bytes, origin: str) -> AnswerColumns:
    """``prove_entries(entries, decoded keys, origin)``: what a worker runs on a call, with
    the keys as ``encode_keys`` gave them; the verifiers made from them are kept for the next
    call of the same log with the same keys.

    Pure in what it answers and order-free: the same answers as ``prove_entries``.
    """
    with _provers_lock:  # a thread pool's workers share it (tests, and no workers)
        held = _provers.pop(origin, None)
    if held is None or held[0] != keys:
        known = _decode_keys(keys)
        held = (keys, ProvingKeys(known, origin), key_list(known))
    with _provers_lock:
        _provers[origin] = held  # the last called for is the last to go
        while len(_provers) > PROVERS_HELD:
            del _provers[next(iter(_provers))]
    return answer_columns(held[1].prove(entries), held[2])


@dataclass
class Checked:
    """A bundle's new entries from index ``first``, held to their leaves; once handed over,
    ``verified`` holds the answers of the call that took them (``prove_entries``) from
    ``offset`` on, keys numbered in ``keys``."""

    first: int
    entries: list[bytes]
    verified: Future[AnswerColumns] | None = None
    offset: int = 0
    keys: KeyList = field(default_factory=list)


class ProofQueue:
    """Bundles on their way from the leaf check to the registry, in log order.

    ``add`` takes a bundle checked against its leaves and learns the keys its registrations
    name; ``send`` hands the bundles not yet sent to a worker in one call (``workers`` None:
    proves them here); ``next`` gives back the oldest bundle handed over.  Every call is
    numbered with every key registered up to its last bundle, so an entry signed by a key
    registered earlier in the same call is proven too.
    """

    def __init__(
        self, origin: str, known: dict[str, frozenset[bytes]], workers: Executor | None
    ) -> None:
        self._origin = origin
        self._known = known
        self._workers = workers
        self._unsent: list[Checked] = []
        self._sent: deque[Checked] = deque()
        self._keys: tuple[KeyList, bytes] | None = None
        """``key_list`` of the known keys and ``encode_keys`` of it, made when a call needs
        them after the keys changed."""

    @property
    def unsent(self) -> int:
        """Bundles added and not yet handed to a worker."""
        return len(self._unsent)

    @property
    def sent(self) -> int:
        """Bundles handed over and not yet taken back by ``next``."""
        return len(self._sent)

    def add(self, checked: Checked) -> None:
        """Queue ``checked``, and learn the keys its entries register."""
        known = self._known
        # Most bundles register no key: one search of the whole bundle says so (a match across
        # two entries only sends the bundle through the search an entry).
        if KEY_REGISTERED_TEXT in b"".join(checked.entries):
            for name, keys in registered_keys(checked.entries).items():
                if not keys <= known.get(name, frozenset()):
                    known[name] = known.get(name, frozenset()) | keys
                    self._keys = None
        self._unsent.append(checked)

    def send(self, *, each: bool = False) -> None:
        """Hand the bundles not yet sent over in one call (``each``: a call each, for the last
        bundles of a pull, so that the registry reads one while the worker proves the next
        instead of waiting for a whole call)."""
        if not self._unsent:
            return
        if self._keys is None:
            listed = key_list(self._known)
            self._keys = (listed, encode_keys(listed))
        keys, encoded = self._keys
        origin = self._origin
        for group in [[c] for c in self._unsent] if each else [self._unsent]:
            entries = [e for c in group for e in c.entries]
            call: Future[AnswerColumns]
            if self._workers is None:
                call = Future()
                call.set_result(prove_call(entries, encoded, origin))
            else:
                call = self._workers.submit(prove_call, entries, encoded, origin)
            offset = 0
            for c in group:
                c.verified, c.offset, c.keys = call, offset, keys
                offset += len(c.entries)
        self._sent.extend(self._unsent)
        self._unsent.clear()

    def next(self) -> Checked:
        """The oldest bundle handed over (its answers may still be on their way).

        Raises:
            IndexError: none is (a bug of the caller).
        """
        return self._sent.popleft()
