"""The monitor's hash-chain beacon over HTTP, and allocation's client of it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest

from allocation.beacon import HashChainCommitment, first_round_after, parse_commitment
from allocation.errors import BeaconError
from api.monitor.beacon_client import HttpBeacon
from exam_core.log.note import Ed25519Signer, ed25519_verifier_from_vkey
from exam_core.monitoring.beacon import DAY_MS
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.conftest import SecondsClock


def test_a_round_is_revealed_when_its_time_comes_and_verifies(
    served: str, monitor: Monitor, clock: SecondsClock
) -> None:
    day = clock.now * 1000 // DAY_MS
    period = monitor.beacon.period_ms
    with HttpBeacon(served, day, [ed25519_verifier_from_vkey(monitor.beacon.vkey)]) as beacon:
        commitment = beacon.commitment
        assert isinstance(commitment, HashChainCommitment)
        assert (commitment.genesis_ms, commitment.period_ms) == (day * DAY_MS, period)
        assert commitment.rounds == DAY_MS // period
        assert commitment.name == monitor.beacon.name
        target = first_round_after(commitment, clock.now * 1000)
        with pytest.raises(BeaconError, match="404"):
            beacon.reveal(target)  # not public yet
        clock.now = commitment.round_time_ms(target) // 1000 + 1
        reading = beacon.reveal(target)
        earlier = beacon.reveal(target - 1)
    commitment.verify(reading)
    commitment.verify(earlier)
    # Revealed backwards along the chain: the later value hashes to the earlier one.
    assert hashlib.sha256(b"exam-hashchain/v1\x00" + reading.value).digest() == earlier.value
    info = httpx.get(served + "/beacon").json()
    assert (info["current_day"], info["current_round"]) == (day, target)
    assert info["vkey"] == monitor.beacon.vkey


def test_the_commitment_is_the_same_after_a_restart(
    served: str, monitor: Monitor, open_again: Callable[[], Monitor], clock: SecondsClock
) -> None:
    day = clock.now * 1000 // DAY_MS + 1  # tomorrow's: published before its day
    first = httpx.get(f"{served}/beacon/days/{day}/commitment").text
    assert open_again().beacon.commitment(day) == first
    assert monitor.beacon.commitment(day + 1) != first


def test_a_commitment_of_an_untrusted_key_is_refused(
    served: str, monitor: Monitor, clock: SecondsClock
) -> None:
    day = clock.now * 1000 // DAY_MS
    other = Ed25519Signer.from_seed(monitor.beacon.name, bytes(32)).verifier
    with pytest.raises(BeaconError, match="trusted"):
        HttpBeacon(served, day, [other])
    text = httpx.get(f"{served}/beacon/days/{day}/commitment").text
    genuine = ed25519_verifier_from_vkey(monitor.beacon.vkey)
    assert isinstance(parse_commitment("hashchain", text, [genuine]), HashChainCommitment)


def test_a_value_of_another_day_does_not_verify(
    served: str, monitor: Monitor, clock: SecondsClock
) -> None:
    day = clock.now * 1000 // DAY_MS
    trusted = [ed25519_verifier_from_vkey(monitor.beacon.vkey)]
    with HttpBeacon(served, day, trusted) as today, HttpBeacon(served, day - 1, trusted) as before:
        reading = before.reveal(5)
        with pytest.raises(BeaconError, match="anchor"):
            today.commitment.verify(reading)


def test_an_unreachable_monitor_is_a_beacon_error() -> None:
    with pytest.raises(BeaconError, match="ConnectError"):
        HttpBeacon("http://127.0.0.1:9", 1, [])


@pytest.mark.parametrize("url", ["http://a..b", f"http://{'a' * 64}.example", "http://ü..b"])
def test_a_beacon_url_whose_host_is_no_name_is_a_beacon_error(url: str) -> None:
    with pytest.raises(BeaconError, match=r"InvalidURL|UnicodeError"):
        HttpBeacon(url, 1, [])
