"""``examctl log append`` in a child process, for the tests that run writers side by side or
kill one mid-append: a separate process is the only honest way to test those."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def start_appender(
    centre_dir: Path, count: int, *, actor: str | None = None, keep_stderr: bool = True
) -> subprocess.Popen[str]:
    """Start appending ``count`` demo events to the centre's log; stdout carries one published
    index a line.  ``keep_stderr=False`` discards the error stream (a killed child's is noise).
    """
    command = [sys.executable, "-m", "api.cli.main", "log", "append", "--dir", str(centre_dir)]
    command += ["--count", str(count)]
    if actor is not None:
        command += ["--actor", actor]
    return subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if keep_stderr else subprocess.DEVNULL,
        text=True,
    )
