"""Workers started before the log is lined up audit every log as one process does.

``ProcessSignatureCheck.begin`` forks the workers on the bundle's entry files before
``assemble_entries`` has read them; each worker waits for the bundles of its chunk to be lined
up and learns the registered keys from the bundles up to it (``exam_core.audit.chunk_sources``).
Whatever the bundle — damaged, cut, claiming more than it holds, registering keys late — the
findings must be those of an audit without workers, and no answer numbered by another key list
may be read.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.chunk_sources import Chunk, KeyListDigests
from exam_core.audit.history import AuditHistory
from exam_core.audit.log_entries import LogEntries
from exam_core.audit.pool import ChunkBoard, LinedUpProof, ProcessSignatureCheck
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.signatures import Proof, ProvingKeys, keys_by_name, registered_key_pairs
from exam_core.findings import Finding
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.cosignature import add_cosignatures, cosign_checkpoint
from exam_core.log.entry import Entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.tiles import decode_entry_bundle, encode_entry_bundle
from tests.exam_core.audit.bundle_factory import LogBuilder, demo_log

CHUNK = 64
"""Entries a chunk: a log of a few bundles is many chunks, most of them taken by the worker."""


def _log() -> LogBuilder:
    return demo_log(1300, checkpoint_every=400)  # five full bundles and a partial one


def _audits(files: dict[str, bytes]) -> tuple[AuditReport, AuditReport, ProcessSignatureCheck]:
    serial = check_bundle(bundle_from_files(files), policy=files["policy"])
    with ProcessSignatureCheck(workers=1, chunk=CHUNK, start_method="fork") as pool:
        pooled = check_bundle(
            bundle_from_files(files), policy=files["policy"], signature_check=pool
        )
    assert not multiprocessing.active_children()
    return serial, pooled, pool


def test_workers_are_started_on_the_bundle_files_when_they_are_forked() -> None:
    files = bundle_from_files(_log().files()).entry_bundles
    with ProcessSignatureCheck(workers=1, chunk=CHUNK, start_method="fork") as pool:
        started = pool.begin(files, "o", None)
        assert isinstance(started, LinedUpProof)
        started.answers(_lined_up_nothing())  # the log turned out empty: the worker stops
    with ProcessSignatureCheck(workers=1, chunk=CHUNK, start_method="spawn") as pool:
        assert pool.begin(files, "o", None) is None  # a spawned worker is sent what it reads
    with ProcessSignatureCheck(workers=1, chunk=4096, start_method="fork") as pool:
        assert pool.begin(files, "o", None) is None  # one chunk: no worker at all
    assert not multiprocessing.active_children()


def _lined_up_nothing() -> LogEntries:
    return LogEntries({}, [])


def _drop(path: str) -> Callable[[dict[str, bytes]], None]:
    def change(files: dict[str, bytes]) -> None:
        del files[path]

    return change


def _truncate(path: str) -> Callable[[dict[str, bytes]], None]:
    def change(files: dict[str, bytes]) -> None:
        files[path] = files[path][:-7]

    return change


def _one_entry_short(files: dict[str, bytes]) -> None:
    entries = decode_entry_bundle(files["tile/entries/002"])
    files["tile/entries/002"] = encode_entry_bundle(entries[:-1])


def _a_partial_that_differs(files: dict[str, bytes]) -> None:
    entries = decode_entry_bundle(files["tile/entries/001"])[:40]
    entries[17] = entries[18]
    files["tile/entries/001.p/40"] = encode_entry_bundle(entries)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_drop("tile/entries/002"), id="a bundle missing"),
        pytest.param(_truncate("tile/entries/001"), id="a bundle truncated"),
        pytest.param(_one_entry_short, id="a full bundle one entry short"),
        pytest.param(_a_partial_that_differs, id="an older partial bundle that differs"),
        pytest.param(_drop("tile/entries/005.p/20"), id="the last bundle missing"),
    ],
)
def test_a_damaged_bundle_is_audited_alike(change: Callable[[dict[str, bytes]], None]) -> None:
    files = _log().files()
    change(files)
    serial, pooled, _ = _audits(files)
    assert serial.errors
    assert pooled == serial


def test_entries_past_the_newest_checkpoint_are_audited_alike() -> None:
    log = _log()
    for n in range(300):
        log.append(log.admin, "demo.event", n=n)
    files = log.files(at=len(log.checkpoints) - 2)  # the bundles hold more than it covers
    files.update(log.files())
    del files["checkpoint"]
    files["checkpoint"] = log.checkpoints[-2]
    serial, pooled, _ = _audits(files)
    assert any(f.code == "entries_beyond_checkpoint" for f in serial.findings)
    assert pooled == serial


def test_a_claim_of_more_entries_than_the_bundles_hold_is_audited_alike() -> None:
    log = _log()
    note = sign_checkpoint(Checkpoint(log.origin, 1 << 62, bytes(32)), [log.log_key])
    lines = [cosign_checkpoint(note, log.log_key.verifier, w) for w in log.witness_keys]
    log.checkpoints.append(add_cosignatures(note, lines))
    serial, pooled, _ = _audits(log.files())
    assert any(f.code == "missing_entries" for f in serial.findings)
    assert pooled == serial


def test_a_key_registered_late_proves_only_what_follows_its_registration() -> None:
    log = LogBuilder()
    demo = log.key("d1", "demo")
    late = Ed25519Signer.from_seed(f"{log.origin}/demo/late", bytes(range(32)))
    for n in range(1100):
        log.append(demo, "demo.event", n=n)
        if n == 300:
            early = log.append(late, "demo.event", n=n)  # signed before its registration
    log.append(log.admin, "key.registered", name=late.name, vkey=late.vkey, role="demo")
    for n in range(200):
        log.append(late, "demo.event", n=n)
    log.checkpoint()
    serial, pooled, pool = _audits(log.files())
    assert [(f.index, f.code) for f in serial.errors][:1] == [(early, "unknown_key")]
    assert pooled == serial
    assert pool.handed_back == 0
    # The worker learnt every key as it reached its registration: of the entries it answered,
    # only the one signed before its key was registered has no key that verifies it.
    from_worker = len(log.entries) - pool.taken_back
    assert from_worker > 0
    assert pool.verified_by_workers >= from_worker - 1


def test_answers_numbered_by_another_key_list_are_not_read() -> None:
    log = demo_log(10)
    listed = registered_key_pairs(log.entries)
    keys = keys_by_name(listed)
    other = [("someone/else", bytes(32)), *listed]
    board = ChunkBoard(multiprocessing.get_context("fork"), 10, 10, listed, log.origin)
    digests = KeyListDigests()
    digests.add(listed)
    found = ProvingKeys(keys, log.origin).prove(log.entries)
    assert any(isinstance(answer, Proof) for answer in found)
    ours = (listed, digests.last)
    board.post(0, found, Chunk(log.entries, ProvingKeys(keys, log.origin), *ours))
    assert board.read(0, 10, digests.digests) == found
    elsewhere = KeyListDigests()
    elsewhere.add(other)
    board.post(0, found, Chunk(log.entries, ProvingKeys(keys, log.origin), other, elsewhere.last))
    assert board.read(0, 10, digests.digests) is None  # numbered by a list this one is not
    board.post(0, found[:9], Chunk(log.entries[:9], ProvingKeys(keys, log.origin), *ours))
    assert board.read(0, 10, digests.digests) is None  # answers for fewer entries than asked


class _Interrupts:
    """A replayer that stops the audit (Ctrl-C) at its first entry, after the log was lined up
    and while workers still prove."""

    event_types = frozenset({"demo.event"})
    reads = frozenset[str]()

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        raise KeyboardInterrupt


def test_workers_stop_when_the_audit_stops_early() -> None:
    files = _log().files()
    pool = ProcessSignatureCheck(workers=1, chunk=CHUNK, start_method="fork")
    with pytest.raises(KeyboardInterrupt), pool:
        check_bundle(bundle_from_files(files), [_Interrupts()], signature_check=pool)
    assert not multiprocessing.active_children()


def test_workers_stop_when_the_log_is_never_lined_up() -> None:
    # Started on the bundle's files, but the audit goes no further (its caller gave up): the
    # pool still ends, its workers told that the log holds nothing.
    files = bundle_from_files(_log().files()).entry_bundles
    with ProcessSignatureCheck(workers=2, chunk=CHUNK, start_method="fork") as pool:
        assert pool.begin(files, "o", None) is not None
    assert not multiprocessing.active_children()


_DAMAGED_LOG = demo_log(700, checkpoint_every=300)
"""Two full bundles, a partial one and three checkpoints; every example damages a copy."""


@st.composite
def _damaged(draw: st.DrawFn) -> dict[str, bytes]:
    """The log's bundle with a few of its entry bundle files dropped, cut, grown, swapped or
    joined by partial bundles of other bytes."""
    files = dict(_DAMAGED_LOG.files())
    paths = sorted(p for p in files if p.startswith("tile/entries/"))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["drop", "cut", "grow", "swap", "partial"]))
        if path not in files:
            continue
        data = files[path]
        if action == "drop":
            del files[path]
        elif action == "cut":
            files[path] = data[: draw(st.integers(0, len(data)))]
        elif action == "grow":
            files[path] = data + draw(st.binary(min_size=1, max_size=40))
        elif action == "swap":
            files[path] = files[draw(st.sampled_from(paths))]
        else:
            width = draw(st.integers(1, 255))
            entries = decode_entry_bundle(files[draw(st.sampled_from(paths))])[:width]
            full = path.split(".p/")[0]
            files[f"{full}.p/{len(entries)}"] = encode_entry_bundle(entries) if entries else b""
    return files


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=_damaged())
def test_a_bundle_damaged_anyhow_is_audited_alike(files: dict[str, bytes]) -> None:
    serial = check_bundle(bundle_from_files(files), policy=files["policy"])
    with ProcessSignatureCheck(workers=2, chunk=32, start_method="fork") as pool:
        pooled = check_bundle(
            bundle_from_files(files), policy=files["policy"], signature_check=pool
        )
    assert pooled == serial
