"""Was a manifest committed before its beacon round became public?  Evidence, not the word of
the allocator (DESIGN §4.2–4.3).

An allocation cannot be chosen only if its manifest was fixed before anyone could know the
beacon value it is drawn with.  The ``allocation.committed`` entry's own ``ts`` is the
allocator's word, and ingest accepts any ``ts`` within its clock-skew bound (±5 minutes by
default): an allocator who signs after the round, ``ts`` set back a few minutes, passes a check
of ``ts`` alone.  So the audit rests "committed before the round" on what the allocator does
not control, strongest first:

1. **witnesses** (tlog-cosignature): a witness that cosigned at time t a tree that includes the
   commitment saw it at t; one that cosigned at t a tree that does not yet include it shows it
   was sequenced after t.  Cosignature times are whole seconds, so "before" needs t + 1 s to be
   no later than the round.
2. **other actors' entries, sequenced around it**: ingest admits an entry only while its ``ts``
   is within the skew bound of the centre's clock, and sequences in order.  So an entry of
   another actor sequenced *after* the commitment and signed more than the bound before the
   round shows the commitment was sequenced before the round; any entry sequenced *before* it
   and signed more than the bound after the round shows it was sequenced after.

Anything shown after the round is an error (``committed_after_round``, naming the evidence);
nothing either way is a warning (``commitment_unproven``): a history only the allocator's
clock speaks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from exam_core.audit.history import AuditHistory
from exam_core.findings import WARNING, Finding

__all__ = ["Commitment", "judge_commitment"]


@dataclass(frozen=True)
class Commitment:
    """An ``allocation.committed`` entry: where, by whom, and when its round became public."""

    index: int
    allocator: str
    round: int
    public_at_ms: int


def _shown_after(c: Commitment, history: AuditHistory, max_skew_ms: int) -> str | None:
    """Evidence that ``c`` was sequenced after its round became public, or None."""
    for cp in history.checkpoints:
        if cp.size > c.index:
            continue
        for witness, seconds in sorted(cp.cosigned_at.items()):
            if seconds * 1000 >= c.public_at_ms:
                return (
                    f"witness {witness} cosigned at {seconds} s a tree of {cp.size} entries, "
                    "which does not include it yet"
                )
    latest = history.latest_signed_before(c.index)
    if latest is not None and latest[2] - max_skew_ms >= c.public_at_ms:
        at, actor, ts = latest
        return (
            f"entry {at}, sequenced before it, was signed by {actor} at {ts} ms, more than the "
            f"{max_skew_ms} ms clock-skew bound after the round"
        )
    return None


def _shown_before(c: Commitment, history: AuditHistory, stop: int, max_skew_ms: int) -> bool:
    """Whether a witness, or an entry of another actor sequenced after ``c`` and before
    ``stop``, shows ``c`` was sequenced before its round became public."""
    for cp in history.checkpoints:
        if cp.size > c.index and any(
            (seconds + 1) * 1000 <= c.public_at_ms for seconds in cp.cosigned_at.values()
        ):
            return True
    for k in range(c.index + 1, stop):
        stamp = history.stamp(k)
        if stamp is None:
            continue
        actor, ts = stamp
        if actor != c.allocator and ts + max_skew_ms < c.public_at_ms:
            return True
        if ts - max_skew_ms >= c.public_at_ms:
            return False  # sequenced after the round: so is everything after it
    return False


def judge_commitment(
    c: Commitment, history: AuditHistory, *, stop: int, max_skew_ms: int
) -> Finding | None:
    """What the evidence says about ``c``, judged once the log is read up to ``stop`` (its
    draw): a ``committed_after_round`` error naming the evidence, a ``commitment_unproven``
    warning, or None when it is shown to precede the round."""
    after = _shown_after(c, history, max_skew_ms)
    if after is not None:
        return Finding(
            c.index,
            "committed_after_round",
            f"committed after round {c.round} became public at {c.public_at_ms} ms: {after}",
        )
    if _shown_before(c, history, stop, max_skew_ms):
        return None
    return Finding(
        c.index,
        "commitment_unproven",
        f"nothing the allocator does not control shows it was committed before round "
        f"{c.round} became public at {c.public_at_ms} ms: no witness cosigned a tree including "
        f"it before then, and no entry of another actor sequenced after it was signed more "
        f"than the {max_skew_ms} ms clock-skew bound before then; only its own ts says so",
        WARNING,
    )
