"""The incremental audit: a log grown in steps, audited from saved states, gives a full audit's
findings; tampering in the growth is found as a full audit finds it, a rewritten past fails
the consistency proof, and a state that is changed, of another log or hostile is refused."""

from __future__ import annotations

import hashlib
import json
from array import array
from typing import Any

import pytest

from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.history import AuditHistory, Replayer
from exam_core.audit.incremental import AuditEnd, check_bundle_since, state_from_end
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.report import AuditReport
from exam_core.audit.saved_state import FORMAT, AuditState, decode_state, encode_state
from exam_core.audit.timing import SigningTimes
from exam_core.errors import AuditStateError
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.findings import Finding
from exam_core.log.entry import Entry, make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import render_policy
from tests.api.allocation_bundle import allocation_log, dev_beacon
from tests.exam_core.audit.bundle_factory import LogBuilder, cut_back, demo_log
from tests.exam_core.evidence.exam_log import ExamLog

Files = dict[str, bytes]


def _replayers() -> list[Replayer]:
    # The exam day's own replayer has its test of resuming in tests/exam_core/exam_day: these
    # logs run exams with no check-in or draw, which it rightly refuses.
    replayers = default_replayers(allow_dev_beacon=True)
    return [r for r in replayers if not isinstance(r, ExamDayReplayer)]


def _full(files: Files) -> tuple[AuditReport, AuditEnd]:
    ends: list[AuditEnd] = []
    report = check_bundle(bundle_from_files(files), _replayers(), keep=ends.append)
    return report, ends[-1]


def _save(report: AuditReport, end: AuditEnd) -> bytes:
    return encode_state(state_from_end(end, report))


def _since(files: Files, state: bytes) -> tuple[AuditReport, AuditEnd]:
    return check_bundle_since(bundle_from_files(files), decode_state(state), _replayers())


def _summary(report: AuditReport) -> tuple[Any, ...]:
    findings = sorted((f.index or -1, f.code, f.severity, f.message) for f in report.findings)
    return (
        report.ok,
        report.origin,
        report.tree_size,
        report.root_hash,
        report.entries,
        report.checkpoints,
        report.blobs,
        findings,
    )


def test_a_log_grown_in_steps_audits_from_each_saved_state_as_in_full() -> None:
    log = ExamLog()
    log.begin("E1")  # an exam open across the first saved checkpoint
    log.log.checkpoint()
    first = _save(*_full(log.log.files()))
    log.finish("E1", 4, log.record("E1", 4))
    log.log.checkpoint()
    files = log.log.files()
    full, _ = _full(files)
    resumed, end = _since(files, first)
    assert full.ok
    assert full.entries > decode_state(first).size
    assert _summary(resumed) == _summary(full)
    second = _save(resumed, end)
    assert second == _save(*_full(files))  # the same state, whichever audit saved it
    log.honest_exam("E2", segments=2)
    log.score("E1", 90)
    log.log.checkpoint()
    files = log.log.files()
    full, _ = _full(files)
    assert full.errors  # the score cites telemetry the log does not hold: the same finding
    for state in (first, second):
        assert _summary(_since(files, state)[0]) == _summary(full)


def test_a_draw_after_the_saved_checkpoint_is_judged_on_the_commitment_before_it() -> None:
    log = allocation_log(dev_beacon())
    state = _save(*_full(log.files(at=0)))  # the commitment, not yet the draw
    full, _ = _full(log.files())
    assert {f.code for f in full.findings} >= {"beacon_insecure"}
    assert _summary(_since(log.files(), state)[0]) == _summary(full)


def test_a_bad_entry_in_the_growth_gives_the_full_audits_findings() -> None:
    log = demo_log(20, checkpoint_every=7)
    state = _save(*_full(log.files()))
    signer = log.key("late", "demo")
    log.append(signer, "demo.event", n=1)
    replayed = make_entry(signer, log.event(signer, "demo.event", n=2) | {"seq": 1})
    log.append_bytes(replayed)  # a replay: seq 1 again
    log.append(signer, "demo.event", n=3)
    log.checkpoint()
    full, _ = _full(log.files())
    resumed, _ = _since(log.files(), state)
    assert not full.ok
    assert "bad_seq" in {f.code for f in full.errors}
    assert _summary(resumed) == _summary(full)


def _twin_logs(changed_at: int) -> tuple[LogBuilder, LogBuilder]:
    """Two logs of the same keys and size; the second rewrote the entry ``changed_at``."""
    logs = []
    for rewrite in (False, True):
        log = LogBuilder()
        keys = [log.key("d1", "demo"), log.key("d2", "demo")]
        for n in range(30):
            note = "rewritten" if rewrite and len(log.entries) == changed_at else "as it was"
            log.append(keys[n % 2], "demo.event", n=n, note=note)
            if len(log.entries) % 8 == 0:
                log.checkpoint()
        log.checkpoint()
        logs.append(log)
    return logs[0], logs[1]


def test_a_rewritten_entry_before_the_saved_checkpoint_fails_the_consistency_proof() -> None:
    honest, rewritten = _twin_logs(changed_at=5)
    state = _save(*_full(honest.files(at=1)))  # 16 entries, entry 5 among them
    assert decode_state(state).size == 16
    alone, _ = _full(rewritten.files())
    assert alone.ok  # whole and consistent with itself: only the saved state tells
    resumed, _ = _since(rewritten.files(), state)
    codes = {f.code for f in resumed.errors}
    assert "checkpoint_outside_inconsistent" in codes
    assert "checkpoint_history_changed" in codes


def test_a_bundle_rolled_back_behind_the_saved_checkpoint_fails() -> None:
    log = demo_log(30, checkpoint_every=11)
    state = _save(*_full(log.files()))
    resumed, _ = _since(cut_back(log.files(), 1), state)
    assert {f.code for f in resumed.errors} == {"bundle_rolled_back", "checkpoint_history_changed"}


def test_entries_changed_in_the_growth_are_blamed_on_the_bundle() -> None:
    log = demo_log(40, checkpoint_every=9)
    state = _save(*_full(log.files(at=1)))
    files = log.files()
    bundle = "tile/entries/000.p/40"
    entries = bytearray(files[bundle])
    entries[-5] ^= 1  # the last entry's signature
    files[bundle] = bytes(entries)
    full, _ = _full(files)
    resumed, _ = _since(files, state)
    assert "entry_mismatch" in {f.code for f in full.errors}
    assert {f.code for f in resumed.errors} >= {"entry_mismatch"}
    assert {(f.index, f.code) for f in resumed.errors if f.code == "entry_mismatch"} == {
        (f.index, f.code) for f in full.errors if f.code == "entry_mismatch"
    }


# -- the state file ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def grown() -> tuple[LogBuilder, bytes]:
    log = demo_log(20, checkpoint_every=7)
    state = _save(*_full(log.files()))
    keys = log.key("more", "demo")
    for n in range(10):
        log.append(keys, "demo.event", n=n)
    log.checkpoint()
    return log, state


def test_the_state_is_a_versioned_header_and_canonical_json(
    grown: tuple[LogBuilder, bytes],
) -> None:
    _, state = grown
    header, body = state.split(b"\n", 1)
    assert header == FORMAT + b" sha256:" + hashlib.sha256(body).hexdigest().encode()
    line, times = body.split(b"\n", 1)
    parsed = json.loads(line)
    assert parsed["v"] == 1
    assert _dumps(parsed).encode() == line
    assert len(times) == 3 * 8 * parsed["times"]["count"] > 0


def test_every_changed_byte_of_the_state_is_refused(grown: tuple[LogBuilder, bytes]) -> None:
    log, state = grown
    for pos in range(0, len(state), max(1, len(state) // 97)):
        changed = bytearray(state)
        changed[pos] ^= 0x01
        with pytest.raises(AuditStateError):
            _since(log.files(), bytes(changed))
    for cut in (0, 10, len(state) // 2, len(state) - 1):
        with pytest.raises(AuditStateError):
            decode_state(state[:cut])


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _resealed(state: bytes, change: Any) -> bytes:
    """``state`` with its body changed by ``change`` and the digest made to match again, as
    someone who knows the format would forge it."""
    _, line, times = state.split(b"\n", 2)
    body = json.loads(line)
    text = change(body)
    # A change that returns the whole body as text writes it so; others change it in place.
    data = text if isinstance(text, str) and text.startswith("{") else _dumps(body)
    raw = data.encode() + b"\n" + times
    return FORMAT + b" sha256:" + hashlib.sha256(raw).hexdigest().encode() + b"\n" + raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: json.dumps(b, sort_keys=True), "form"),
        (lambda b: b.update(extra=1), "object of"),
        (lambda b: b.update(v=2), "version"),
        (lambda b: b.update(stopped=1.5), "float"),
        (lambda b: b["frontier"].pop(), "frontier"),
        (lambda b: b["registry"]["keys"][0].update(role="emperor"), "role"),
        (lambda b: b.update(checkpoint=b["checkpoint"].replace("20", "21", 1)), "checkpoint"),
        (lambda b: b.update(findings=[{"index": 99, "code": "x", "message": "m"}]), "entry"),
        (lambda b: b["times"].update(count=b["times"]["count"] - 1), "bytes of signing times"),
        (lambda b: b["replayers"].pop("ScoringReplayer"), "replayers"),
        (lambda b: b["replayers"].update(ScoringReplayer={"exams": []}), "no state"),
        (lambda b: b["replayers"]["AllocationReplayer"].update(allow_dev_beacon=False), "with"),
        (lambda b: b.update(origin="other.example/log"), "of log"),
        (lambda b: b["frontier"].__setitem__(0, "\u00e9" + b["frontier"][0][1:]), "not base64"),
        (lambda b: _dumps(b).replace('"origin":"', '"origin":"\\udcff', 1), "lone surrogate"),
    ],
)
def test_a_forged_state_with_a_matching_digest_is_refused_clearly(
    grown: tuple[LogBuilder, bytes], change: Any, message: str
) -> None:
    log, state = grown
    with pytest.raises(AuditStateError, match=message):
        _since(log.files(), _resealed(state, change))


def test_a_state_of_another_log_or_log_key_is_refused(grown: tuple[LogBuilder, bytes]) -> None:
    _, state = grown
    other_origin = demo_log(30)
    other_origin_files = LogBuilder(origin="exam.example/c/999999-01")
    other_origin_files.checkpoint()
    with pytest.raises(AuditStateError, match="of log"):
        _since(other_origin_files.files(), state)
    other_key = LogBuilder()
    other_key.log_key = type(other_key.log_key).from_seed(other_key.origin, b"\x07" * 32)
    other_key.checkpoint()
    with pytest.raises(AuditStateError, match="log key"):
        _since(other_key.files(), state)
    assert other_origin.entries


class _Forgetful:
    """A replayer that keeps state of its own and cannot save it."""

    event_types = frozenset({"demo.event"})
    reads: frozenset[str] = frozenset()

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        return []


def test_a_replayer_that_cannot_restore_makes_the_audit_refuse(
    grown: tuple[LogBuilder, bytes],
) -> None:
    log, state = grown
    ends: list[AuditEnd] = []
    report = check_bundle(bundle_from_files(log.files()), [_Forgetful()], keep=ends.append)
    with pytest.raises(AuditStateError, match="_Forgetful cannot save"):
        state_from_end(ends[-1], report)
    with pytest.raises(AuditStateError, match="_Forgetful cannot restore"):
        check_bundle_since(
            bundle_from_files(log.files()), decode_state(state), [*_replayers(), _Forgetful()]
        )


@pytest.mark.parametrize("size", [5, 256, 300])
def test_a_bundle_that_did_not_grow_audits_from_its_state_as_in_full(size: int) -> None:
    """The entry bundle of a partial last tile holds no entry after the saved size: it is not
    read again, so it is not missing (a log that did not grow since the last audit)."""
    log = demo_log(size, checkpoint_every=size)
    files = log.files()
    full, end = _full(files)
    resumed, _ = _since(files, _save(full, end))
    assert full.ok
    assert _summary(resumed) == _summary(full)


def test_no_state_is_saved_from_an_audit_that_failed() -> None:
    log = demo_log(20, checkpoint_every=7)
    files = log.files()
    files["tile/entries/000.p/20"] = files["tile/entries/000.p/20"][:-1] + b"\x00"
    report, end = _full(files)
    assert not report.ok
    with pytest.raises(AuditStateError, match="did not hold"):
        state_from_end(end, report)


def test_decoded_state_round_trips(grown: tuple[LogBuilder, bytes]) -> None:
    _, state = grown
    decoded: AuditState = decode_state(state)
    assert encode_state(decoded) == state


def test_another_policy_verifies_the_saved_checkpoints_again_with_the_same_answer() -> None:
    log = demo_log(40, checkpoint_every=9)
    state = _save(*_full(log.files(at=1)))
    log.beacons.append(Ed25519Signer.from_seed("beacon.example/b", b"\x05" * 32).vkey)
    pinned = render_policy(log.policy())  # not the policy the state was verified under
    full = check_bundle(bundle_from_files(log.files()), _replayers(), policy=pinned)
    resumed, _ = check_bundle_since(
        bundle_from_files(log.files()), decode_state(state), _replayers(), policy=pinned
    )
    assert full.ok
    assert "policy_unpinned" not in {f.code for f in full.findings}
    assert _summary(resumed) == _summary(full)


def test_signing_times_that_no_audit_records_are_refused() -> None:
    times = SigningTimes()
    for index, when in ((0, 5), (1, 9), (3, 7)):  # entry 2 refused
        times.record(index, f"a{index % 2}", when)
    actors, actor, ts, latest = times.saved()
    assert SigningTimes.resumed(actors, actor, ts, latest).latest_before(4) == (1, "a1", 9)
    bad = [
        (actors, actor, ts, array("q", [0, 1, 2, 1])),  # points at a refused entry
        (actors, actor, ts, array("q", [0, 1, 0, 0])),  # moves back
        (actors, actor, ts, array("q", [1, 1, 1, 1])),  # ahead of its position
        (actors, array("q", [0, 1, -1, 2]), ts, latest),  # no signer 2
        (actors, actor, ts[:3], latest),
        (["a0", "a0"], actor, ts, latest),
    ]
    for arrays in bad:
        with pytest.raises(ValueError, match="signing times"):
            SigningTimes.resumed(*arrays)


def test_a_state_held_in_memory_resumes_again_and_again(grown: tuple[LogBuilder, bytes]) -> None:
    log, state = grown
    decoded = decode_state(state)
    reports = [
        _summary(check_bundle_since(bundle_from_files(log.files()), decoded, _replayers())[0])
        for _ in range(2)
    ]
    assert reports[0] == reports[1] == _summary(_full(log.files())[0])
    assert encode_state(decoded) == state  # the state itself did not move


def test_the_growth_proven_in_worker_processes_gives_the_same_findings() -> None:
    log = ExamLog()
    log.begin("E1")
    log.log.checkpoint()
    state = _save(*_full(log.log.files()))
    log.finish("E1", 4, log.record("E1", 4))
    signer = log.log.key("late", "demo")
    for n in range(40):
        log.log.append(signer, "demo.event", n=n)
    log.log.append_bytes(log.log.entries[-3])  # a replay of a plain entry: bad_seq
    log.log.append(signer, "demo.event", n=41, extra=1)  # a schema defect
    log.log.checkpoint()
    files = log.log.files()
    serial, _ = _since(files, state)
    assert {"bad_seq", "schema"} <= {f.code for f in serial.errors}
    with ProcessSignatureCheck(workers=1, chunk=8, start_method="fork") as pool:
        pooled, _ = check_bundle_since(
            bundle_from_files(files), decode_state(state), _replayers(), signature_check=pool
        )
    assert _summary(pooled) == _summary(serial)
