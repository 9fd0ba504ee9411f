"""The allocator's beacon: any ``BeaconSource``, its commitment read with the beacon keys the
centre's policy pins, each round's value waited for and checked against the commitment.

These tests exercise the allocator's beacon alone, so its log, reads and rows are not given:
the constructor reads the commitment before anything else and ``beacon_value`` uses nothing
but the beacon.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from allocation.beacon import BeaconReading, BeaconSource, DevBeacon, HashChainBeacon
from allocation.errors import BeaconError
from api.day.allocator import Allocator
from exam_core.log.note import Ed25519Signer, NoteVerifier

BEACON = Ed25519Signer.from_seed("monitor.example/beacon", bytes(32))
OTHER = Ed25519Signer.from_seed("monitor.example/beacon", bytes([7]) * 32)
PERIOD_MS = 100


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _chain(lag_ms: int = 0) -> HashChainBeacon:
    """A hash-chain beacon whose rounds start now, its clock ``lag_ms`` behind ours."""
    return HashChainBeacon(
        BEACON,
        bytes(range(32)),
        genesis_ms=_now_ms(),
        period_ms=PERIOD_MS,
        rounds=10_000,
        clock=lambda: _now_ms() - lag_ms,
    )


def _allocator(beacon: BeaconSource, keys: Sequence[NoteVerifier]) -> Allocator:
    # Only the beacon is read: the log, the reads and the rows (concrete HTTP clients in the
    # signature) are never touched, so they are None on purpose.
    return Allocator(None, None, None, beacon, b"\x01" * 32, beacon_keys=keys)  # type: ignore[arg-type]


def test_a_hash_chain_is_read_only_with_a_beacon_key_the_policy_pins() -> None:
    chain = _chain()
    with pytest.raises(BeaconError, match="no trusted beacon key"):
        _allocator(chain, [])
    with pytest.raises(BeaconError, match="not signed by a trusted key"):
        _allocator(chain, [OTHER.verifier])
    allocator = _allocator(chain, [BEACON.verifier])
    assert allocator.commitment.kind == "hashchain"
    assert not allocator.commitment.insecure


def test_a_development_beacon_needs_no_key_and_is_insecure() -> None:
    dev = DevBeacon(bytes(32), genesis_ms=_now_ms(), period_ms=PERIOD_MS)
    assert _allocator(dev, []).commitment.insecure


def test_a_round_its_source_publishes_late_is_waited_for() -> None:
    """The beacon's clock 300 ms behind the allocator's: the round is refused as not public
    yet, then given, and the allocator has waited for it."""
    allocator = _allocator(_chain(lag_ms=300), [BEACON.verifier])
    target = 3
    reading = allocator.beacon_value(target)
    assert reading.round == target
    assert _now_ms() >= allocator.commitment.round_time_ms(target) + 300
    allocator.commitment.verify(reading)


class _Lying:
    """A beacon source that serves the committed chain's commitment and a value of its own."""

    kind = "hashchain"

    def __init__(self, chain: HashChainBeacon) -> None:
        self.commitment_text = chain.commitment_text

    def reveal(self, round_number: int) -> BeaconReading:
        return BeaconReading(round_number, bytes(32))


def test_a_value_off_the_committed_chain_stops_the_draw() -> None:
    allocator = _allocator(_Lying(_chain()), [BEACON.verifier])
    with pytest.raises(BeaconError, match="does not hash"):
        allocator.beacon_value(1)
