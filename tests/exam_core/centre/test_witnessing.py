"""A centre witnessed by a running monitor: cosigned checkpoints, receipts, exports, outages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.monitor.app import create_app
from api.monitor.server import BackgroundServer
from exam_core.audit.check import check_bundle
from exam_core.audit.reader import read_bundle
from exam_core.centre.centre import Centre
from exam_core.centre.export import export_bundle
from exam_core.centre.witness_http import WitnessTransport, WitnessUnreachableError
from exam_core.errors import CheckpointError, KeyFormatError, StoreError
from exam_core.log.cosignature import verified_witnesses
from exam_core.log.schemas.types import DEMO
from exam_core.log.tlog_proof import verify_receipt
from exam_core.log.tlog_witness import add_checkpoint_body
from exam_core.monitoring.home import Monitor, create_monitor, open_monitor
from tests.interop.aics import free_port

ORIGIN = "exam.example/c/370100-01"


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[Monitor]:
    create_monitor(tmp_path / "monitor", "monitor.example/m1")
    with open_monitor(tmp_path / "monitor") as m:
        yield m


def witnessed(centre: Centre, monitor: Monitor, url: str, quorum: int | None = None) -> Centre:
    """``centre`` reopened with ``monitor`` as its witness (and its log watched there)."""
    monitor.add_log(centre.log_vkey, None, 0)
    centre.add_witness(monitor.witness.vkey, url, quorum)
    root = centre.root
    centre.close()
    return Centre.open(root, max_age_ms=5)


def append(centre: Centre, count: int) -> int:
    signer = centre.register_key("demo/w", DEMO) if count else centre.admin()
    last = -1
    for n in range(count):
        last = centre.append(signer, "demo.event", {"n": n})
    return last


def test_receipts_and_exports_carry_the_witness_cosignature(
    centre: Centre, monitor: Monitor, tmp_path: Path
) -> None:
    with BackgroundServer(create_app(monitor)) as server:
        centre = witnessed(centre, monitor, server.url)
        try:
            last = append(centre, 5)
            receipt = centre.wait_receipt(last, timeout=30)
            verify_receipt(receipt, centre.store.entry(last), centre.policy())
            summary = export_bundle(centre, tmp_path / "bundle", wait_witnessed_s=30)
        finally:
            centre.close()
    report = check_bundle(read_bundle(summary.path))
    assert report.ok, report.errors
    newest = (summary.path / "checkpoint").read_bytes()
    _, names = centre.policy().verify_checkpoint(newest)
    assert names == (monitor.witness.name,)
    record = monitor.store.witness_state(ORIGIN)
    assert record is not None
    assert record.size == summary.tree_size


def test_sequencing_goes_on_while_the_witness_is_away_and_catches_up(
    centre: Centre, monitor: Monitor, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    centre = witnessed(centre, monitor, url)
    try:
        # The witness is down: appends are published at once all the same.
        last = append(centre, 20)
        assert centre.sequencer.published_size() == last + 1
        assert centre.witnessing.wait_witnessed(1, 0.5) is None
        with pytest.raises(StoreError, match="witness quorum"):
            centre.wait_receipt(last, timeout=0.2)
        (status,) = centre.witnessing.status()
        assert status.cosigned_size is None
        assert status.last_error is not None
        # An export now has an unwitnessed newest checkpoint, and the audit says so.
        early = export_bundle(centre, tmp_path / "early")
        codes = {f.code for f in check_bundle(read_bundle(early.path)).errors}
        assert codes == {"checkpoint_quorum"}
        with BackgroundServer(create_app(monitor), port=port):
            centre.append(centre.signer("demo/w"), "demo.event", {"n": 99})
            receipt = centre.wait_receipt(last, timeout=30)
            verify_receipt(receipt, centre.store.entry(last), centre.policy())
            late = export_bundle(centre, tmp_path / "late", wait_witnessed_s=30)
            published = centre.store.checkpoint_sizes()
    finally:
        centre.close()
    report = check_bundle(read_bundle(late.path))
    assert report.ok, report.errors
    # The checkpoints published while the witness was away are not listed; the newest is.
    listed = sorted((late.path / "checkpoints").iterdir())
    assert 1 <= len(listed) < len(published)
    assert listed[-1].read_bytes() == (late.path / "checkpoint").read_bytes()


def test_a_witness_ahead_of_this_process_is_followed_after_its_409(
    centre: Centre, monitor: Monitor, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    centre = witnessed(centre, monitor, url)
    try:
        append(centre, 3)
        # Another process of the centre fed the witness the newest checkpoint meanwhile.
        newest = centre.store.latest_checkpoint()
        assert newest is not None
        monitor.witness.add_checkpoint(add_checkpoint_body(0, [], newest))
        with BackgroundServer(create_app(monitor), port=port):
            centre.append(centre.signer("demo/w"), "demo.event", {"n": 3})
            found = centre.witnessing.wait_witnessed(centre.store.size(), 30)
    finally:
        centre.close()
    assert found is not None
    _, names = verified_witnesses(
        found, centre.policy().log_verifiers, centre.policy().witness_verifiers.values()
    )
    assert names == (monitor.witness.name,)


def test_a_witness_that_refuses_is_never_counted(
    centre: Centre, monitor: Monitor, tmp_path: Path
) -> None:
    # The monitor does not watch this log: every request is refused with 404.
    with BackgroundServer(create_app(monitor)) as server:
        centre.add_witness(monitor.witness.vkey, server.url)
        root = centre.root
        centre.close()
        centre = Centre.open(root, max_age_ms=5)
        try:
            append(centre, 2)
            assert centre.witnessing.wait_witnessed(1, 1.0) is None
            deadline = time.monotonic() + 10
            while centre.witnessing.status()[0].last_error is None:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert "404" in (centre.witnessing.status()[0].last_error or "")
            assert centre.store.cosignatures() == {}
        finally:
            centre.close()


def test_naming_witnesses_in_the_policy(centre: Centre, monitor: Monitor) -> None:
    other = create_monitor(centre.root.parent / "m2", "other.example/m2")
    with open_monitor(centre.root.parent / "m2") as second:
        policy = centre.add_witness(monitor.witness.vkey, "http://127.0.0.1:1/")
        assert (policy.quorum, policy.groups[0].k) == ("witnesses", 1)
        policy = centre.add_witness(second.witness.vkey, "https://w2.example/prefix")
        assert policy.groups[0].k == 2  # every witness named, by default
        assert [w.url for w in policy.witnesses] == [
            "http://127.0.0.1:1",
            "https://w2.example/prefix",
        ]
        with pytest.raises(CheckpointError):
            centre.add_witness(second.witness.vkey, "https://again.example")
        with pytest.raises(CheckpointError, match="quorum"):
            centre.add_witness(monitor.mirror_vkey, "https://m.example", quorum=4)
    assert other.name == "other.example/m2"
    with pytest.raises(KeyFormatError):
        centre.add_witness(centre.log_vkey, "https://x.example")
    for url in ("ftp://x.example", "http://a..b/", f"https://{'a' * 64}.example", "http://ü..b"):
        with pytest.raises(StoreError, match="URL"):
            centre.add_witness(monitor.mirror_vkey, url)
    # What was refused left centre.json as it was; it reopens with the two witnesses.
    root = centre.root
    centre.close()
    with Centre.open(root) as again:
        assert len(again.policy().witnesses) == 2


@pytest.mark.parametrize("url", ["http://a..b", f"http://{'a' * 64}.example", "http://ü..b"])
def test_a_witness_url_whose_host_is_no_name_is_unreachable_not_a_crash(url: str) -> None:
    # httpx raises InvalidURL (no HTTPError) for the last and passes on the resolver's
    # UnicodeError for the others; either would have ended the witnessing thread.
    transport = WitnessTransport(url)
    try:
        with pytest.raises(WitnessUnreachableError, match=r"InvalidURL|UnicodeError"):
            transport.add_checkpoint(b"old 0\n")
    finally:
        transport.close()
