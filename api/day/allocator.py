"""The allocator: seals each session's roster, commits the allocation, draws it, repairs it.

In order, for one session (docs/allocation.md, docs/exam_day.md):

1. ``seal``: inside the roster window, ``session.sealed`` names exactly the candidates the log
   shows checked in (read from the centre: ``GET /day/sessions/{s}``) and the crews on duty;
2. ``commit``: the manifest is built over that roster with every recorded tie (the centre's
   rows, ``RosterBook``), uploaded as a blob, and committed (``allocation.committed``) for a
   beacon round at least ``lead_ms`` after the commitment's ``ts`` (``COMMIT_MARGIN_MS``: time
   for it to be sequenced and reach the centre's witnesses, whose cosignatures, in whole
   seconds, show it came first); an upload slow enough to eat into that margin aims the
   manifest again at a later round rather than sign it late;
3. ``make``: once that round is out, the VRF is proven over the manifest and the beacon value
   and the draw is published (``allocation.made``);
4. ``repair``: a no-show (or an examiner's withdrawal) is repaired by the rule of
   ``allocation.repair``, seeded by the draw, as ``allocation.repaired`` k+1.

The beacon is any ``BeaconSource``: the monitoring centre's hash chain over HTTP
(``api.monitor.beacon_client.HttpBeacon``) on a real day, a development beacon in tests.  Its
commitment is read with the beacon keys the centre's policy pins, as the audit will read it, so
the allocator never commits to a beacon the audit would refuse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from allocation import (
    BeaconTarget,
    LateChange,
    Manifest,
    Roster,
    aim_at_next_round,
    committed_fields,
    draw_seed,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    repair_assignment,
    repaired_fields,
    vrf_public_key,
)
from allocation.beacon import BeaconReading, BeaconSource, parse_commitment
from allocation.draw import Allocation
from allocation.errors import BeaconError, InfeasibleError
from api.client import RemoteLog
from api.client.day_reads import DayReads
from exam_core.log.note import NoteVerifier

SCALE = 10_000
COSIGNATURE_RESOLUTION_MS = 1_000
"""A witness's cosignature time is whole seconds: a tree cosigned at t proves its entries came
before t + 1 s only (``allocation.commit_timing``)."""
SEQUENCING_MS = 250
"""The centre's batch window by default (``exam_core.centre.sequencer.DEFAULT_MAX_AGE_MS``):
how long a commitment may wait before the checkpoint that includes it is signed."""
WITNESS_TRIP_MS = 250
"""Storing that checkpoint, and the witness's round trip to cosign it, on a loaded machine."""
COMMIT_MARGIN_MS = COSIGNATURE_RESOLUTION_MS + SEQUENCING_MS + WITNESS_TRIP_MS
"""The least time between the commitment's ``ts`` and its round's: long enough for a witness to
cosign a tree that includes the commitment a whole second before the round, the audit's
evidence that it was committed first (DESIGN §4, docs/allocation.md §7).  It is checked when the
commitment is signed, not only when its round is chosen (``Allocator.commit``).  Clocks apart
(the allocator's and the beacon's) add to what it must cover: a centre whose allocator's clock
may lag passes a larger ``lead_ms``."""
MAX_AIMS = 4
"""How many times a commitment is aimed and stored before an ever slower upload stops it."""
REVEAL_PATIENCE_MS = 10_000
"""How long past its time a round may stay unpublished (clocks apart, a slow beacon) before
the draw gives up."""
REVEAL_POLL_S = 0.1


class RosterSource(Protocol):
    """Where the allocator finds the crews and the ties of a session (``RosterBook``)."""

    def examiners(self, session: str) -> tuple[str, ...]: ...

    def roster(
        self, session: str, candidates: Sequence[str], examiners: Sequence[str]
    ) -> Roster: ...


@dataclass
class _Drawn:
    manifest: Manifest
    manifest_bytes: bytes
    allocation: Allocation | None = None
    assignment: dict[str, str] = field(default_factory=dict)
    repairs: int = 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Allocator:
    """The centre's allocator: its log key, its VRF secret, a beacon and the roster rows."""

    def __init__(
        self,
        log: RemoteLog,
        reads: DayReads,
        rows: RosterSource,
        beacon: BeaconSource,
        vrf_secret: bytes,
        *,
        beacon_keys: Sequence[NoteVerifier] = (),
        lead_ms: int = COMMIT_MARGIN_MS,
        clock_ms: Callable[[], int] = _now_ms,
        cap_share: float = 0.5,
    ) -> None:
        """``beacon_keys`` are the beacon keys the centre's policy pins (a hash chain's
        commitment must be signed by one); ``lead_ms`` how far past the commitment's ``ts`` its
        round must lie (at least ``COMMIT_MARGIN_MS``).

        Raises:
            BeaconError: the beacon's commitment is malformed or not signed by a pinned key.
        """
        self.log = log
        self.reads = reads
        self.rows = rows
        self.beacon = beacon
        self.commitment = parse_commitment(beacon.kind, beacon.commitment_text, beacon_keys)
        self.lead_ms = max(COMMIT_MARGIN_MS, lead_ms)
        self.vrf_secret = vrf_secret
        self.cap_share = cap_share
        self._clock = clock_ms
        self._drawn: dict[str, _Drawn] = {}
        self._lock = threading.Lock()

    def seal(self, session: str) -> tuple[int, tuple[str, ...]]:
        """Seal the roster as the log's check-ins show it, waiting for the window to open.

        Raises:
            RefusedError: the centre refused the seal (window missed, roster mismatch).
            UnavailableError: the centre stayed unreachable.
        """
        view = self.reads.session(session)
        wait_ms = int(view["seal_from_ms"]) - self._clock()
        if wait_ms > 0:
            time.sleep(wait_ms / 1000)
        view = self.reads.session(session)
        candidates = tuple(sorted(str(c) for c in view["checked_in"]))
        fields = {
            "session": session,
            "candidates": list(candidates),
            "examiners": list(self.rows.examiners(session)),
        }
        return self.log.append("session.sealed", fields), candidates

    def commit(self, session: str, candidates: Sequence[str]) -> tuple[int, int]:
        """Build and commit the manifest over the sealed roster; (entry index, beacon round).

        Raises:
            InfeasibleError: no assignment exists for the roster.
            BeaconError: every upload of the manifest took too long to meet the margin.
            RefusedError, UnavailableError: as ``seal``.
        """
        examiners = self.rows.examiners(session)
        roster = self.rows.roster(session, candidates, examiners)
        target = BeaconTarget(self.beacon.kind, self.beacon.commitment_text, 1)
        cap = max(1, min(SCALE, int(SCALE * self.cap_share)))
        try:
            manifest = prepare_manifest(
                roster, scale=SCALE, cap=cap, beacon=target, vrf_key=vrf_public_key(self.vrf_secret)
            )
        except InfeasibleError:
            # A roster whose conflicts leave some candidate fewer examiners than the cap allows.
            manifest = prepare_manifest(
                roster,
                scale=SCALE,
                cap=SCALE,
                beacon=target,
                vrf_key=vrf_public_key(self.vrf_secret),
            )
        manifest, data, ts = self._aim_and_store(manifest)
        index = self.log.append("allocation.committed", committed_fields(data, manifest), ts=ts)
        with self._lock:
            self._drawn[session] = _Drawn(manifest, data)
        return index, manifest.beacon.round

    def _aim_and_store(self, prepared: Manifest) -> tuple[Manifest, bytes, int]:
        """``prepared`` aimed at a round and stored; its bytes and the ``ts`` its commitment
        carries, which lies at least ``lead_ms`` before the round.

        The round is in the manifest, so the manifest is aimed before it is uploaded; an upload
        that took so long that the margin is no longer met (a loaded machine, a busy centre)
        is not signed anyway: the manifest is aimed at a later round, allowing twice as long as
        that upload took, and stored again.

        Raises:
            BeaconError: ``MAX_AIMS`` uploads in a row each ate the margin.
            UnavailableError: the centre stayed unreachable.
        """
        allowance = 0
        for _ in range(MAX_AIMS):
            aimed_at = self._clock()
            manifest = aim_at_next_round(
                prepared, self.commitment, aimed_at + self.lead_ms + allowance
            )
            data = encode_manifest(manifest)
            self.log.client.put_blob(data)
            ts = self._clock()
            if self.commitment.round_time_ms(manifest.beacon.round) - ts >= self.lead_ms:
                return manifest, data, ts
            allowance = 2 * (ts - aimed_at)
        raise BeaconError(
            f"storing the manifest of {prepared.session} took {ts - aimed_at} ms, too long to "
            f"commit it {self.lead_ms} ms before a round, {MAX_AIMS} times"
        )

    def make(self, session: str) -> int:
        """Wait for the committed round, draw and publish; the ``allocation.made`` index.

        Raises:
            BeaconError: the round did not come out, or its value does not verify.
            RefusedError, UnavailableError: as ``seal``.
        """
        drawn = self._drawn[session]
        allocation = make_allocation(
            drawn.manifest_bytes,
            drawn.manifest,
            self.beacon_value(drawn.manifest.beacon.round),
            self.vrf_secret,
        )
        index = self.log.append("allocation.made", made_fields(allocation, session))
        with self._lock:
            drawn.allocation = allocation
            drawn.assignment = {str(c): str(e) for c, e in allocation.assignment}
        return index

    def beacon_value(self, target: int) -> BeaconReading:
        """The value of round ``target``, checked against the commitment, once it is out.

        Raises:
            BeaconError: the round is still not public ``REVEAL_PATIENCE_MS`` after its time,
                or its value does not verify against the commitment.
        """
        due = self.commitment.round_time_ms(target)
        wait_ms = due - self._clock()
        if wait_ms > 0:
            time.sleep(wait_ms / 1000)
        while True:
            try:
                reading = self.beacon.reveal(target)
            except BeaconError:
                if self._clock() > due + REVEAL_PATIENCE_MS:
                    raise
                time.sleep(REVEAL_POLL_S)
                continue
            # Whatever the source says, the value is the committed chain's or the draw stops.
            self.commitment.verify(reading)
            return reading

    def allocate(self, session: str) -> tuple[str, ...]:
        """Seal, commit and make: the sealed roster."""
        _, candidates = self.seal(session)
        self.commit(session, candidates)
        self.make(session)
        return candidates

    def repair(self, session: str, change: LateChange, reason: str = "late change") -> int:
        """Repair the session's assignment for one late change; the entry's index.

        Raises:
            RepairError: the change cannot be applied (not assigned, nobody left with room).
            RuntimeError: the session was not allocated by this allocator (a caller bug).
            RefusedError, UnavailableError: as ``seal``.
        """
        with self._lock:
            drawn = self._drawn[session]
            if drawn.allocation is None:
                raise RuntimeError(f"session {session} has no allocation to repair")
            number = drawn.repairs + 1
            repaired = repair_assignment(
                drawn.manifest,
                tuple(drawn.assignment.items()),  # type: ignore[arg-type]
                (change,),
                draw_seed(drawn.allocation.beta),
                number,
            )
            index = self.log.append(
                "allocation.repaired",
                repaired_fields(
                    session=session,
                    manifest_hash=drawn.allocation.manifest_sha256,
                    number=number,
                    changes=(change,),
                    reason=reason,
                    assignment=repaired,
                ),
            )
            drawn.repairs = number
            drawn.assignment = {str(c): str(e) for c, e in repaired}
            return index
