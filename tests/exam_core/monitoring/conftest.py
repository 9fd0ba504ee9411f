"""A monitoring centre on a real, migrated database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from exam_core.monitoring.home import Monitor, create_monitor, open_monitor
from tests.exam_core.monitoring.signed_tree import SignedTree

MONITOR_NAME = "monitor.example/m1"


class SecondsClock:
    """A clock the test moves by hand (POSIX seconds)."""

    def __init__(self, now: int = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> SecondsClock:
    return SecondsClock()


@pytest.fixture
def monitor_dir(db_url: str, tmp_path: Path) -> Path:
    root = tmp_path / "monitor"
    create_monitor(root, MONITOR_NAME, database_url=db_url)
    return root


@pytest.fixture
def open_again(monitor_dir: Path, clock: SecondsClock) -> Iterator[Callable[[], Monitor]]:
    """Open the monitor (again): each call is a fresh process's view of the same directory."""
    opened: list[Monitor] = []

    def reopen() -> Monitor:
        m = open_monitor(monitor_dir, clock_s=clock, clock_ms=lambda: clock.now * 1000)
        opened.append(m)
        return m

    yield reopen
    for m in opened:
        m.close()


@pytest.fixture
def tree() -> SignedTree:
    return SignedTree.new().grow(10)


@pytest.fixture
def monitor(open_again: Callable[[], Monitor], tree: SignedTree) -> Monitor:
    m = open_again()
    m.add_log(tree.vkey, "http://127.0.0.1:1/log", 0)
    return m
