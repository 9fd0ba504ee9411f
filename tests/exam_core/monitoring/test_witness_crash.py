"""SIGKILL the witness while it cosigns: what it answered is durable, and it goes on from there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from exam_core.errors import SizeConflictError
from exam_core.monitoring.home import Monitor
from tests.exam_core.monitoring.signed_tree import SignedTree

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.slow
@pytest.mark.parametrize("answers_before_kill", [1, 7, 25])
def test_a_killed_witness_keeps_every_cosignature_it_gave(
    monitor_dir: Path,
    open_again: Callable[[], Monitor],
    monitor: Monitor,
    answers_before_kill: int,
) -> None:
    feeder = subprocess.Popen(
        [sys.executable, "-m", "tests.exam_core.monitoring.feed_witness", str(monitor_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert feeder.stdout is not None
    answered = [int(feeder.stdout.readline()) for _ in range(answers_before_kill)]
    os.kill(feeder.pid, signal.SIGKILL)
    feeder.wait()
    feeder.stdout.close()
    monitor.close()

    again = open_again()
    tree = SignedTree.new().grow(answered[-1] + 100)
    record = again.store.witness_state(tree.origin)
    assert record is not None
    # Commit before answer: every size answered is durable; the kill may have come after a
    # commit whose answer was never printed, but never before the state it answered.
    assert record.size >= answered[-1]
    assert record.root_hash == tree.root(record.size)
    # The log goes on with the spec's retry: its old size is stale, 409 tells it the new one.
    with pytest.raises(SizeConflictError) as caught:
        again.witness.add_checkpoint(tree.request(answered[-1] - 1))
    assert caught.value.size == record.size
    again.witness.add_checkpoint(tree.request(record.size))
    after = again.store.witness_state(tree.origin)
    assert after is not None
    assert after.size == answered[-1] + 100
