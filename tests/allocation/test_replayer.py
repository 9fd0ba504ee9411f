"""The audit replayer over real signed entries, and late-change repairs."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from allocation import (
    AllocationReplayer,
    CandidateId,
    DevBeacon,
    ExaminerId,
    LateChange,
    RepairError,
    assignment_problem,
    committed_fields,
    draw_seed,
    made_fields,
    repair_assignment,
    repaired_fields,
)
from allocation.events import COMMITTED, MADE, REPAIRED
from exam_core.audit.history import CheckpointEvidence, MemoryHistory
from exam_core.findings import Finding
from exam_core.log.entry import MAX_ENTRY_BYTES, make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas import validate_event
from tests.allocation.samples import (
    BEACON_SIGNER,
    GENESIS_MS,
    PERIOD_MS,
    ROUND,
    Published,
    hash_chain_beacon,
    publish,
    small_roster,
)

ORIGIN = "exam.example/c/370100-01"
ALLOCATOR = Ed25519Signer.from_seed(f"{ORIGIN}/allocator/A1", b"\x11" * 32)
ROUND_TIME = GENESIS_MS + ROUND * PERIOD_MS
OTHER = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", b"\x13" * 32)
"""An actor other than the allocator, whose entries are sequenced around the commitment."""
WITNESS = "witness.example/w0"
SKEW_MS = 300_000


@dataclass
class History(MemoryHistory):
    """An in-memory bundle: the entries so far and the blobs by SHA-256."""

    seq: int = 0

    def add_blob(self, data: bytes) -> None:
        self.blobs[hashlib.sha256(data).hexdigest()] = data

    def append(
        self,
        event_type: str,
        fields: dict[str, object],
        ts: int,
        signer: Ed25519Signer = ALLOCATOR,
    ) -> int:
        self.seq += 1
        common = {"v": 1, "log": ORIGIN, "type": event_type, "ts": ts, "actor": signer.name}
        event = {**common, "seq": self.seq, **fields}
        validate_event(event)  # the entries the allocation makes fit their schemas
        self.entries.append(parse_entry(make_entry(signer, event)))
        return len(self.entries) - 1


def replay_all(history: History, replayer: AllocationReplayer | None = None) -> list[Finding]:
    """Replay every allocation entry as the audit would; these draws are on the development
    beacon, which the replayer is told to allow unless another is given."""
    replayer = replayer or AllocationReplayer(allow_dev_beacon=True)
    found: list[Finding] = []
    for index, entry in enumerate(history.entries):
        if entry.type in replayer.event_types:
            view = replace(history, entries=history.entries[: index + 1])
            found += replayer.replay(index, entry, view)
    return found


def codes(findings: Sequence[Finding]) -> list[tuple[int | None, str, str]]:
    return [(f.index, f.code, f.severity) for f in findings]


@pytest.fixture(scope="module")
def published() -> Published:
    return publish(small_roster(), cap=400)


def honest(published: Published, *, commit_ts: int = GENESIS_MS + 1000) -> History:
    """Commitment, then draw; a witness cosigned a tree including the commitment 3 s before
    the round."""
    history = History()
    history.add_blob(published.manifest_bytes)
    history.append(
        COMMITTED, committed_fields(published.manifest_bytes, published.manifest), commit_ts
    )
    history.checkpoints.append(CheckpointEvidence(1, {WITNESS: ROUND_TIME // 1000 - 3}))
    history.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME + 10
    )
    return history


def test_honest_history_replays_with_only_the_dev_beacon_warning(published: Published) -> None:
    assert codes(replay_all(honest(published))) == [(1, "beacon_insecure", "warning")]


def test_commitment_after_the_round_is_reported(published: Published) -> None:
    found = codes(replay_all(honest(published, commit_ts=ROUND_TIME)))
    assert (0, "committed_after_round", "error") in found


def test_changed_assignment_in_the_made_entry_is_reported(published: Published) -> None:
    history = honest(published)
    pairs = list(published.allocation.assignment)
    k = next(i for i in range(1, len(pairs)) if pairs[i][1] != pairs[0][1])
    pairs[0], pairs[k] = (pairs[0][0], pairs[k][1]), (pairs[k][0], pairs[0][1])
    forged = replace(published.allocation, assignment=tuple(pairs))
    history.entries.pop()
    history.append(MADE, made_fields(forged, published.manifest.session), ROUND_TIME + 10)
    assert (1, "assignment_mismatch", "error") in codes(replay_all(history))


def test_draw_without_commitment_and_duplicate_draw(published: Published) -> None:
    lone = History()
    lone.add_blob(published.manifest_bytes)
    lone.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME + 10
    )
    assert codes(replay_all(lone)) == [(0, "missing_commitment", "error")]
    twice = honest(published)
    twice.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME + 20
    )
    assert (2, "duplicate_draw", "error") in codes(replay_all(twice))


def test_missing_or_substituted_manifest_blob(published: Published) -> None:
    history = honest(published)
    history.blobs.clear()
    found = codes(replay_all(history))
    assert (0, "manifest_missing", "error") in found
    assert (1, "manifest_missing", "error") in found


def test_draw_by_another_allocator_is_reported(published: Published) -> None:
    history = honest(published)
    history.entries.pop()
    other = Ed25519Signer.from_seed(f"{ORIGIN}/allocator/A2", b"\x12" * 32)
    history.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME, other
    )
    assert (1, "actor_mismatch", "error") in codes(replay_all(history))


def test_pinned_vrf_key_is_enforced_by_the_replayer(published: Published) -> None:
    replayer = AllocationReplayer(pinned_vrf_keys={ALLOCATOR.name: b"\x05" * 32})
    found = codes(replay_all(honest(published), replayer))
    assert (0, "vrf_invalid", "error") in found
    assert (1, "vrf_invalid", "error") in found


def test_abort_and_recommit(published: Published) -> None:
    history = honest(published)
    later = publish(small_roster(), cap=400, round_number=ROUND + 100)
    history.add_blob(later.manifest_bytes)
    history.append(
        COMMITTED, committed_fields(later.manifest_bytes, later.manifest), ROUND_TIME + 50
    )
    assert (2, "recommitted", "warning") in codes(replay_all(history))

    changed = publish(small_roster(), cap=500, round_number=ROUND + 200)
    history.add_blob(changed.manifest_bytes)
    history.append(
        COMMITTED, committed_fields(changed.manifest_bytes, changed.manifest), ROUND_TIME + 60
    )
    assert (3, "recommitted_changed", "error") in codes(replay_all(history))


def test_hash_chain_beacon_replays_clean_with_the_pinned_beacon_key() -> None:
    published = publish(small_roster(), cap=400, beacon=hash_chain_beacon())
    history = History()
    history.add_blob(published.manifest_bytes)
    history.append(
        COMMITTED, committed_fields(published.manifest_bytes, published.manifest), GENESIS_MS + 1000
    )
    history.checkpoints.append(CheckpointEvidence(1, {WITNESS: GENESIS_MS // 1000 + 2}))
    history.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME + 10
    )
    assert replay_all(history, AllocationReplayer(beacon_keys=[BEACON_SIGNER.verifier])) == []
    unpinned = codes(replay_all(history))
    assert (0, "beacon_invalid", "error") in unpinned
    assert (1, "beacon_invalid", "error") in unpinned


# -- late changes --------------------------------------------------------------------------


def _seed(published: Published) -> bytes:
    return draw_seed(published.allocation.beta)


def test_repair_moves_only_the_withdrawn_examiners_candidates(published: Published) -> None:
    manifest, drawn = published.manifest, published.allocation.assignment
    gone = "e-6"  # C1 only: its candidates all have somewhere to go
    absent = next(c for c, e in drawn if e != gone)
    changes = [LateChange("examiner_withdrawn", gone), LateChange("no_show", absent)]
    repaired = repair_assignment(manifest, drawn, changes, _seed(published), 1)
    assert repaired == repair_assignment(manifest, drawn, changes, _seed(published), 1)
    before = dict(drawn)
    after = dict(repaired)
    assert absent not in after
    assert set(after) == set(before) - {absent}
    problem = assignment_problem(manifest.roster, manifest.conflicts, manifest.scale)
    index = {e.id: j for j, e in enumerate(manifest.roster.examiners)}
    loads = Counter(after.values())
    for row, cand in enumerate(manifest.roster.candidates):
        if cand.id not in after:
            continue
        assert after[cand.id] != gone
        assert index[after[cand.id]] in problem.eligible[row]
        if before[cand.id] != gone:
            assert after[cand.id] == before[cand.id]
    for j, examiner in enumerate(manifest.roster.examiners):
        assert loads[examiner.id] <= problem.load_max[j] + 1


def test_repair_refuses_unknown_subjects_and_impossible_repairs(published: Published) -> None:
    manifest, drawn, seed = published.manifest, published.allocation.assignment, _seed(published)
    with pytest.raises(RepairError, match="no-show c-zz is not in the assignment"):
        repair_assignment(manifest, drawn, [LateChange("no_show", "c-zz")], seed, 1)
    with pytest.raises(RepairError, match="e-zz is not on the roster"):
        repair_assignment(manifest, drawn, [LateChange("examiner_withdrawn", "e-zz")], seed, 1)
    with pytest.raises(RepairError, match="unknown late change"):
        repair_assignment(manifest, drawn, [LateChange("flood", "e-1")], seed, 1)
    with pytest.raises(RepairError, match="numbered from 1"):
        repair_assignment(manifest, drawn, [LateChange("no_show", drawn[0][0])], seed, 0)
    # Withdraw all C2 examiners but one: C2 candidates run out of room or eligibility.
    c2 = [LateChange("examiner_withdrawn", f"e-{j}") for j in range(4)]
    with pytest.raises(RepairError, match=r"candidate c-\d+ has no eligible examiner"):
        repair_assignment(manifest, drawn, c2, seed, 1)


def test_repair_entries_replay(published: Published) -> None:
    history = honest(published)
    drawn = published.allocation.assignment
    changes = [LateChange("examiner_withdrawn", "e-6")]
    repaired = repair_assignment(published.manifest, drawn, changes, _seed(published), 1)
    fields = repaired_fields(
        session=published.manifest.session,
        manifest_hash=published.allocation.manifest_sha256,
        number=1,
        changes=changes,
        reason="examiner reported sick at 07:40",
        assignment=repaired,
    )
    history.append(REPAIRED, fields, ROUND_TIME + 100)
    assert codes(replay_all(history)) == [(1, "beacon_insecure", "warning")]

    forged = dict(fields, assignment=[[c, e] for c, e in drawn])
    history.entries.pop()
    history.append(REPAIRED, forged, ROUND_TIME + 100)
    assert (2, "repair_mismatch", "error") in codes(replay_all(history))

    history.entries.pop()
    history.append(REPAIRED, dict(fields, repair=2), ROUND_TIME + 100)
    assert (2, "repair_mismatch", "error") in codes(replay_all(history))

    lone = History()
    lone.add_blob(published.manifest_bytes)
    lone.append(REPAIRED, fields, ROUND_TIME + 100)
    assert codes(replay_all(lone)) == [(0, "missing_draw", "error")]


def test_a_session_of_two_thousand_candidates_fits_one_made_entry(published: Published) -> None:
    pairs = tuple((CandidateId(f"c-{i:04d}"), ExaminerId(f"e-{i % 400:03d}")) for i in range(2000))
    big = replace(published.allocation, assignment=pairs)
    history = History()
    history.append(MADE, made_fields(big, published.manifest.session), ROUND_TIME)
    assert len(history.entries[0].data) < MAX_ENTRY_BYTES


def test_forged_draw_then_repair_is_reported_not_crashed(published: Published) -> None:
    history = honest(published)
    forged = replace(
        published.allocation,
        assignment=(
            (CandidateId("c-nobody"), ExaminerId("e-0")),
            *published.allocation.assignment[1:],
        ),
    )
    history.entries.pop()
    history.append(MADE, made_fields(forged, published.manifest.session), ROUND_TIME + 10)
    fields = repaired_fields(
        session=published.manifest.session,
        manifest_hash=published.allocation.manifest_sha256,
        number=1,
        changes=[LateChange("examiner_withdrawn", "e-6")],
        reason="sick",
        assignment=forged.assignment,
    )
    history.append(REPAIRED, fields, ROUND_TIME + 100)
    found = codes(replay_all(history))
    assert (1, "assignment_mismatch", "error") in found
    assert (2, "repair_mismatch", "error") in found


def test_entry_that_breaks_its_schema_is_a_finding(published: Published) -> None:
    history = honest(published)
    event = dict(history.entries[1].event)
    del event["proof"]
    bad = parse_entry(make_entry(ALLOCATOR, event))
    found = AllocationReplayer().replay(1, bad, History([history.entries[0], bad], history.blobs))
    assert codes(found) == [(1, "schema", "error")]
    assert "proof: missing" in found[0].message


# -- committed before the round, on evidence the allocator does not control -----------------


def timed(
    published: Published,
    *,
    commit_ts: int,
    before: Sequence[int] = (),
    after: Sequence[int] = (),
    witnessed: Sequence[tuple[int, int]] = (),
    after_signer: Ed25519Signer = OTHER,
) -> History:
    """Entries of another actor signed at ``before`` and ``after`` (ts) sequenced around the
    commitment, then the draw; a witness cosigned (size, seconds) for each of ``witnessed``."""
    history = History()
    history.add_blob(published.manifest_bytes)
    for n, ts in enumerate(before):
        history.append("demo.event", {"n": n}, ts, OTHER)
    history.append(
        COMMITTED, committed_fields(published.manifest_bytes, published.manifest), commit_ts
    )
    for n, ts in enumerate(after):
        history.append("demo.event", {"n": n}, ts, after_signer)
    history.append(
        MADE, made_fields(published.allocation, published.manifest.session), ROUND_TIME + 10
    )
    history.checkpoints.extend(CheckpointEvidence(s, {WITNESS: t}) for s, t in witnessed)
    return history


def timing(history: History) -> list[Finding]:
    replayer = AllocationReplayer(allow_dev_beacon=True, max_skew_ms=SKEW_MS)
    kept = {"committed_after_round", "commitment_unproven"}
    return [f for f in replay_all(history, replayer) if f.code in kept]


def test_a_commitment_backdated_by_its_own_author_is_shown_after_the_round(
    published: Published,
) -> None:
    """Signed after the round, ``ts`` set back a minute (within the clock-skew bound): its own
    ts passes, but a witness, or another actor's entry sequenced before it, says otherwise."""
    backdated = ROUND_TIME - 60_000
    quiet = [ROUND_TIME - 200_000]
    cosigned = [(1, ROUND_TIME // 1000)]
    witness = timing(timed(published, commit_ts=backdated, before=quiet, witnessed=cosigned))
    assert codes(witness) == [(1, "committed_after_round", "error")]
    assert witness[0].message.endswith(
        f"witness {WITNESS} cosigned at {ROUND_TIME // 1000} s a tree of 1 entries, which does "
        "not include it yet"
    )
    signed_later = ROUND_TIME + SKEW_MS + 1000
    entry = timing(timed(published, commit_ts=backdated, before=[signed_later]))
    assert codes(entry) == [(1, "committed_after_round", "error")]
    assert f"entry 0, sequenced before it, was signed by {OTHER.name}" in entry[0].message


def test_committed_before_the_round_rests_on_evidence_the_allocator_does_not_control(
    published: Published,
) -> None:
    commit_ts = ROUND_TIME - 60_000
    # A witness saw it a minute before the round.
    seen = [(1, ROUND_TIME // 1000 - 60)]
    assert timing(timed(published, commit_ts=commit_ts, witnessed=seen)) == []
    # Another actor's entry sequenced after it was signed beyond the skew bound before the round.
    early = ROUND_TIME - SKEW_MS - 1000
    assert timing(timed(published, commit_ts=commit_ts, after=[early])) == []
    # Nothing either way: no other entry, one within the skew bound of the round, a witness
    # that saw it only once the round was public, an earlier entry signed just after the round.
    for history in (
        timed(published, commit_ts=commit_ts),
        timed(published, commit_ts=commit_ts, after=[ROUND_TIME - 1000]),
        timed(published, commit_ts=commit_ts, witnessed=[(1, ROUND_TIME // 1000)]),
        timed(published, commit_ts=commit_ts, before=[ROUND_TIME + 1000]),
    ):
        found = timing(history)
        assert codes(found) == [(found[0].index, "commitment_unproven", "warning")]
        assert found[0].message.endswith("only its own ts says so")
    # The allocator's own entries prove nothing for it.
    own = timing(timed(published, commit_ts=commit_ts, after=[early], after_signer=ALLOCATOR))
    assert codes(own) == [(0, "commitment_unproven", "warning")]


# -- development beacons and rosters drawn twice --------------------------------------------


def test_a_draw_on_a_development_beacon_is_an_error_unless_allowed(published: Published) -> None:
    found = replay_all(honest(published), AllocationReplayer())
    assert codes(found) == [(1, "beacon_insecure", "error")]
    assert "could have been chosen" in found[0].message
    allowed = replay_all(honest(published), AllocationReplayer(allow_dev_beacon=True))
    assert codes(allowed) == [(1, "beacon_insecure", "warning")]


def test_the_same_roster_committed_again_under_a_new_session_name_is_reported(
    published: Published,
) -> None:
    """The re-commit rule binds a session name; an allocator who wants another draw of the
    same people commits them as a new session, with a development seed of its choosing."""
    history = honest(published)
    renamed = replace(small_roster(), session="2026-11-25/test/am-2")
    chosen = DevBeacon(
        b"\x99" * 32, genesis_ms=GENESIS_MS, period_ms=PERIOD_MS, clock=lambda: 2**52
    )
    again = publish(renamed, cap=400, beacon=chosen)
    history.add_blob(again.manifest_bytes)
    index = history.append(
        COMMITTED, committed_fields(again.manifest_bytes, again.manifest), ROUND_TIME + 60_000
    )
    found = [f for f in replay_all(history) if f.code == "roster_recommitted"]
    assert codes(found) == [(index, "roster_recommitted", "error")]
    assert "were committed at entry 0 as session 2026-11-25/test/am" in found[0].message
    # A day later the same people may sit again; another roster any time.
    history.entries.pop()
    history.seq -= 1
    history.append(
        COMMITTED, committed_fields(again.manifest_bytes, again.manifest), GENESIS_MS + 86_401_000
    )
    other = replace(renamed, candidates=renamed.candidates[1:])
    smaller = publish(other, cap=400, beacon=chosen)
    history.add_blob(smaller.manifest_bytes)
    history.append(
        COMMITTED, committed_fields(smaller.manifest_bytes, smaller.manifest), ROUND_TIME + 70_000
    )
    assert [f for f in replay_all(history) if f.code == "roster_recommitted"] == []
