"""The mirror admits entries its workers proved, and gives the verdicts of the full path.

A proven entry (``exam_core.audit.signatures.Proof``) is admitted by the registry's
order-dependent rules alone, without being parsed in the mirror's process; anything those
rules refuse, and anything not proven, takes the full path (``parse_entry`` and
``admit_in_order``).  The findings must be exactly those of the full path on every entry, with
signatures verified here or in worker processes.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from exam_core.audit.ordered_pass import admit_in_order
from exam_core.audit.report import FindingLog
from exam_core.errors import EntryError
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.registry import KeyRegistry
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.mirror_state import encode_registry
from tests.api.monitor.static_log import StaticLogs
from tests.api.monitor.test_mirror import (  # noqa: F401 - shared fixtures
    ORIGIN,
    Pull,
    client,
    demo_log,
    logs,
    mirrored,
)
from tests.exam_core.audit.bundle_factory import LogBuilder, _seed
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    clock,
    monitor_dir,
    open_again,
)


def faulty_log() -> LogBuilder:
    """700 entries with one of each fault the rules find, spread over three bundles."""
    log = demo_log(40)
    device = Ed25519Signer.from_seed(f"{log.origin}/demo/d1", _seed("d1"))
    tablet = log.key("t1", "tablet")
    doomed = log.key("d2", "demo")
    stranger = Ed25519Signer.from_seed(f"{log.origin}/demo/x9", _seed("x9"))
    smuggled = Ed25519Signer.from_seed(f"{log.origin}/demo/s1", _seed("s1"))
    faults = {
        60: lambda: log.append(tablet, "demo.event", n=1),  # role: proven, refused in order
        90: lambda: log.append(device, "demo.event", n=-1),  # schema: not proven
        120: lambda: log.append_bytes(
            make_entry(device, log.event(device, "demo.event", n=1) | {"log": "other.example/x"})
        ),  # another log: not proven
        150: lambda: log.append(log.admin, "key.revoked", name=doomed.name, reason="lost"),
        151: lambda: log.append(doomed, "demo.event", n=1),  # revoked: proven, refused
        300: lambda: log.append(stranger, "demo.event", n=1),  # unknown key
        330: lambda: log.append(
            device, "key.registered", name=smuggled.name, vkey=smuggled.vkey, role="demo"
        ),  # a key event its role may not sign
        331: lambda: log.append(smuggled, "demo.event", n=1),  # its registration was refused
        400: lambda: log.append_bytes(b"not an entry\n"),  # does not parse
        450: lambda: log.append_bytes(log.entries[420]),  # a replay: bad_seq
    }
    while len(log.entries) < 700:
        fault = faults.get(len(log.entries))
        if fault is not None:
            fault()
        else:
            log.append(device, "demo.event", n=len(log.entries))
    return log


EXPECTED = [
    (60, "role_forbidden"),
    (90, "schema"),
    (91, "bad_seq"),  # the refused entry's seq was not counted
    (120, "wrong_log"),
    (121, "bad_seq"),
    (151, "revoked_key"),
    (300, "unknown_key"),
    (330, "role_forbidden"),
    (331, "unknown_key"),
    (332, "bad_seq"),
    (400, "malformed_note"),
    (450, "bad_seq"),
    (451, "bad_seq"),
]
"""Every fault of ``faulty_log``, by the full path (the rest of the log is admitted)."""


def full_path(entries: list[bytes]) -> tuple[list[tuple[int | None, str, str]], bytes]:
    """The findings of the full path on every entry in order (parse, then the ingest rules),
    and the registry after them, encoded as the mirror stores it."""
    registry, findings = KeyRegistry(ORIGIN), FindingLog()
    refused: dict[str, int] = {}
    for index, data in enumerate(entries):
        try:
            entry = parse_entry(data)
        except EntryError as e:
            findings.add(index, e.code, e.message)
            continue
        admit_in_order(registry, index, entry, None, findings=findings, refused=refused)
    found = sorted((f.index, f.code, f.message) for f in findings.done())
    return found, encode_registry(registry.state())


@pytest.mark.parametrize("workers", [0, 2])
def test_proven_entries_give_the_full_paths_verdicts(
    logs: tuple[StaticLogs, str],  # noqa: F811
    mirrored: tuple[Monitor, Pull],  # noqa: F811
    workers: int,
) -> None:
    static, _ = logs
    monitor, pull = mirrored
    log = faulty_log()
    static.publish("a", log)
    expected, registry = full_path(log.entries)
    assert [(index, code) for index, code, _ in expected] == EXPECTED
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        if workers
        else None
    )
    monitor.mirror.signatures = pool
    try:
        outcome = pull()
    finally:
        if pool is not None:
            pool.shutdown()
    found = sorted((f.finding.index, f.finding.code, f.finding.message) for f in outcome.findings)
    assert found == expected
    assert (outcome.entries_size, outcome.refused) == (700, False)
    assert monitor.mirror.store.entries(ORIGIN, 0, 700) == log.entries
    head = monitor.mirror.store.head(ORIGIN)
    assert head is not None
    assert head.key_registry == registry
