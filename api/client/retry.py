"""When to try a request again, and how long to wait first (exponential backoff with jitter).

A request is retried only when trying again cannot do harm: reads, blob uploads (a blob is named
by its hash) and entry submissions (the centre answers a resubmitted entry with the index it
already has) — and only when the failure is the link's or the server's (no connection, a
timeout, 502/503/504), never when the centre refused the request.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all (None: until it works), waiting ``base_s``·2ⁿ up to ``max_s``,
    each wait drawn uniformly from its upper half so that many clients do not retry in step."""

    attempts: int | None = 6
    base_s: float = 0.1
    max_s: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    uniform: Callable[[float, float], float] = field(default=random.uniform)

    def delays(self) -> Iterator[float]:
        """The waits before the 2nd, 3rd, … attempt."""
        n = 0
        while self.attempts is None or n < self.attempts - 1:
            ceiling = min(self.max_s, self.base_s * (2**n))
            yield self.uniform(ceiling / 2, ceiling)
            n += 1


FOREVER = RetryPolicy(attempts=None)
"""For senders that must not lose anything, such as an in-car unit's upload queue."""
