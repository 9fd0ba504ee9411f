"""The mirror's hand-over of entries to its signature workers, and what those workers run.

Step 3 of a pull (``exam_core.monitoring.mirror``) proves each entry held to its leaf as the
audit's workers prove it — strict parse, log, schema, signature against every key registered
so far, order-free (``exam_core.audit.signatures.ProvingKeys``) — in worker processes, while
the pull's own process admits the entries proven before in log order.  This module is that
hand-over:

- what a worker runs on a call's entries is the audit's ``prove_entries``
  (``exam_core.audit.answer_columns``), answered as columns of integers;
- ``ProofQueue`` groups the bundles checked against their leaves into calls, keeps the keys
  each call was numbered with, and hands the bundles back in log order with their answers.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from exam_core.audit.answer_columns import AnswerColumns, KeyList, key_list, prove_entries
from exam_core.audit.signatures import KEY_REGISTERED_TEXT, registered_keys

__all__ = ["Checked", "ProofQueue"]


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
                known[name] = known.get(name, frozenset()) | keys
        self._unsent.append(checked)

    def send(self, *, each: bool = False) -> None:
        """Hand the bundles not yet sent over in one call (``each``: a call each, for the last
        bundles of a pull, so that the registry reads one while the worker proves the next
        instead of waiting for a whole call)."""
        if not self._unsent:
            return
        known, origin = self._known, self._origin
        keys = key_list(known)
        for group in [[c] for c in self._unsent] if each else [self._unsent]:
            entries = [e for c in group for e in c.entries]
            call: Future[AnswerColumns]
            if self._workers is None:
                call = Future()
                call.set_result(prove_entries(entries, known, origin))
            else:
                call = self._workers.submit(prove_entries, entries, dict(known), origin)
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
