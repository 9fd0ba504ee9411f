"""What the audit knows about *when* the log held what: witness cosignatures and signing times.

Some claims a replayer checks are about time — an allocation's manifest must be committed
before its beacon round is public (DESIGN §4.2) — and an entry's own ``ts`` is its signer's
word.  Two kinds of evidence come from others, and the audit hands both to replayers
(``exam_core.audit.history.AuditHistory``):

- ``CheckpointEvidence``: every checkpoint that verified under the policy, with the time each
  witness states in its cosignature (tlog-cosignature: POSIX seconds).  A witness that cosigned
  a tree of size S at time t saw the first S entries, and only those, at t;
- ``SigningTimes``: the signer and ``ts`` of every entry the ordered pass admitted, in log
  order, so that an entry can be placed among the entries of other actors sequenced around it.
  Kept as two integer arrays (16 bytes an entry), not as parsed entries.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import islice
from operator import le

__all__ = ["CheckpointEvidence", "SigningTimes"]


@dataclass(frozen=True)
class CheckpointEvidence:
    """A checkpoint of the log the audit verified: its size, and witness key name → the POSIX
    time (seconds) that witness's verified cosignature states."""

    size: int
    cosigned_at: Mapping[str, int]


class SigningTimes:
    """The (signer, ``ts``) of each admitted entry by index, and the latest ``ts`` up to each."""

    _NONE = -1

    def __init__(self) -> None:
        self._actor_ids: dict[str, int] = {}
        self._actors: list[str] = []
        self._actor = array("q")
        self._ts = array("q")
        self._latest = array("q")
        """Per index p, the admitted entry in [0, p] with the greatest ``ts`` (first on a tie)."""

    def record(self, index: int, actor: str, ts: int) -> None:
        """Record admitted entry ``index``; indices come in increasing order (gaps: refused).

        Raises:
            RuntimeError: ``index`` is not after every index recorded so far.
        """
        ts_all, latests = self._ts, self._latest
        if index != len(ts_all):
            if index < len(ts_all):
                raise RuntimeError(f"entry {index} recorded after entry {len(ts_all) - 1}")
            gap = index - len(ts_all)  # refused entries: no signer, no time
            self._actor.extend([self._NONE] * gap)
            ts_all.extend([0] * gap)
            latests.extend([latests[-1] if latests else self._NONE] * gap)
        actor_id = self._actor_ids.get(actor)
        if actor_id is None:
            actor_id = self._actor_ids[actor] = len(self._actors)
            self._actors.append(actor)
        latest = latests[-1] if latests else self._NONE
        self._actor.append(actor_id)
        ts_all.append(ts)
        latests.append(index if latest == self._NONE or ts > ts_all[latest] else latest)

    def stamp(self, index: int) -> tuple[str, int] | None:
        """(signer, ``ts``) of entry ``index``; None if it was not admitted (or not yet read)."""
        if not 0 <= index < len(self._ts) or self._actor[index] == self._NONE:
            return None
        return self._actors[self._actor[index]], self._ts[index]

    def latest_before(self, index: int) -> tuple[int, str, int] | None:
        """(index, signer, ``ts``) of the admitted entry before ``index`` with the greatest
        ``ts`` (the earliest such on a tie); None when there is none."""
        last = min(index, len(self._ts)) - 1
        best = self._latest[last] if last >= 0 else self._NONE
        if best == self._NONE:
            return None
        return best, self._actors[self._actor[best]], self._ts[best]

    @property
    def size(self) -> int:
        """How many entries (admitted or refused) have been recorded."""
        return len(self._ts)

    def saved(self) -> tuple[list[str], array[int], array[int], array[int]]:
        """(signers by id, signer id per entry, ``ts`` per entry, latest per entry): what
        ``resumed`` takes back; -1 stands for none."""
        return list(self._actors), self._actor, self._ts, self._latest

    @classmethod
    def resumed(
        cls, actors: list[str], actor: array[int], ts: array[int], latest: array[int]
    ) -> SigningTimes:
        """The times ``saved`` gave, checked to be such times.

        Raises:
            ValueError: the arrays differ in length, an id names no signer, or a latest
                index is not an earlier admitted entry.
        """
        if not len(actor) == len(ts) == len(latest):
            raise ValueError("signing times: the arrays differ in length")
        if len(set(actors)) != len(actors):
            raise ValueError("signing times: a signer is listed twice")
        if actor and not (min(actor) >= cls._NONE and max(actor) < len(actors)):
            raise ValueError("signing times: a signer id names no signer")
        # The latest entry up to each position only moves forward, never past the position,
        # and is an admitted entry (checked at C speed: a state holds one per entry).
        if latest and (
            latest[0] < cls._NONE
            or not all(map(le, latest, islice(latest, 1, None)))
            or not all(map(le, latest, range(len(latest))))
            or (
                actor.count(cls._NONE)  # refused entries are rare: look only when there are
                and any(actor[best] == cls._NONE for best in set(latest) - {cls._NONE})
            )
        ):
            raise ValueError("signing times: a latest entry is not the latest admitted one")
        times = cls()
        times._actors = list(actors)
        times._actor_ids = {name: k for k, name in enumerate(actors)}
        times._actor, times._ts, times._latest = actor, ts, latest
        return times

    def copy(self) -> SigningTimes:
        """An independent copy, to be advanced without changing this one."""
        twin = SigningTimes()
        twin._actors = list(self._actors)
        twin._actor_ids = dict(self._actor_ids)
        twin._actor, twin._ts, twin._latest = (
            array("q", self._actor),
            array("q", self._ts),
            array("q", self._latest),
        )
        return twin
