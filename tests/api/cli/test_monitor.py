"""``examctl monitor`` end to end: a centre witnessed by a running monitor, audited offline.

The monitor runs as its own process (``examctl monitor serve``, uvicorn on loopback); the
centre is driven through the same dispatcher an operator uses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from exam_core.centre.centre import Centre
from exam_core.log.note import parse_vkey
from exam_core.log.policy import parse_policy
from tests.api.cli.test_log import ORIGIN, centre_dir, one_line_error, run
from tests.interop.aics import free_port, wait_until_healthy

__all__ = ["centre_dir"]

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def monitor_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    code, out, _ = run(
        capsys, "monitor", "init", "--dir", str(tmp_path / "m"), "--name", "monitor.example/p1"
    )
    assert code == 0
    keys = dict(line.split(" ", 1) for line in out.splitlines())
    assert sorted(keys) == ["beacon", "mirror", "witness"]
    names = {role: parse_vkey(vkey).name for role, vkey in keys.items()}
    assert names == {r: f"monitor.example/p1/{r}" for r in ("beacon", "mirror", "witness")}
    assert len({parse_vkey(v).public_key for v in keys.values()}) == 3
    return keys


@pytest.fixture
def serving(tmp_path: Path, monitor_keys: dict[str, str]) -> Iterator[str]:
    """``examctl monitor serve --port 0``: the URL it prints names the port the OS bound."""
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", "monitor", "serve", "--dir", str(tmp_path / "m"),
         "--port", "0"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=log,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline().decode()
        assert line.startswith("monitoring centre monitor.example/p1 on http://127.0.0.1:"), line
        url = line.rsplit(" on ", 1)[1].strip()
        assert not url.endswith(":0")
        wait_until_healthy(url, server, tmp_path / "serve.log")
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(timeout=30)
        log.close()
        if server.stdout is not None:
            server.stdout.close()
        assert code == 0, (tmp_path / "serve.log").read_text()


def test_a_centre_witnessed_by_a_running_monitor_passes_the_audit(
    tmp_path: Path,
    centre_dir: Path,
    monitor_keys: dict[str, str],
    serving: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    centre_vkey = json.loads((centre_dir / "centre.json").read_text())["log_vkey"]
    monitor = str(tmp_path / "m")
    assert (
        run(capsys, "monitor", "add-centre", "--dir", monitor, "http://127.0.0.1:1/", centre_vkey)[
            0
        ]
        == 0
    )
    witness = monitor_keys["witness"]
    assert (
        run(
            capsys, "witness", "add", "--dir", str(centre_dir), "--vkey", witness, "--url", serving
        )[0]
        == 0
    )
    assert (
        run(capsys, "log", "append", "--dir", str(centre_dir), "--count", "12", "--quiet")[0] == 0
    )
    bundle = tmp_path / "bundle"
    code, _, err = run(capsys, "log", "export", "--dir", str(centre_dir), "--out", str(bundle))
    assert (code, err) == (0, "")
    pinned = tmp_path / "published-policy"  # what the centre publishes, held by the auditor
    with Centre.open(centre_dir) as centre:
        pinned.write_text(centre.policy_text())
    code, out, _ = run(capsys, "audit", str(bundle), "--policy", str(pinned), "--jobs", "1")
    assert code == 0, out
    assert out.startswith(f"audit OK: log {ORIGIN}")
    policy = parse_policy((bundle / "policy").read_bytes())
    cp, names = policy.verify_checkpoint((bundle / "checkpoint").read_bytes())
    assert names == (parse_vkey(witness).name,)
    assert cp.size == 14  # genesis, the demo key, twelve entries
    assert "/add-checkpoint" in httpx.get(serving + "/openapi.json").json()["paths"]


def test_an_unreachable_witness_leaves_an_export_the_audit_refuses(
    tmp_path: Path,
    centre_dir: Path,
    monitor_keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert (
        run(
            capsys,
            "witness",
            "add",
            "--dir",
            str(centre_dir),
            "--vkey",
            monitor_keys["witness"],
            "--url",
            url,
        )[0]
        == 0
    )
    assert run(capsys, "log", "append", "--dir", str(centre_dir), "--count", "2", "--quiet")[0] == 0
    bundle = tmp_path / "bundle"
    code, _, err = run(
        capsys,
        "log",
        "export",
        "--dir",
        str(centre_dir),
        "--out",
        str(bundle),
        "--wait-witnesses",
        "0.5",
    )
    assert code == 0
    assert "does not carry the witness quorum" in err
    code, out, _ = run(capsys, "audit", str(bundle), "--jobs", "1")
    assert code == 1
    assert "checkpoint_quorum" in out


def test_monitor_commands_refuse_bad_input_in_one_line(
    tmp_path: Path, monitor_keys: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    monitor = str(tmp_path / "m")
    code, _, err = run(capsys, "monitor", "init", "--dir", monitor)
    assert code == 2
    assert "not empty" in one_line_error(err)
    code, _, err = run(
        capsys, "monitor", "add-centre", "--dir", monitor, "http://c.example", "x+y+z"
    )
    assert code == 2
    one_line_error(err)
    for url in ("gopher://c", "http://a..b/", "http://ü..b"):
        code, _, err = run(
            capsys, "monitor", "add-centre", "--dir", monitor, url, monitor_keys["beacon"]
        )
        assert code == 2
        assert "URL" in one_line_error(err)
    code, _, err = run(capsys, "monitor", "serve", "--dir", str(tmp_path / "nothing"))
    assert code == 2
    assert "not a monitor directory" in one_line_error(err)


def test_monitor_serve_on_a_taken_port_refuses_in_one_line(
    tmp_path: Path, serving: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = serving.rsplit(":", 1)[1]
    assert port != "0"
    code, out, err = run(capsys, "monitor", "serve", "--dir", str(tmp_path / "m"), "--port", port)
    assert code == 2
    assert out == ""
    assert f"cannot listen on 127.0.0.1:{port}" in one_line_error(err)
