"""The centre's HTTP service as a process of its own, for the demonstration.

The demonstration runs the centre the way a centre runs it — ``examctl serve`` in its own
process, on a loopback port — and talks to it only over HTTP.  ``ServiceProcess`` starts it,
reads the one line naming the URL it serves, and stops it with SIGTERM (a clean stop: the
sequencer publishes what it took, then the centre closes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from exam_core.errors import StoreError

STOP_TIMEOUT_S = 60


def examctl_command(*args: str) -> list[str]:
    """``examctl ARGS`` as this interpreter runs it."""
    return [sys.executable, "-m", "api.cli.main", *args]


def examctl_env() -> dict[str, str]:
    """The environment of an ``examctl`` child: this checkout first on its path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else f"{root}{os.pathsep}{path}"}


def run_examctl(*args: str) -> str:
    """Run one ``examctl`` command to its end; what it printed.

    Raises:
        StoreError: it failed (its message is in the error).
    """
    # The command is this interpreter running examctl on arguments the demonstration chose.
    done = subprocess.run(  # noqa: S603
        examctl_command(*args),
        capture_output=True,
        env=examctl_env(),
        text=True,
        timeout=STOP_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise StoreError(f"examctl {args[0]} {args[1]} failed: {done.stderr.strip()}")
    return done.stdout


class ServiceProcess:
    """A running ``examctl serve --dir DIR --port 0``; ``url`` is where it answers."""

    def __init__(self, centre_dir: Path, *extra: str) -> None:
        command = examctl_command("serve", "--dir", str(centre_dir), "--port", "0", *extra)
        # The command is this interpreter running examctl on a directory the caller chose.
        self.process = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=examctl_env(), text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("serving "):
            self.process.kill()
            _, err = self.process.communicate(timeout=STOP_TIMEOUT_S)
            raise StoreError(f"examctl serve did not start: {line.strip()} {err.strip()}")
        self.url = line.split(" on ", 1)[1].strip()

    def stop(self) -> int:
        """SIGTERM, then wait; the exit code.

        Raises:
            StoreError: the service did not stop cleanly.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=STOP_TIMEOUT_S)
        if self.process.returncode != 0:
            raise StoreError(f"examctl serve ended with {self.process.returncode}: {err.strip()}")
        return self.process.returncode


__all__ = ["ServiceProcess", "examctl_command", "examctl_env", "run_examctl"]
