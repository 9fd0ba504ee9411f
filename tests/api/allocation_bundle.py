"""Audit bundles whose log holds an allocation, drawn on the beacon a test chooses.

``LogBuilder`` (tests.exam_core.audit.bundle_factory) writes the log; the allocation is the
small roster of the allocation tests, committed and drawn by a registered allocator key.  The
log's entries are stamped from ``TS`` on, and its witness cosigns at ``TS // 1000`` s, so a
beacon whose rounds start at ``GENESIS_MS`` is public only after the commitment was witnessed.
"""

from __future__ import annotations

import hashlib

from allocation import DevBeacon, HashChainBeacon, committed_fields, made_fields
from allocation.beacon import BeaconSource
from exam_core.log.note import Ed25519Signer
from tests.allocation import samples
from tests.allocation.samples import PERIOD_MS, publish, small_roster
from tests.exam_core.audit.bundle_factory import TS, LogBuilder

GENESIS_MS = TS + 10_000
ROUND = 5
BEACON_KEY = Ed25519Signer.from_seed("monitor.exam.example/beacon", b"\x31" * 32)
"""The monitoring centre's hash-chain beacon key, which the auditor's policy pins."""


def dev_beacon(seed: bytes = b"demo seed") -> DevBeacon:
    return DevBeacon(
        hashlib.sha256(seed).digest(),
        genesis_ms=GENESIS_MS,
        period_ms=PERIOD_MS,
        clock=lambda: GENESIS_MS + 100 * PERIOD_MS,
    )


def hash_chain_beacon() -> HashChainBeacon:
    """The monitoring centre's beacon, its rounds starting after the log's first entries."""
    return samples.hash_chain_beacon(BEACON_KEY, GENESIS_MS)


def allocation_log(
    beacon: BeaconSource, *, witnesses: int = 1, beacons: list[str] | None = None
) -> LogBuilder:
    """A log that registers an allocator, commits the small roster's manifest for round
    ``ROUND`` of ``beacon`` (checkpoint, cosigned when there are witnesses), then draws it;
    its policy pins ``beacons``."""
    log = LogBuilder(witnesses=witnesses, quorum=min(witnesses, 1), beacons=beacons or [])
    allocator = log.key("a1", "allocator")
    published = publish(small_roster(), cap=400, round_number=ROUND, beacon=beacon)
    log.blob(published.manifest_bytes)
    log.append(
        allocator,
        "allocation.committed",
        **committed_fields(published.manifest_bytes, published.manifest),
    )
    log.checkpoint()
    log.append(
        allocator,
        "allocation.made",
        **made_fields(published.allocation, published.manifest.session),
    )
    log.checkpoint()
    return log
