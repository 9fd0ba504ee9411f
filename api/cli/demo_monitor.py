"""The monitoring centre of the demonstration, as a process of its own.

The demonstration's centre is watched the way a province watches its centres: a monitoring
centre made with ``examctl monitor init`` runs ``examctl monitor serve`` in its own process on
a loopback port, and everything the day needs of it goes over HTTP — the centre sends it each
checkpoint to cosign (tlog-witness), its mirror pulls and verifies the centre's log, and the
allocator draws on its hash-chain beacon.  ``MonitorProcess`` makes it, starts it, and reads
back what it holds: how far it mirrored the log, and its graded warnings
(``examctl monitor warnings --json``); ``monitor_summary`` prints that as the summary's line.

Its two timings are set in ``monitor.json`` for a day that lasts minutes: a beacon round every
``beacon_period_ms`` (the draw waits at most one period past its lead) and a mirror pull every
``mirror_interval_ms``.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.cli.demo_service import STOP_TIMEOUT_S, examctl_command, examctl_env, run_examctl
from exam_core.centre.durable import replace_atomically
from exam_core.errors import StoreError
from exam_core.monitoring.home import CONFIG_FILE, MonitorConfig

NAME = "monitor.example"
"""The provincial monitoring centre's name: its keys are NAME/witness, NAME/mirror, NAME/beacon."""
STARTUP_TIMEOUT_S = 30.0
POLL_S = 0.1
LOG_FILE = "monitor-serve.log"


@dataclass(frozen=True)
class MonitorKeys:
    """The public keys ``examctl monitor init`` printed."""

    witness: str
    mirror: str
    beacon: str


@dataclass(frozen=True)
class MirrorHead:
    """How far the mirror holds one centre's log (``GET /mirror``)."""

    tree_size: int
    entries: int
    cosigned_size: int | None


@dataclass(frozen=True)
class MonitorView:
    """What the monitoring centre holds of the day, for the summary."""

    mirrored: MirrorHead | None
    cosigned: int
    """Checkpoints of the centre its witness cosigned."""
    checkpoints: int
    newest_cosigned: bool
    """Whether the witness cosigned the newest checkpoint (the one the bundle ends with)."""
    findings: Counter[str]
    warnings: Sequence[Mapping[str, Any]]


def monitor_summary(
    view: MonitorView, size: int, dashboard: str, say: Callable[[str], None]
) -> None:
    """Print the line on the monitoring centre: its mirror, its witness, its warnings."""
    held = view.mirrored
    mirror = (
        f"mirrored {held.entries} of {size} entries (tree of {held.tree_size} verified, "
        f"its mirror cosigned {held.cosigned_size or 0})"
        if held is not None
        else f"mirrored none of {size} entries yet"
    )
    levels = Counter(str(w["level"]) for w in view.warnings)
    warned = ", ".join(f"{level} ×{n}" for level, n in sorted(levels.items())) or "none"
    found = ", ".join(f"{code} ×{n}" for code, n in sorted(view.findings.items())) or "none"
    newest = "the newest among them" if view.newest_cosigned else "not the newest"
    say(
        f"  monitor: {mirror}; its witness cosigned {view.cosigned} of the {view.checkpoints} "
        f"checkpoints the centre signed, {newest}; "
        f"mirror findings: {found}; "
        f"warnings it holds: {warned}; "
        f"dashboard {dashboard} (while it ran)"
    )


def _keys(printed: str) -> MonitorKeys:
    found = dict(line.split(" ", 1) for line in printed.splitlines() if " " in line)
    try:
        return MonitorKeys(found["witness"], found["mirror"], found["beacon"])
    except KeyError as e:
        raise StoreError(f"examctl monitor init printed no {e} key") from e


class MonitorProcess:
    """A monitoring centre made in ``directory`` and served by ``examctl monitor serve``."""

    def __init__(self, directory: Path, *, beacon_period_ms: int, mirror_interval_ms: int) -> None:
        """Create the monitoring centre, set its timings and serve it; returns once it answers.

        Raises:
            StoreError: a command failed or the server did not come up.
        """
        self.directory = directory
        self.keys = _keys(run_examctl("monitor", "init", "--dir", str(directory), "--name", NAME))
        config_path = directory / CONFIG_FILE
        config = dataclasses.replace(
            MonitorConfig.from_json(config_path.read_bytes()),
            beacon_period_ms=beacon_period_ms,
            mirror_interval_ms=mirror_interval_ms,
        )
        replace_atomically(config_path, config.to_json())
        self.url = ""
        self._log = (directory / LOG_FILE).open("wb")
        command = examctl_command("monitor", "serve", "--dir", str(directory), "--port", "0")
        # The command is this interpreter running examctl on the directory made just above.
        self.process = subprocess.Popen(  # noqa: S603
            command, stdout=self._log, stderr=subprocess.STDOUT, env=examctl_env()
        )
        self.client = httpx.Client(timeout=10.0)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            self.url = self._wait_url(deadline)
            self.client.base_url = httpx.URL(self.url)
            self._wait_answering(deadline)
        except BaseException:
            self.stop()
            raise

    def _wait_url(self, deadline: float) -> str:
        """The URL the monitor printed once its socket was bound (``--port 0``: a port the OS
        chose, so no other process can take it between choosing and binding).

        Raises:
            StoreError: the monitor ended, or printed no URL before ``deadline``.
        """
        while True:
            if self.process.poll() is not None:
                raise StoreError(f"examctl monitor serve ended: {self._log_tail()}")
            for line in (self.directory / LOG_FILE).read_text(errors="replace").splitlines():
                if line.startswith(f"monitoring centre {NAME} on "):
                    return line.rsplit(" on ", 1)[1].strip()
            if time.monotonic() > deadline:
                raise StoreError("examctl monitor serve printed no URL")
            time.sleep(POLL_S)

    def _wait_answering(self, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                raise StoreError(f"examctl monitor serve ended: {self._log_tail()}")
            try:
                if self.client.get("/beacon").status_code == httpx.codes.OK:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StoreError(f"examctl monitor serve did not answer on {self.url}")
            time.sleep(POLL_S)

    def _log_tail(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return (self.directory / LOG_FILE).read_text(errors="replace")[-600:].strip()

    def add_centre(self, url: str, log_vkey: str) -> None:
        """Watch the centre served at ``url`` (``examctl monitor add-centre``).

        Raises:
            StoreError: the command failed.
        """
        run_examctl("monitor", "add-centre", "--dir", str(self.directory), url, log_vkey)

    def mirrored(self, origin: str) -> MirrorHead | None:
        """How far the mirror holds ``origin``; None before its first pull.

        Raises:
            httpx.HTTPError: the monitor did not answer.
        """
        answer = self.client.get("/mirror")
        answer.raise_for_status()
        for log in answer.json()["logs"]:
            if log["origin"] == origin:
                return MirrorHead(int(log["tree_size"]), int(log["entries"]), log["cosigned_size"])
        return None

    def wait_mirrored(self, origin: str, size: int, timeout_s: float) -> MirrorHead | None:
        """Wait until the mirror verified and cosigned ``size`` entries of ``origin`` (or the
        time is up); how far it holds the log then."""
        deadline = time.monotonic() + timeout_s
        while True:
            head = self.mirrored(origin)
            done = head is not None and head.entries >= size and (head.cosigned_size or 0) >= size
            if done or time.monotonic() > deadline:
                return head
            time.sleep(POLL_S * 5)

    def findings(self) -> Counter[str]:
        """The mirror's findings, counted by code (``GET /mirror/findings``).

        Raises:
            httpx.HTTPError: the monitor did not answer.
        """
        answer = self.client.get("/mirror/findings")
        answer.raise_for_status()
        return Counter(str(f["code"]) for f in answer.json())

    def warnings(self) -> list[dict[str, Any]]:
        """The graded warnings it holds (``examctl monitor warnings --json``).

        Raises:
            StoreError: the command failed.
        """
        printed = run_examctl("monitor", "warnings", "--dir", str(self.directory), "--json")
        warnings: list[dict[str, Any]] = json.loads(printed)["warnings"]
        return warnings

    def stop(self) -> int:
        """SIGTERM, then wait; the exit code.

        Raises:
            StoreError: the monitor did not stop cleanly.
        """
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log.close()
        # uvicorn shuts down cleanly on SIGTERM, then ends by the same signal.
        if code not in (0, -signal.SIGTERM):
            raise StoreError(f"examctl monitor serve ended with {code}: {self._log_tail()}")
        return code


__all__ = [
    "NAME",
    "MirrorHead",
    "MonitorKeys",
    "MonitorProcess",
    "MonitorView",
    "monitor_summary",
]
