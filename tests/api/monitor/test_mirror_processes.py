"""The mirror as processes: killed with SIGKILL in the middle of a pull, and two sharing logs.

``examctl monitor mirror`` runs in a child process against logs served by uvicorn in this one,
which counts every request: after a kill, the restarted mirror fetches nothing it had committed
and keeps every finding it had recorded; two mirrors on one PostgreSQL database split the logs
between them through the row locks, and no log is pulled twice.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api.monitor.server import BackgroundServer
from exam_core.db import make_engine
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.mirror import CHUNK_ENTRIES
from exam_core.monitoring.mirror_store import MirrorStore
from tests.api.monitor.static_log import StaticLogs
from tests.exam_core.audit.bundle_factory import LogBuilder
from tests.exam_core.monitoring.conftest import (  # noqa: F401 - shared fixtures
    clock,
    monitor_dir,
    open_again,
)

REPO = Path(__file__).resolve().parents[3]
KILL_TIMEOUT_S = 120
LOG_SIZE = 3 * CHUNK_ENTRIES - 100
"""Entries of the killed mirror's log: a commit or two, then a partial bundle, still to fetch."""


def examctl_mirror(monitor_dir: Path, *extra: str) -> subprocess.Popen[str]:  # noqa: F811
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "monitor",
            "mirror",
            "--dir",
            str(monitor_dir),
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def logs() -> Iterator[tuple[StaticLogs, str]]:
    static = StaticLogs()
    with BackgroundServer(static.app) as server:
        yield static, server.url


def demo_log(origin: str, entries: int, forged_at: int | None = None) -> LogBuilder:
    log = LogBuilder(origin=origin)
    device = log.key("d1", "demo")
    while len(log.entries) < entries:
        log.append(device, "demo.event", n=len(log.entries))
    if forged_at is not None:
        forged = bytearray(log.entries[forged_at])
        forged[-10] ^= 1
        log.entries[forged_at] = bytes(forged)
    return log


@pytest.mark.slow
def test_a_killed_mirror_resumes_without_fetching_what_it_committed(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    db_url: str,
) -> None:
    static, url = logs
    origin = "exam.example/c/370100-01"
    log = demo_log(origin, LOG_SIZE, forged_at=100)
    static.publish("a", log)
    static.bundle_delay_s = 0.1
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"{url}/a", time.time_ns() // 1_000_000)
    store = MirrorStore(make_engine(db_url))
    child = examctl_mirror(monitor_dir)
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while True:
            head = store.head(origin)
            if head is not None and head.entries_size >= CHUNK_ENTRIES:
                break
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the mirror made no progress"
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    head = store.head(origin)
    assert head is not None
    assert CHUNK_ENTRIES <= head.entries_size < LOG_SIZE
    assert head.tree_size == LOG_SIZE
    held = head.entries_size
    findings = [(r.finding.index, r.finding.code) for r in store.findings_after(0)]
    # As the audit says it: the forged entry, and the next one of its actor that follows a gap.
    assert findings == [(100, "bad_signature"), (101, "bad_seq")]
    before = dict(static.requests)

    again = examctl_mirror(monitor_dir, "--once")
    out, err = again.communicate(timeout=KILL_TIMEOUT_S)
    assert again.returncode == 0, err
    assert f"{origin} ok tree={LOG_SIZE} entries={LOG_SIZE}" in out
    fetched = {p: n - before.get(p, 0) for p, n in static.requests.items() if n > before.get(p, 0)}
    bundles = sorted(int(p.split("/")[2].split(".")[0]) for _, p in fetched if "entries" in p)
    # Only the checkpoint and the bundles from the first entry not committed: no tile again.
    assert set(fetched) - {("a", p) for p in fetched_paths(bundles)} == {("a", "checkpoint")}
    assert bundles == list(range(held // 256, -(-LOG_SIZE // 256)))
    assert all(n == 1 for n in fetched.values())
    head = store.head(origin)
    assert head is not None
    assert head.entries_size == LOG_SIZE
    assert head.cosigned is not None
    assert [(r.finding.index, r.finding.code) for r in store.findings_after(0)] == findings
    assert store.entries(origin, 0, LOG_SIZE) == log.entries
    store.engine.dispose()


def fetched_paths(bundles: list[int]) -> list[str]:
    from exam_core.log.tiles import entry_bundle_for  # noqa: PLC0415

    return [entry_bundle_for(n * 256, LOG_SIZE).path for n in bundles]


@pytest.mark.slow
@pytest.mark.postgres
def test_two_mirrors_share_the_logs_and_pull_none_twice(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
    db_url: str,
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("row locks (SKIP LOCKED) are PostgreSQL's; on SQLite one process mirrors")
    static, url = logs
    static.bundle_delay_s = 0.05
    monitor = open_again()
    names = [f"l{i}" for i in range(8)]
    for name in names:
        log = demo_log(f"exam.example/c/{name}", 1200)
        static.publish(name, log)
        monitor.add_log(log.log_key.vkey, f"{url}/{name}", time.time_ns() // 1_000_000)
    children = [examctl_mirror(monitor_dir, "--once") for _ in range(2)]
    outputs = [c.communicate(timeout=KILL_TIMEOUT_S) for c in children]
    assert [c.returncode for c in children] == [0, 0], outputs
    pulled = [[line.split()[0] for line in out.splitlines()] for out, _ in outputs]
    # Each log once, by one process or the other; both processes took some.
    assert sorted(pulled[0] + pulled[1]) == sorted(f"exam.example/c/{n}" for n in names)
    assert all(pulled), pulled
    for name in names:
        assert static.count(name, "checkpoint") == 1
        assert static.count(name, "tile/entries/") == 5  # 1200 entries: 4 full bundles and one
    store = MirrorStore(make_engine(db_url))
    assert all(h.entries_size == 1200 and h.cosigned for h in store.heads())
    store.engine.dispose()


@pytest.mark.slow
def test_monitor_serve_runs_the_mirror_loop_and_serves_its_checkpoint(
    logs: tuple[StaticLogs, str],
    monitor_dir: Path,  # noqa: F811
    open_again: Callable[[], Monitor],  # noqa: F811
) -> None:
    static, url = logs
    log = demo_log("exam.example/c/370100-01", 300)
    static.publish("a", log)
    monitor = open_again()
    monitor.add_log(log.log_key.vkey, f"{url}/a", time.time_ns() // 1_000_000)
    port = _free_port()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "monitor",
            "serve",
            "--dir",
            str(monitor_dir),
            "--port",
            str(port),
            "--mirror-workers",
            "1",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while True:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the served mirror made no progress"
            try:
                logs_held = httpx.get(f"{base}/mirror", timeout=5).json()["logs"]
            except httpx.HTTPError:
                logs_held = []
            if logs_held and logs_held[0]["cosigned_size"] == 300:
                break
            time.sleep(0.1)
        origin_hash = hashlib.sha256(log.origin.encode()).hexdigest()
        note = httpx.get(f"{base}/mirror/{origin_hash}/checkpoint", timeout=5)
        assert note.status_code == 200
        assert note.content.startswith(static.files["a"]["checkpoint"].split(b"\n\n")[0])
        assert httpx.get(f"{base}/mirror/findings", timeout=5).json() == []
    finally:
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
