"""The audit of allocation entries: ``AllocationReplayer`` (DESIGN §3.5 step 4).

For each allocation entry of a bundle the replayer recomputes what the entry claims and reports
every difference as a ``Finding`` with a stable code:

- ``allocation.committed``: the manifest blob exists, has the committed hash and length, parses,
  and agrees with the entry (session, round, beacon kind, VRF key); the entry was sequenced
  before the target round became public (``committed_after_round``); a session committed again
  with the same manifest but for a later round is an abort (``recommitted``, a warning the
  monitoring centre counts); any other re-commit is ``recommitted_changed``.
- ``allocation.made``: a matching commitment precedes it (``missing_commitment``) and no earlier
  draw exists for that commitment (``duplicate_draw``); then the shared pure verifier
  (``check_parsed_allocation``, the body of ``check_allocation``) recomputes the beacon, the VRF
  proof and the assignment.
- ``allocation.repaired``: repairs follow a made entry and are numbered 1, 2, …; each is
  recomputed from the previous assignment on its own label (``repair_mismatch``).

The VRF public key is declared in the manifest (and in the committed entry); when the auditor's
policy pins a VRF key for an allocator, ``pinned_vrf_keys`` makes the replayer enforce it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from allocation.beacon import BeaconReading, parse_commitment
from allocation.draw import Assignment, assignment_pairs, draw_seed
from allocation.ecvrf import proof_to_hash
from allocation.errors import BeaconError, ManifestError, RepairError, VrfProofError
from allocation.events import COMMITTED, EVENT_TYPES, MADE, REPAIRED
from allocation.manifest import Manifest, manifest_sha256, parse_manifest
from allocation.repair import LateChange, repair_assignment
from allocation.verify import check_parsed_allocation
from exam_core.audit.history import AuditHistory
from exam_core.errors import EntryError
from exam_core.findings import Finding
from exam_core.log.entry import Entry
from exam_core.log.note import NoteVerifier
from exam_core.log.schemas import validate_event


class AllocationReplayer:
    """Recomputes ``allocation.*`` entries from the bundle's blobs and earlier entries."""

    def __init__(
        self,
        beacon_keys: Sequence[NoteVerifier] = (),
        pinned_vrf_keys: Mapping[str, bytes] | None = None,
        recompute: bool = True,
    ) -> None:
        self._beacon_keys = tuple(beacon_keys)
        self._pinned = dict(pinned_vrf_keys or {})
        self._recompute = recompute

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
        data = history.blob(digest_hex)
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
                manifest.beacon.kind, manifest.beacon.commitment, self._beacon_keys
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
                        f"committed at {entry.ts} ms, but round {manifest.beacon.round} was "
                        f"public from {public_at} ms",
                    )
                )
        for i, earlier in self._earlier(index, history, COMMITTED)[COMMITTED]:
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
        checked = check_parsed_allocation(
            manifest,
            manifest_sha256(data),
            reading,
            bytes.fromhex(str(event["proof"])),
            assignment_pairs(event["assignment"]),
            beacon_keys=self._beacon_keys,
            pinned_vrf_key=self._pinned.get(entry.actor),
            recompute=self._recompute,
        )
        return findings + [replace(f, index=index) for f in checked]

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
