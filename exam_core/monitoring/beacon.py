"""The monitoring centre's hash-chain beacon (DESIGN §4 step 3): a chain a day, told backwards.

An allocation is drawn from a beacon round that did not exist when its manifest was committed,
so nobody — the allocator least — can steer the draw by choosing when to commit.  The monitoring
centre, which no centre controls, publishes that randomness:

- for each UTC day ``d`` there is one chain of ``rounds = 86_400_000 / period_ms`` values, from
  a secret ``s_d = HMAC-SHA256(beacon secret, "exam-beacon-chain/v1\\0" ‖ u64 d)``:
  ``v_rounds = s_d`` and ``v_{r-1} = H(v_r)``, ``H(x) = SHA-256("exam-hashchain/v1\\0" ‖ x)``;
- the day's **commitment** is a note signed by the beacon key (not the witness's nor the
  mirror's) over the canonical JSON of the chain's anchor ``v_0``, its genesis (the day's first
  millisecond), its period and its length — the ``hashchain`` commitment that
  ``allocation.beacon`` verifies, published before the day starts;
- round ``r`` is revealed at ``genesis + r·period``: ``v_r``, which anyone checks against the
  commitment by hashing it ``r`` times back to the anchor.  Values are revealed backwards along
  the chain, so none can be computed from the ones already public.

Everything follows from the secret, so a restarted or second monitor process serves the same
commitments and values without a database (Ed25519 signatures are deterministic).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from allocation.beacon import BeaconReading, HashChainBeacon
from allocation.errors import BeaconError
from exam_core.log.note import Ed25519Signer

__all__ = ["DAY_MS", "DEFAULT_PERIOD_MS", "BeaconRound", "MonitorBeacon"]

DAY_MS = 86_400_000
DEFAULT_PERIOD_MS = 10_000
"""8,640 rounds a day: an allocation sealed at T−10 min waits at most 10 s for its round."""
MIN_PERIOD_MS = 1_000
SECRET_SIZE = 32
CHAIN_LABEL = b"exam-beacon-chain/v1\x00"
MAX_DAY = (2**53 - 1) // DAY_MS - 1
"""The last day whose every round time is a safe integer of milliseconds."""
CACHED_CHAINS = 4
"""Yesterday, today, tomorrow and one more: the days anybody asks for."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class BeaconRound:
    """Which chain and round is the newest public one at some instant."""

    day: int
    round: int
    time_ms: int


class MonitorBeacon:
    """The beacon of one monitoring centre: its key, its secret and the round period."""

    def __init__(
        self,
        signer: Ed25519Signer,
        secret: bytes,
        *,
        period_ms: int = DEFAULT_PERIOD_MS,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        if len(secret) != SECRET_SIZE:
            raise ValueError(f"the beacon secret is {SECRET_SIZE} bytes")
        if period_ms < MIN_PERIOD_MS or DAY_MS % period_ms:
            raise ValueError(f"the period is at least {MIN_PERIOD_MS} ms and divides a day")
        self._signer = signer
        self._secret = secret
        self.period_ms = period_ms
        self.rounds = DAY_MS // period_ms
        self._clock = clock_ms
        self._chains: OrderedDict[int, HashChainBeacon] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def vkey(self) -> str:
        """The key that signs the commitments; allocations pin it."""
        return self._signer.vkey

    def _chain(self, day: int) -> HashChainBeacon:
        if not 0 <= day <= MAX_DAY:
            raise BeaconError(f"day {day} is outside [0, {MAX_DAY}]")
        with self._lock:
            chain = self._chains.get(day)
            if chain is not None:
                self._chains.move_to_end(day)
                return chain
        seed = hmac.new(self._secret, CHAIN_LABEL + day.to_bytes(8, "big"), hashlib.sha256)
        chain = HashChainBeacon(
            self._signer,
            seed.digest(),
            genesis_ms=day * DAY_MS,
            period_ms=self.period_ms,
            rounds=self.rounds,
            clock=self._clock,
        )
        with self._lock:
            self._chains[day] = chain
            while len(self._chains) > CACHED_CHAINS:
                self._chains.popitem(last=False)
        return chain

    def commitment(self, day: int) -> str:
        """The signed commitment to day ``day``'s chain (public at any time, before the day too).

        Raises:
            BeaconError: ``day`` is out of range.
        """
        return self._chain(day).commitment_text

    def reveal(self, day: int, round_number: int) -> BeaconReading:
        """The value of round ``round_number`` of day ``day``'s chain, once its time has come.

        Raises:
            BeaconError: the day or round is out of range, or the round is not public yet.
        """
        return self._chain(day).reveal(round_number)

    def current(self) -> BeaconRound:
        """The newest public round: round 0 of a day is its anchor, so that is the previous
        day's last round."""
        now = self._clock()
        day, offset = divmod(now, DAY_MS)
        number = offset // self.period_ms
        if number == 0:
            day, number = day - 1, self.rounds
        return BeaconRound(day, number, day * DAY_MS + number * self.period_ms)

    @staticmethod
    def day_of(time_ms: int) -> int:
        """The UTC day whose chain covers ``time_ms``."""
        return time_ms // DAY_MS
