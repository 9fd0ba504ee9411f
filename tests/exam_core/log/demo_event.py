"""The ``demo.event`` of one demo actor: the event the entry parsers' tests start from."""

from __future__ import annotations

from typing import Any

from exam_core.log.note import Ed25519Signer

ORIGIN = "exam.example/c/370100-01"
ACTOR = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", bytes(range(32)))


def demo_event(**extra: Any) -> dict[str, Any]:
    """A valid ``demo.event`` of ``ACTOR``, its first, with ``extra`` fields added or changed."""
    return {
        "v": 1,
        "log": ORIGIN,
        "type": "demo.event",
        "ts": 1_790_000_000_000,
        "actor": ACTOR.name,
        "seq": 1,
        "n": 7,
    } | extra
