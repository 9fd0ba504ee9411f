"""The allocator's commitment lies ``COMMIT_MARGIN_MS`` before its round when it is signed.

The margin is what a witness needs to cosign a tree holding the commitment a whole second
before the round (the audit's evidence it came first): it must hold at the commitment's ``ts``,
not only when the round was chosen, however long storing the manifest took.  A clock the test
moves and a centre whose blob uploads take as long as the test says stand for a loaded machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from allocation import Roster
from allocation.beacon import DevBeacon
from allocation.errors import BeaconError
from api.day.allocator import COMMIT_MARGIN_MS, COSIGNATURE_RESOLUTION_MS, Allocator
from tests.allocation.samples import small_roster

GENESIS_MS = 1_700_000_000_000
PERIOD_MS = 200


@dataclass
class _Clock:
    now_ms: int = GENESIS_MS + 12_345

    def __call__(self) -> int:
        return self.now_ms


@dataclass
class _Centre:
    """Blob uploads that take ``upload_ms`` each (one after another from ``uploads_ms``)."""

    clock: _Clock
    uploads_ms: list[int]
    blobs: list[bytes] = field(default_factory=list)

    def put_blob(self, data: bytes) -> str:
        self.clock.now_ms += (
            self.uploads_ms.pop(0) if len(self.uploads_ms) > 1 else self.uploads_ms[0]
        )
        self.blobs.append(data)
        return ""


@dataclass
class _Log:
    """The allocator's log: each entry with the ts it would be signed with."""

    client: _Centre
    clock: _Clock
    entries: list[tuple[str, dict[str, object], int]] = field(default_factory=list)

    def append(
        self,
        event_type: str,
        fields: Mapping[str, object],
        timeout: float | None = None,
        *,
        ts: int | None = None,
    ) -> int:
        self.entries.append((event_type, dict(fields), self.clock() if ts is None else ts))
        return len(self.entries) - 1


class _Rows:
    def __init__(self) -> None:
        self._roster = small_roster()

    def examiners(self, session: str) -> tuple[str, ...]:
        return tuple(str(e.id) for e in self._roster.examiners)

    def roster(self, session: str, candidates: Sequence[str], examiners: Sequence[str]) -> Roster:
        return self._roster


def _commit(uploads_ms: list[int]) -> tuple[_Log, DevBeacon, int]:
    clock = _Clock()
    beacon = DevBeacon(bytes(32), genesis_ms=GENESIS_MS, period_ms=PERIOD_MS, clock=clock)
    log = _Log(_Centre(clock, uploads_ms), clock)
    # Allocator takes the concrete RemoteLog and DayReads: _Log has the part of RemoteLog a
    # commit uses, and a commit reads nothing, so the reads are None.
    allocator = Allocator(
        log,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        _Rows(),
        beacon,
        b"\x01" * 32,
        clock_ms=clock,
    )
    roster = small_roster()
    _, round_number = allocator.commit(roster.session, [str(c.id) for c in roster.candidates])
    return log, beacon, round_number


def test_the_margin_leaves_a_witness_a_whole_second() -> None:
    assert COMMIT_MARGIN_MS > COSIGNATURE_RESOLUTION_MS


@pytest.mark.parametrize("upload_ms", [5, 150, 300, 2_000])
def test_the_commitment_is_signed_at_least_the_margin_before_its_round(upload_ms: int) -> None:
    log, beacon, round_number = _commit([upload_ms])
    [(event_type, fields, ts)] = log.entries
    assert event_type == "allocation.committed"
    assert fields["round"] == round_number
    assert beacon.commitment.round_time_ms(round_number) - ts >= COMMIT_MARGIN_MS
    # the blob committed to is the last one stored, aimed at that round
    assert fields["manifest_len"] == len(log.client.blobs[-1])


def test_a_slow_upload_is_aimed_again_at_a_later_round() -> None:
    # the first upload eats the margin; the next, as slow, fits the allowance it taught
    log, beacon, round_number = _commit([COMMIT_MARGIN_MS + PERIOD_MS, COMMIT_MARGIN_MS])
    assert len(log.client.blobs) == 2
    [(_, _, ts)] = log.entries
    assert beacon.commitment.round_time_ms(round_number) - ts >= COMMIT_MARGIN_MS


def test_uploads_ever_slower_stop_the_commitment_with_a_clear_error() -> None:
    with pytest.raises(BeaconError, match="too long to commit"):
        _commit([1_000, 3_000, 9_000, 27_000, 81_000])
