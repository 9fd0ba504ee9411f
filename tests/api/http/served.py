"""``examctl serve`` as a real process on a loopback port, for the end-to-end tests and benches."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """A running ``examctl serve``; ``url`` is what it printed it serves."""

    def __init__(self, centre_dir: Path, port: int = 0, *extra: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "api.cli.main", "serve", "--dir", str(centre_dir)]
        command += ["--port", str(port), *extra]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("serving "):
            self.process.kill()
            _, err = self.process.communicate(timeout=30)
            raise RuntimeError(f"examctl serve did not start: {line!r} {err}")
        self.url = line.split(" on ", 1)[1].strip()
        self._wait_until_answering()

    def _wait_until_answering(self) -> None:
        host, port = self.url.rsplit("//", 1)[1].rsplit(":", 1)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("examctl serve never answered")

    def stop(self) -> tuple[int, str]:
        """SIGTERM, then wait: the exit code and what it wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        self.process.kill()
        self.process.communicate(timeout=60)
