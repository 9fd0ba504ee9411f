"""The moments at which the in-car camera photographs the driver, drawn from the exam's start.

Nobody may know before the exam starts when the driver will be photographed (a proxy who knows
the moments can hide his face at them), and the auditor must be able to recompute them.  So the
moments are drawn from the allocation's portable seeded stream (``allocation.stream``) with the
seed bound to the exam's own start entry, which does not exist until the examiner starts it:

    seed = SHA-256("exam-snapshots/v1\\0" ‖ SHA-256(exact bytes of the exam.started entry)),
    label "snapshots";
    the first five moments: five distinct values of below(FIRST_WINDOW_MS), ascending
    (a value drawn twice is drawn again);
    then one more after each, at the previous moment + MIN_GAP_MS + below(GAP_SPREAD_MS),
    for as long as the exam runs.

Moments are milliseconds after the start entry's ``ts``; an exam that ends (stopped, void or
finished) before a moment is not photographed at it.  Research/domain.md §3.2: "at least 5
random photos" per subject.
"""

from __future__ import annotations

import hashlib

from allocation.stream import SeedStream

SNAPSHOT_LABEL = "snapshots"
FIRST_SNAPSHOTS = 5
FIRST_WINDOW_MS = 240_000
"""The first five photos fall within the first four minutes of every exam."""
MIN_GAP_MS = 60_000
GAP_SPREAD_MS = 120_000
"""After the first five, one photo every one to three minutes."""
MAX_MOMENTS = 64
_DOMAIN = b"exam-snapshots/v1\x00"


def snapshot_seed(start_entry: bytes) -> bytes:
    return hashlib.sha256(_DOMAIN + hashlib.sha256(start_entry).digest()).digest()


def snapshot_moments(start_entry: bytes, duration_ms: int) -> list[int]:
    """The drawn moments (ms after the start) that fall before ``duration_ms``, ascending."""
    stream = SeedStream(snapshot_seed(start_entry), SNAPSHOT_LABEL)
    first: set[int] = set()
    while len(first) < FIRST_SNAPSHOTS:
        first.add(stream.below(FIRST_WINDOW_MS))
    moments = sorted(first)
    while len(moments) < MAX_MOMENTS:
        moments.append(moments[-1] + MIN_GAP_MS + stream.below(GAP_SPREAD_MS))
        if moments[-1] >= duration_ms:
            break
    return [m for m in moments if m < duration_ms]
