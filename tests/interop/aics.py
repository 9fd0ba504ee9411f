"""The independent C2SP implementation the interop tests run against: aics-witness and aics-tlog.

They need Python ≥ 3.12 and are never imported by exam-integrity: ``make interop`` installs them
into ``.venv-interop`` (pinned by hash, ``tests/interop/aics-requirements.txt``), and the tests
run them as separate processes — a witness server, and scripts that use their log-side client.
``EXAM_INTEROP_PYTHON`` may name another interpreter that has them; without one the interop
tests are skipped and say why.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ENV = "EXAM_INTEROP_PYTHON"
STARTUP_S = 20.0


def interop_python() -> Path | None:
    """The interpreter that has aics-witness and aics-tlog, or None."""
    named = os.environ.get(ENV)
    candidates = [Path(named)] if named else [REPO / ".venv-interop" / "bin" / "python"]
    for python in candidates:
        if not python.exists():
            continue
        probe = subprocess.run(
            [str(python), "-c", "import aics_witness, aics_tlog"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return python
    return None


def require_interop_python() -> Path:
    python = interop_python()
    if python is None:
        pytest.skip(
            f"aics-witness 0.1.0 / aics-tlog 0.2.1 (Python >= 3.12) not installed: run "
            f"`make interop`, or set {ENV} to an interpreter that has them"
        )
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the server process answers ``GET /healthz`` with 200.

    Raises:
        RuntimeError: the process exited, or did not answer within ``STARTUP_S`` (with its log).
    """
    deadline = time.monotonic() + STARTUP_S
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.05)


@dataclass(frozen=True)
class AicsWitness:
    url: str
    vkey: str
    name: str


def _cli(python: Path, config: Path, *args: str) -> str:
    env = {**os.environ, "AICS_WITNESS_CONFIG": str(config)}
    done = subprocess.run(
        [str(python), "-m", "aics_witness", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"aics-witness {args[0]} failed: {done.stderr}")
    return done.stdout


@contextmanager
def aics_witness(
    python: Path, folder: Path, logs: dict[str, str], name: str = "aics.example/w1"
) -> Iterator[AicsWitness]:
    """An aics-witness server on loopback that trusts ``logs`` (origin → vkey)."""
    config = folder / "witness.json"
    port = free_port()
    out = _cli(python, config, "init", "--name", name, "--listen", f"127.0.0.1:{port}")
    vkey = next(w for w in out.split() if w.startswith(name + "+"))
    for origin, log_vkey in logs.items():
        _cli(python, config, "add-log", "--origin", origin, "--vkey", log_vkey)
    log_file = (folder / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(python), "-m", "aics_witness", "serve"],
        env={**os.environ, "AICS_WITNESS_CONFIG": str(config)},
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, server, folder / "serve.log")
        yield AicsWitness(url, vkey, name)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log_file.close()


def run_script(python: Path, script: str, payload: Mapping[str, object]) -> dict[str, object]:
    """Run ``script`` (a file in this folder) under the interop interpreter with a JSON payload
    on stdin; return its JSON answer."""
    done = subprocess.run(
        [str(python), str(Path(__file__).with_name(script))],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} failed: {done.stderr}")
    answer: dict[str, object] = json.loads(done.stdout)
    return answer
