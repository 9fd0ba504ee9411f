"""The audit of allocation entries: ``AllocationReplayer`` (DESIGN §3.5 step 4).

For each allocation entry of a bundle the replayer recomputes what the entry claims and reports
every difference as a ``Finding`` with a stable code:

- ``allocation.committed``: the manifest blob exists, has the committed hash and length, parses,
  and agrees with the entry (session, round, beacon kind, VRF key); its own ``ts`` is before
  the target round became public (``committed_after_round``); a session committed again
  with the same manifest but for a later round is an abort (``recommitted``, a warning the
  monitoring centre counts); any other re-commit is ``recommitted_changed``; and the same roster
  (the same candidates and examiners) committed within a day under another session name is
  ``roster_recommitted``: the one way around the re-commit rule is a new name.
- ``allocation.made``: a matching commitment precedes it (``missing_commitment``) and no earlier
  draw exists for that commitment (``duplicate_draw``); then the shared pure verifier
  (``check_parsed_allocation``, the body of ``check_allocation``) recomputes the beacon, the VRF
  proof and the assignment.  The commitment it rests on is judged here, with the log read up
  to the draw, on evidence its allocator does not control (``allocation.commit_timing``):
  ``committed_after_round`` when witnesses or other actors' entries show it came after the
  round, ``commitment_unproven`` (a warning) when nothing shows either way.  A draw on a
  development beacon is ``beacon_insecure``: an error, since whoever chose the seed in its
  commitment knew every round's value and could choose the allocation, unless the replayer is
  made with ``allow_dev_beacon`` (tests and demonstrations), when it is a warning.
- ``allocation.repaired``: repairs follow a made entry and are numbered 1, 2, …; each is
  recomputed from the previous assignment on its own label (``repair_mismatch``).

The VRF public key is declared in the manifest (and in the committed entry); when the auditor's
policy pins a VRF key for an allocator, ``pinned_vrf_keys`` makes the replayer enforce it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from allocation.beacon import BeaconReading, parse_commitment
from allocation.commit_timing import Commitment, judge_commitment
from allocation.draw import Assignment, assignment_pairs, draw_seed, route_pairs, vehicle_pairs
from allocation.ecvrf import proof_to_hash
from allocation.errors import BeaconError, ManifestError, RepairError, VrfProofError
from allocation.events import COMMITTED, EVENT_TYPES, MADE, REPAIRED
from allocation.manifest import MAX_MANIFEST_BYTES, Manifest, manifest_sha256, parse_manifest
from allocation.repair import LateChange, repair_assignment
from allocation.roster import Roster
from allocation.verify import check_parsed_allocation
from exam_core.audit.history import AuditHistory
from exam_core.audit.replayer_state import JsonValue
from exam_core.errors import AuditStateError, BlobError, EntryError
from exam_core.findings import ERROR, WARNING, Finding
from exam_core.log.entry import Entry
from exam_core.log.note import NoteVerifier
from exam_core.log.registry import DEFAULT_MAX_SKEW_MS
from exam_core.log.schemas import validate_event

ROSTER_WINDOW_MS = 86_400_000
"""Two commitments over the same roster this close (by their ``ts``) are one session drawn twice."""

RosterKey = tuple[frozenset[str], frozenset[str]]
"""Who a roster is about: its candidates' ids and its examiners' ids."""


def _roster_key(roster: Roster) -> RosterKey:
    return frozenset(c.id for c in roster.candidates), frozenset(e.id for e in roster.examiners)


class AllocationReplayer:
    """Recomputes ``allocation.*`` entries from the bundle's blobs and earlier entries."""

    def __init__(
        self,
        beacon_keys: Sequence[NoteVerifier] = (),
        pinned_vrf_keys: Mapping[str, bytes] | None = None,
        recompute: bool = True,
        *,
        allow_dev_beacon: bool = False,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    ) -> None:
        """``beacon_keys`` are trusted besides those the audit's policy pins;
        ``allow_dev_beacon`` reports draws on a development beacon as a warning, not an error
        (tests, demonstrations); ``max_skew_ms`` is the clock-skew bound the centre's ingest
        held ``ts`` to."""
        self._beacon_keys = tuple(beacon_keys)
        self._pinned = dict(pinned_vrf_keys or {})
        self._recompute = recompute
        self._allow_dev_beacon = allow_dev_beacon
        self._max_skew_ms = max_skew_ms
        self._rosters: dict[str, RosterKey | None] = {}
        """Manifest hash → who its roster is about (None: no manifest), read once."""

    def save_state(self) -> JsonValue:
        """The options that change its findings; the rest it rebuilds from the kept entries
        (its manifest cache is read again on demand)."""
        return {"allow_dev_beacon": self._allow_dev_beacon, "max_skew_ms": self._max_skew_ms}

    def restore_state(self, state: JsonValue) -> None:
        """Resume with the options the saved audit ran with, or refuse.

        Raises:
            AuditStateError: ``state`` was saved with other options, or is not one this
                replayer saves.
        """
        if state != self.save_state():
            raise AuditStateError(
                f"the saved audit replayed allocations with {state!r}; this audit with "
                f"{self.save_state()!r}"
            )
        self._rosters = {}

    @property
    def event_types(self) -> frozenset[str]:
        return EVENT_TYPES

    @property
    def reads(self) -> frozenset[str]:
        return EVENT_TYPES

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event = entry.event
        try:
            validate_event(event)
        except EntryError as e:
            return [Finding(index, e.code, e.message)]
        if entry.type == COMMITTED:
            return self._committed(index, entry, history)
        if entry.type == MADE:
            return self._made(index, entry, history)
        if entry.type == REPAIRED:
            return self._repaired(index, entry, history)
        return [Finding(index, "unknown_type", f"not an allocation entry: {event.get('type')!r}")]

    # -- helpers -----------------------------------------------------------------------------

    def _manifest(
        self, index: int, digest_hex: str, history: AuditHistory
    ) -> tuple[bytes, Manifest] | Finding:
        try:
            data = history.blob(digest_hex, max_bytes=MAX_MANIFEST_BYTES)
        except BlobError as e:
            return Finding(index, "manifest_invalid", f"not a manifest: {e}")
        if data is None:
            return Finding(index, "manifest_missing", f"manifest blob {digest_hex} is absent")
        if manifest_sha256(data).hex() != digest_hex:
            return Finding(index, "manifest_mismatch", f"blob {digest_hex} has another hash")
        try:
            return data, parse_manifest(data)
        except ManifestError as e:
            return Finding(index, "manifest_invalid", str(e))

    @staticmethod
    def _earlier(
        index: int, history: AuditHistory, *kinds: str
    ) -> dict[str, list[tuple[int, Entry]]]:
        """Earlier entries of each of ``kinds``: admitted ones, so they fit their schema."""
        found: dict[str, list[tuple[int, Entry]]] = {kind: [] for kind in kinds}
        for i, e in history.earlier(kinds, index):
            found[e.type].append((i, e))
        return found

    # -- the three entry types ---------------------------------------------------------------

    def _committed(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event = entry.event
        loaded = self._manifest(index, str(event["manifest_sha256"]), history)
        if isinstance(loaded, Finding):
            return [loaded]
        data, manifest = loaded
        findings: list[Finding] = []
        claims = {
            "manifest_len": (event["manifest_len"], len(data)),
            "session": (event["session"], manifest.session),
            "round": (event["round"], manifest.beacon.round),
            "beacon_kind": (event["beacon_kind"], manifest.beacon.kind),
            "vrf_key": (event["vrf_key"], manifest.vrf_key.hex()),
        }
        for name, (stated, actual) in claims.items():
            if stated != actual:
                findings.append(
                    Finding(
                        index, "manifest_mismatch", f"{name} is {stated!r}, manifest {actual!r}"
                    )
                )
        pinned = self._pinned.get(entry.actor)
        if pinned is not None and pinned != manifest.vrf_key:
            findings.append(
                Finding(index, "vrf_invalid", "VRF key is not the allocator's pinned key")
            )
        try:
            commitment = parse_commitment(
                manifest.beacon.kind, manifest.beacon.commitment, self._trusted_beacons(history)
            )
        except BeaconError as e:
            findings.append(Finding(index, "beacon_invalid", str(e)))
        else:
            public_at = commitment.round_time_ms(manifest.beacon.round)
            if entry.ts >= public_at:
                findings.append(
                    Finding(
                        index,
                        "committed_after_round",
                        f"committed at {entry.ts} ms by its own ts, but round "
                        f"{manifest.beacon.round} was public from {public_at} ms",
                    )
                )
        earlier_commits = self._earlier(index, history, COMMITTED)[COMMITTED]
        findings += self._same_roster(index, entry, manifest, earlier_commits, history)
        for i, earlier in earlier_commits:
            if earlier.event["session"] != manifest.session:
                continue
            before = self._manifest(index, str(earlier.event["manifest_sha256"]), history)
            if not isinstance(before, Finding) and before[1].beacon.round < manifest.beacon.round:
                moved = replace(
                    before[1], beacon=replace(before[1].beacon, round=manifest.beacon.round)
                )
                if moved == manifest:
                    findings.append(
                        Finding(
                            index,
                            "recommitted",
                            f"session {manifest.session} aborted at entry {i} and re-committed "
                            "with the same manifest and a later round",
                            "warning",
                        )
                    )
                    continue
            findings.append(
                Finding(
                    index,
                    "recommitted_changed",
                    f"session {manifest.session} was committed at entry {i}; a re-commit must "
                    "keep the manifest and only move to a later round",
                )
            )
        return findings

    def _made(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event = entry.event
        digest_hex, round_number = str(event["manifest_sha256"]), int(event["round"])
        earlier_entries = self._earlier(index, history, COMMITTED, MADE)
        commits = [
            (i, e)
            for i, e in earlier_entries[COMMITTED]
            if e.event["manifest_sha256"] == digest_hex and e.event["round"] == round_number
        ]
        if not commits:
            return [
                Finding(
                    index,
                    "missing_commitment",
                    f"no earlier allocation.committed for {digest_hex} round {round_number}",
                )
            ]
        findings = []
        for i, earlier in earlier_entries[MADE]:
            if (
                earlier.event["manifest_sha256"] == digest_hex
                and earlier.event["round"] == round_number
            ):
                findings.append(
                    Finding(index, "duplicate_draw", f"this commitment was already drawn at {i}")
                )
        drawn_before = bool(findings)
        if commits[-1][1].actor != entry.actor:
            findings.append(
                Finding(
                    index, "actor_mismatch", "the draw is not signed by the committing allocator"
                )
            )
        loaded = self._manifest(index, digest_hex, history)
        if isinstance(loaded, Finding):
            return [*findings, loaded]
        data, manifest = loaded
        if event["session"] != manifest.session:
            findings.append(
                Finding(index, "manifest_mismatch", "session differs from the manifest")
            )
        reading = BeaconReading(
            round_number,
            bytes.fromhex(str(event["beacon_value"])),
            bytes.fromhex(str(event["beacon_evidence"])),
        )
        beacon_keys = self._trusted_beacons(history)
        checked = check_parsed_allocation(
            manifest,
            manifest_sha256(data),
            reading,
            bytes.fromhex(str(event["proof"])),
            assignment_pairs(event["assignment"]),
            vehicles=vehicle_pairs(event.get("vehicles", [])),
            routes=route_pairs(event.get("routes", [])),
            beacon_keys=beacon_keys,
            pinned_vrf_key=self._pinned.get(entry.actor),
            recompute=self._recompute,
        )
        findings += [self._beacon_judged(replace(f, index=index)) for f in checked]
        if not drawn_before:
            timing = self._commit_timing(commits[-1], manifest, beacon_keys, index, history)
            findings += [timing] if timing is not None else []
        return findings

    def _same_roster(
        self,
        index: int,
        entry: Entry,
        manifest: Manifest,
        earlier_commits: Sequence[tuple[int, Entry]],
        history: AuditHistory,
    ) -> list[Finding]:
        """Earlier commitments, under another session name and within a day, of the same
        candidates and examiners: a session drawn again under a new name."""
        key = _roster_key(manifest.roster)
        self._rosters[str(entry.event["manifest_sha256"])] = key
        findings = []
        for i, earlier in earlier_commits:
            if earlier.event["session"] == manifest.session:
                continue  # the same session: the re-commit rule above
            if abs(earlier.ts - entry.ts) >= ROSTER_WINDOW_MS:
                continue
            if self._roster_of(i, str(earlier.event["manifest_sha256"]), history) == key:
                findings.append(
                    Finding(
                        index,
                        "roster_recommitted",
                        f"the candidates and examiners of session {manifest.session} were "
                        f"committed at entry {i} as session {earlier.event['session']}, "
                        f"{abs(entry.ts - earlier.ts) // 1000} s apart: a session drawn again "
                        "under a new name",
                    )
                )
        return findings

    def _roster_of(self, index: int, digest_hex: str, history: AuditHistory) -> RosterKey | None:
        if digest_hex not in self._rosters:
            loaded = self._manifest(index, digest_hex, history)
            self._rosters[digest_hex] = (
                None if isinstance(loaded, Finding) else _roster_key(loaded[1].roster)
            )
        return self._rosters[digest_hex]

    def _trusted_beacons(self, history: AuditHistory) -> tuple[NoteVerifier, ...]:
        """The beacon keys given to the replayer and those the audit's policy pins."""
        return (*self._beacon_keys, *history.beacon_keys)

    def _beacon_judged(self, finding: Finding) -> Finding:
        """``beacon_insecure`` is an error unless development beacons are allowed."""
        if finding.code != "beacon_insecure":
            return finding
        if self._allow_dev_beacon:
            return replace(finding, severity=WARNING)
        return replace(
            finding,
            severity=ERROR,
            message=f"{finding.message}: whoever chose the seed in its commitment knew every "
            "round's value, so the allocation could have been chosen (allowed only for tests "
            "and demonstrations, with --allow-dev-beacon)",
        )

    def _commit_timing(
        self,
        committed: tuple[int, Entry],
        manifest: Manifest,
        beacon_keys: Sequence[NoteVerifier],
        draw: int,
        history: AuditHistory,
    ) -> Finding | None:
        """The evidence on whether the commitment a draw rests on preceded its round; None
        when it did, or when its own ts already says it did not (reported at the commitment),
        or its beacon cannot be read (reported at the draw)."""
        at, entry = committed
        try:
            beacon = parse_commitment(manifest.beacon.kind, manifest.beacon.commitment, beacon_keys)
        except BeaconError:
            return None
        public_at = beacon.round_time_ms(manifest.beacon.round)
        if entry.ts >= public_at:
            return None
        commitment = Commitment(at, entry.actor, manifest.beacon.round, public_at)
        return judge_commitment(commitment, history, stop=draw, max_skew_ms=self._max_skew_ms)

    def _repaired(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event = entry.event
        digest_hex = str(event["manifest_sha256"])
        earlier_entries = self._earlier(index, history, MADE, REPAIRED)
        made = [e for _, e in earlier_entries[MADE] if e.event["manifest_sha256"] == digest_hex]
        if not made:
            return [Finding(index, "missing_draw", f"no earlier allocation.made for {digest_hex}")]
        previous: Assignment = assignment_pairs(made[-1].event["assignment"])
        repairs = [
            e for _, e in earlier_entries[REPAIRED] if e.event["manifest_sha256"] == digest_hex
        ]
        if int(event["repair"]) != len(repairs) + 1:
            return [
                Finding(
                    index,
                    "repair_mismatch",
                    f"repair numbered {event['repair']}, but it is repair {len(repairs) + 1}",
                )
            ]
        if repairs:
            previous = assignment_pairs(repairs[-1].event["assignment"])
        loaded = self._manifest(index, digest_hex, history)
        if isinstance(loaded, Finding):
            return [loaded]
        _, manifest = loaded
        try:
            seed = draw_seed(proof_to_hash(bytes.fromhex(str(made[-1].event["proof"]))))
            changes = [LateChange(ch["kind"], ch["subject"]) for ch in event["changes"]]
            expected = repair_assignment(manifest, previous, changes, seed, int(event["repair"]))
        except (VrfProofError, RepairError) as e:
            return [Finding(index, "repair_mismatch", f"repair cannot be recomputed: {e}")]
        if expected != assignment_pairs(event["assignment"]):
            return [
                Finding(index, "repair_mismatch", "assignment differs from the recomputed repair")
            ]
        return []
