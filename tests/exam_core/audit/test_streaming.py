"""The audit streams its bundle: entry bundles and tiles are read as each step reaches them.

What the audit keeps must not grow with the number of entries (only with what the replayers
must remember), and a bundle file changed while the audit runs must be a finding, never a
second log that the tree and the registry pass see differently.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import get_args

import pytest

from exam_core.audit.check import check_bundle
from exam_core.audit.entry_bundles import assemble_entries
from exam_core.audit.history import AuditHistory
from exam_core.audit.pool import ProcessSignatureCheck, StartMethod
from exam_core.audit.reader import bundle_from_files, read_bundle
from exam_core.audit.report import FindingLog
from exam_core.audit.signatures import Answer, ProvingKeys
from exam_core.findings import Finding
from exam_core.log.entry import Entry
from exam_core.log.tiles import entry_bundle_path
from tests.exam_core.audit.bundle_factory import demo_log, write_files


def _peak_bytes(root: Path) -> int:
    """Peak Python allocation of auditing the bundle at ``root`` (read included)."""
    tracemalloc.start()
    try:
        report = check_bundle(read_bundle(root))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok, report.errors[:3]
    return peak


def test_the_audits_memory_does_not_grow_with_the_entries(tmp_path: Path) -> None:
    small = write_files(tmp_path / "small", demo_log(1_024, checkpoint_every=500).files())
    large = write_files(tmp_path / "large", demo_log(5_120, checkpoint_every=500).files())
    _peak_bytes(small)  # imports and caches settle before either is measured
    grown = _peak_bytes(large) - _peak_bytes(small)
    # 4,096 more entries of ~280 bytes: holding them, or their leaf hashes and tree levels,
    # would cost over 1.5 MB; the audit keeps 24 bytes an entry (signer and ts) and a hash
    # per 256 leaves.
    assert grown < 4_096 * 100, f"{grown} bytes more for 4,096 more entries"


def test_each_step_reads_the_bundle_files_when_it_reaches_them(tmp_path: Path) -> None:
    log = demo_log(600, checkpoint_every=100)
    root = write_files(tmp_path / "bundle", log.files())
    bundle = read_bundle(root)
    findings = FindingLog(bundle.problems)
    entries = assemble_entries(bundle, findings)
    assert list(entries) == log.entries
    assert entries[250:300] == log.entries[250:300]  # across two bundles
    assert entries[-1] == log.entries[-1]
    # The reader holds no file's bytes: changing one on disk changes what the next read sees.
    path = root / entry_bundle_path(1)
    path.write_bytes(path.read_bytes().replace(b'"n":300', b'"n":301'))
    assert entries[300] == b""
    assert [(f.code, f.index) for f in findings.listed] == [("entry_bundle_changed", 256)]


class _Rewriter:
    """A replayer of ``demo.event`` that, on its first entry, changes or removes the entry
    bundle at ``path``: the bundle changing under a running audit."""

    event_types = frozenset({"demo.event"})
    reads: frozenset[str] = frozenset()

    def __init__(self, path: Path, *, remove: bool) -> None:
        self.path = path
        self.remove = remove
        self.done = False

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        del index, entry, history
        if not self.done:
            self.done = True
            if self.remove:
                self.path.unlink()
            else:
                data = self.path.read_bytes()
                self.path.write_bytes(data.replace(b'"n":600', b'"n":601'))
        return []


@pytest.mark.parametrize("remove", [False, True])
def test_an_entry_bundle_changed_during_the_audit_is_a_finding(
    tmp_path: Path, remove: bool
) -> None:
    log = demo_log(800, checkpoint_every=100)
    root = write_files(tmp_path / "bundle", log.files())
    report = check_bundle(
        read_bundle(root), [_Rewriter(root / entry_bundle_path(2), remove=remove)]
    )
    codes = [(f.code, f.index) for f in report.errors]
    assert codes[0] == ("entry_bundle_changed", 512)
    assert ("replay_stopped", 512) in codes  # its entries read as empty: they parse as nothing
    # The tree was checked on the bundle as first read: no root or tile differs.
    assert not {"checkpoint_root", "entry_mismatch", "leaf_mismatch"} & {c for c, _ in codes}


class _ProvedAhead:
    """A ``ProvingCheck`` that proves every entry when it is started, before the tree is
    checked: the ordered pass then needs none of the bytes of an entry no replayer reads."""

    def __call__(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
    ) -> Iterator[bytes | None]:
        raise AssertionError("the audit asks a ProvingCheck for proofs")

    def prove(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str
    ) -> Iterator[Answer]:
        return iter(ProvingKeys(keys, origin).prove(list(entries)))


@pytest.mark.parametrize("remove", [False, True])
def test_a_bundle_changed_is_found_even_where_no_entry_of_it_is_read(
    tmp_path: Path, remove: bool
) -> None:
    # Every entry of bundle 2 was proven when it was first read; the file then changes before
    # the ordered pass reaches it.  The pass reads none of its entries (no replayer reads
    # demo.event) but holds the file to its first read: the change is a finding, as when the
    # pass read every entry, and the proofs of the bytes first read stand.
    log = demo_log(800, checkpoint_every=100)
    root = write_files(tmp_path / "bundle", log.files())
    rewriter = _Rewriter(root / entry_bundle_path(2), remove=remove)
    rewriter.event_types = frozenset({"key.registered"})  # read at the log's start
    report = check_bundle(read_bundle(root), [rewriter], signature_check=_ProvedAhead())
    assert rewriter.done
    assert [(f.code, f.index) for f in report.errors] == [("entry_bundle_changed", 512)]


@pytest.mark.parametrize("start_method", get_args(StartMethod))
def test_workers_read_their_chunks_from_the_files(
    tmp_path: Path, start_method: StartMethod
) -> None:
    log = demo_log(900, checkpoint_every=300)
    log.append_bytes(log.entries[700].replace(b'"n":', b'"n":1'))  # signature no longer holds
    log.checkpoint()
    files = log.files()
    root = write_files(tmp_path / "bundle", files)
    serial = check_bundle(bundle_from_files(files))
    assert [(f.code, f.index) for f in serial.errors] == [("bad_signature", 900)]
    with ProcessSignatureCheck(workers=2, chunk=64, start_method=start_method) as pool:
        pooled = check_bundle(read_bundle(root), signature_check=pool)
    assert pooled == serial
    assert pool.handed_back == 0
