"""Beacons: the hash chain against its signed commitment, the dev beacon, hostile readings."""

from __future__ import annotations

import hashlib

import pytest

from allocation import (
    BeaconError,
    BeaconReading,
    DevBeacon,
    HashChainBeacon,
    first_round_after,
    parse_commitment,
)
from exam_core.log.note import Ed25519Signer

GENESIS = 1_800_000_000_000
PERIOD = 60_000


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _chain(clock: Clock, rounds: int = 50) -> tuple[HashChainBeacon, Ed25519Signer]:
    signer = Ed25519Signer.from_seed("monitor.example/beacon", b"\x07" * 32)
    beacon = HashChainBeacon(
        signer, b"\x42" * 32, genesis_ms=GENESIS, period_ms=PERIOD, rounds=rounds, clock=clock
    )
    return beacon, signer


def test_hash_chain_round_verifies_against_the_signed_commitment() -> None:
    clock = Clock(GENESIS + 10 * PERIOD)
    beacon, signer = _chain(clock)
    commitment = parse_commitment("hashchain", beacon.commitment_text, [signer.verifier])
    assert commitment.insecure is False
    for r in (1, 7, 10):
        commitment.verify(beacon.reveal(r))
    assert commitment.round_time_ms(10) == GENESIS + 10 * PERIOD


def test_hash_chain_refuses_future_rounds_and_wrong_values() -> None:
    clock = Clock(GENESIS + 10 * PERIOD - 1)
    beacon, signer = _chain(clock)
    with pytest.raises(BeaconError, match="round 10 is not public yet"):
        beacon.reveal(10)
    commitment = parse_commitment("hashchain", beacon.commitment_text, [signer.verifier])
    nine = beacon.reveal(9)
    with pytest.raises(BeaconError, match="does not hash to the chain's committed anchor"):
        commitment.verify(BeaconReading(10, nine.value))  # a value one step too far back
    with pytest.raises(BeaconError, match="does not hash"):
        commitment.verify(BeaconReading(9, bytes(32)))
    with pytest.raises(BeaconError, match="outside"):
        commitment.verify(BeaconReading(51, nine.value))
    with pytest.raises(BeaconError, match="32 bytes"):
        commitment.verify(BeaconReading(9, nine.value[:31]))


def test_earlier_values_follow_from_later_ones_but_not_the_reverse() -> None:
    """Why the chain is revealed backwards: v_r gives v_(r-1), never v_(r+1)."""
    clock = Clock(GENESIS + 50 * PERIOD)
    beacon, signer = _chain(clock)
    commitment = parse_commitment("hashchain", beacon.commitment_text, [signer.verifier])
    later = beacon.reveal(20)
    step = hashlib.sha256(b"exam-hashchain/v1\x00" + later.value).digest()
    assert step == beacon.reveal(19).value
    commitment.verify(BeaconReading(19, step))


def test_commitment_must_be_signed_by_a_trusted_beacon_key() -> None:
    beacon, _ = _chain(Clock(GENESIS))
    stranger = Ed25519Signer.from_seed("monitor.example/beacon", b"\x08" * 32)
    with pytest.raises(BeaconError, match="no trusted beacon key"):
        parse_commitment("hashchain", beacon.commitment_text)
    with pytest.raises(BeaconError, match="not signed by a trusted key"):
        parse_commitment("hashchain", beacon.commitment_text, [stranger.verifier])
    forged = beacon.commitment_text.replace('"rounds":50', '"rounds":51')
    _, signer = _chain(Clock(GENESIS))
    with pytest.raises(BeaconError, match="not signed by a trusted key"):
        parse_commitment("hashchain", forged, [signer.verifier])


def test_dev_beacon_is_deterministic_and_flagged_insecure() -> None:
    clock = Clock(GENESIS + 3 * PERIOD)
    beacon = DevBeacon(b"\x01" * 32, genesis_ms=GENESIS, period_ms=PERIOD, clock=clock)
    commitment = parse_commitment("dev", beacon.commitment_text)
    assert commitment.insecure is True
    reading = beacon.reveal(3)
    commitment.verify(reading)
    with pytest.raises(BeaconError, match="not the dev beacon's"):
        commitment.verify(BeaconReading(3, bytes(32)))
    with pytest.raises(BeaconError, match="not public yet"):
        beacon.reveal(4)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("drand", "{}", "unknown beacon kind"),
        ("dev", "not json", "not canonical JSON"),
        ("dev", '{"kind":"dev"}', "exactly kind, seed"),
        (
            "dev",
            '{"genesis_ms":0,"kind":"dev","period_ms":0,"seed":"' + "00" * 32 + '"}',
            "period_ms",
        ),
        (
            "dev",
            '{"genesis_ms":-1,"kind":"dev","period_ms":5,"seed":"' + "00" * 32 + '"}',
            "genesis_ms",
        ),
        ("dev", '{"genesis_ms":0,"kind":"dev","period_ms":5,"seed":"00"}', "seed must be 32 bytes"),
        (
            "dev",
            '{"genesis_ms":0,"kind":"dev","period_ms":5,"seed":"' + "AA" * 32 + '"}',
            "lowercase",
        ),
    ],
)
def test_malformed_commitments_are_refused(kind: str, text: str, message: str) -> None:
    with pytest.raises(BeaconError, match=message):
        parse_commitment(kind, text)


def test_first_round_after_is_strictly_in_the_future() -> None:
    beacon = DevBeacon(b"\x01" * 32, genesis_ms=GENESIS, period_ms=PERIOD)
    for now in (GENESIS - 5, GENESIS, GENESIS + 1, GENESIS + PERIOD, GENESIS + 7 * PERIOD + 3):
        r = first_round_after(beacon.commitment, now)
        assert beacon.commitment.round_time_ms(r) > now
        assert r == 1 or beacon.commitment.round_time_ms(r - 1) <= now
