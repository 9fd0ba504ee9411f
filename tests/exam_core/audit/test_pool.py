"""Signature checks shared with worker processes give the same audit as checks in one process."""

from __future__ import annotations

import base64
import multiprocessing
import os
from typing import get_args

import pytest

from exam_core.audit import pool as audit_pool
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.chunk_sources import ChunkSource
from exam_core.audit.pool import ProcessSignatureCheck, StartMethod
from exam_core.audit.reader import bundle_from_files
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer, key_id
from tests.exam_core.audit.bundle_factory import ORIGIN, LogBuilder, demo_log

START_METHODS: tuple[StartMethod, ...] = get_args(StartMethod)


def _tampered() -> dict[str, bytes]:
    log = demo_log(60, checkpoint_every=25)
    impostor = Ed25519Signer.from_seed(f"{ORIGIN}/demo/d1", bytes(range(32)))
    log.append_bytes(
        log.entries[10].replace(b'"n":', b'"n":1')  # text changed, signature kept
    )
    log.append(impostor, "demo.event", n=7)  # a key of a registered name, but not registered
    log.append_bytes(log.entries[12].replace("—".encode(), b"-"))  # no signature line
    log.checkpoint()
    return log.files()


def _serial(files: dict[str, bytes]) -> object:
    report = check_bundle(bundle_from_files(files))
    assert [(f.code, f.index) for f in report.errors] == [
        ("bad_signature", 60),
        ("bad_signature", 61),
        ("malformed_note", 62),
        ("replay_stopped", 62),
    ]
    return report


@pytest.mark.parametrize("start_method", START_METHODS)
@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_worker_processes_agree_with_one_process(start_method: StartMethod, chunk: int) -> None:
    files = _tampered()
    serial = _serial(files)
    with ProcessSignatureCheck(workers=2, chunk=chunk, start_method=start_method) as pool:
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert pooled == serial
    assert pool.handed_back == 0
    assert not multiprocessing.active_children()


def test_the_ordered_pass_verifies_chunks_itself_rather_than_wait() -> None:
    files = _tampered()
    serial = _serial(files)
    with ProcessSignatureCheck(workers=1, chunk=4, start_method="spawn") as pool:
        # A spawned worker is still starting its interpreter when the ordered pass asks for
        # the first chunks, so this process verifies them itself; the findings are the same.
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert pooled == serial
    assert pool.taken_back > 0


def _dies_holding_a_chunk(number: int, source: ChunkSource, board: audit_pool.ChunkBoard) -> None:
    """Claim the last chunk, the one the ordered pass reaches last, and die holding it."""
    assert isinstance(board, audit_pool.ChunkBoard)
    del source
    with board.changed:
        board.claim(board.chunks - 1, audit_pool.WORKER + number)
    os._exit(3)  # a worker killed while it holds a chunk


def test_a_worker_that_dies_hands_its_chunk_back() -> None:
    files = _tampered()
    serial = _serial(files)
    handed_back = []
    # The hand-back needs the worker to claim a chunk before the ordered pass takes them all;
    # on a loaded machine the forked worker can start that late, so a few tries are allowed.
    # Every try must give the serial audit's findings.
    for _ in range(5):
        with ProcessSignatureCheck(
            workers=1, chunk=1, start_method="fork", worker=_dies_holding_a_chunk
        ) as pool:
            pooled = check_bundle(bundle_from_files(files), signature_check=pool)
        assert pooled == serial
        handed_back.append(pool.handed_back)
        if pool.handed_back:
            break
    assert handed_back[-1] == 1, handed_back


@pytest.mark.parametrize("start_method", START_METHODS)
def test_workers_stop_when_the_audit_stops_early(start_method: StartMethod) -> None:
    entries = demo_log(3000, checkpoint_every=1000).entries
    pool = ProcessSignatureCheck(workers=1, chunk=16, start_method=start_method)
    with pytest.raises(KeyboardInterrupt), pool:  # noqa: PT012 - interrupted mid-way
        answers = pool(entries, {})
        next(answers)
        raise KeyboardInterrupt
    assert not multiprocessing.active_children()


def test_no_entries_start_no_worker() -> None:
    with ProcessSignatureCheck(workers=2) as pool:
        assert list(pool([], {})) == []
        assert not multiprocessing.active_children()


def test_unregistered_keys_verify_nothing() -> None:
    entries = demo_log(40).entries
    with ProcessSignatureCheck(workers=1, chunk=5) as pool:
        assert list(pool(entries, {})) == [None] * len(entries)


def _audited_in_one_process_and_with_a_worker(
    log: LogBuilder, chunk: int
) -> tuple[AuditReport, AuditReport]:
    """``log``, checkpointed now, audited with its policy pinned: in one process, then with one
    worker process verifying chunks of ``chunk`` entries."""
    log.checkpoint()
    files = log.files()
    serial = check_bundle(bundle_from_files(files), policy=files["policy"])
    with ProcessSignatureCheck(workers=1, chunk=chunk) as pool:
        pooled = check_bundle(
            bundle_from_files(files), policy=files["policy"], signature_check=pool
        )
    return serial, pooled


@pytest.mark.parametrize("sigtype", [0x02, 0x04, 0xFF])
def test_a_registration_of_another_key_type_is_a_finding_in_every_process(sigtype: int) -> None:
    """A key of another signature type, of any length, cannot verify an entry: the pre-scan
    hands no worker such a key (which could not be made a verifier), and the registry refuses
    its registration in order, as without workers."""
    log = LogBuilder()
    demo = log.key("d1", "demo")
    name = f"{log.origin}/demo/other"
    raw = bytes([sigtype]) * 300 if sigtype != 0x04 else b"\x07" * 32
    encoded = base64.b64encode(bytes([sigtype]) + raw).decode()
    vkey = f"{name}+{key_id(name, sigtype, raw):08x}+{encoded}"
    at = log.append(log.admin, "key.registered", name=name, vkey=vkey, role="demo")
    for n in range(40):
        log.append(demo, "demo.event", n=n)
    serial, pooled = _audited_in_one_process_and_with_a_worker(log, chunk=8)
    assert [(f.index, f.code) for f in pooled.findings] == [(at, "schema")]
    assert pooled.findings == serial.findings


def test_an_entry_signed_by_a_refused_second_key_of_a_name_is_the_same_finding() -> None:
    """A second key registered under a name already registered is refused (``key_exists``),
    but the pre-scan hands it to the workers, who verify the entries it signs with it: the
    registry then refuses them with the very finding it gives without workers."""
    log = LogBuilder()
    demo = log.key("d1", "demo")
    second = Ed25519Signer.from_seed(demo.name, bytes(range(32)))
    refused = log.append(log.admin, "key.registered", name=demo.name, vkey=second.vkey, role="demo")
    log.append(demo, "demo.event", n=0)
    signed = log.append(second, "demo.event", n=1)
    serial, pooled = _audited_in_one_process_and_with_a_worker(log, chunk=2)
    assert [(f.index, f.code) for f in serial.errors] == [
        (refused, "key_exists"),
        (signed, "bad_signature"),
    ]
    assert pooled.findings == serial.findings


def test_a_pool_is_used_as_a_context_manager() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        ProcessSignatureCheck(workers=1)([], {})
    with pytest.raises(RuntimeError):
        ProcessSignatureCheck(workers=0)
    with pytest.raises(RuntimeError):
        ProcessSignatureCheck(workers=1, chunk=0)


def _refused_by_order() -> dict[str, bytes]:
    """Entries each well formed and well signed, refused only by what came before them (or by
    a rule a worker checks: the log, the schema), among plain entries that workers prove."""
    log = demo_log(40, checkpoint_every=20)
    signer = log.key("late", "demo")
    for n in range(30):
        log.append(signer, "demo.event", n=n)
    log.append_bytes(log.entries[-5])  # a replay: bad_seq
    log.append_bytes(make_entry(signer, log.event(signer, "demo.event", n=1) | {"log": "x/y"}))
    log.append_bytes(make_entry(signer, log.event(signer, "demo.event", n=1, extra=2)))
    log.event(signer, "demo.event")  # a seq skipped: the next one is a gap
    log.append(signer, "demo.event", n=2)
    log.append(log.admin, "key.revoked", name=signer.name, reason="lost")
    log.append(signer, "demo.event", n=3)
    log.checkpoint()
    return log.files()


@pytest.mark.parametrize("chunk", [1, 8, 512])
def test_proven_entries_are_refused_as_the_full_check_refuses_them(chunk: int) -> None:
    files = _refused_by_order()
    serial = check_bundle(bundle_from_files(files))
    assert [f.code for f in serial.errors] == [
        "bad_seq",
        "wrong_log",
        "schema",
        "bad_seq",
        "revoked_key",
    ]
    with ProcessSignatureCheck(workers=1, chunk=chunk, start_method="fork") as pool:
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert pooled == serial
