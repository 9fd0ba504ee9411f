"""The devices group of ``examctl`` given hostile arguments and files: one line on stderr and
exit 2, at once — never a traceback, never a wait on a file that does not end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli.devices import trust_context
from api.cli.main import main
from tests.api.http.test_serve import self_signed

REPO = Path(__file__).resolve().parents[3]
CONFIG = (
    '{"key": "gateway/g1", "rooms": [], "devices": '
    '[{"name": "r/j", "kind": "jammer", "url": "socket://127.0.0.1:9"}]}'
)


def _gateway_with_ca_file(tmp_path: Path, ca_file: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gateway.json"
    config.write_text(CONFIG)
    argv = ["gateway", "--centre-url", "https://127.0.0.1:9", "--key", str(tmp_path / "k.pem")]
    argv += ["--ca-file", str(ca_file), "--config", str(config), "--cycles", "1"]
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


def test_a_ca_file_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    # The path went to OpenSSL as it was, which waited for a writer that never came.
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    done = _gateway_with_ca_file(tmp_path, fifo)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "CA file" in done.stderr
    assert "FIFO" in done.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty"),
        (b"\n \n", "is empty"),
        (bytes(range(256)), "not PEM text"),
        (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "no PEM"),
        (b"a certificate, honestly\n", "no PEM"),
    ],
)
def test_a_ca_file_without_a_certificate_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, says: str
) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(content)
    config = tmp_path / "gateway.json"
    config.write_text(CONFIG)
    argv = ["gateway", "--centre-url", "https://127.0.0.1:9", "--key", str(tmp_path / "k.pem")]
    argv += ["--ca-file", str(ca_file), "--config", str(config), "--cycles", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert says in err


def test_a_pem_certificate_is_trusted_and_nothing_else(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)
    assert trust_context(cert).cert_store_stats()["x509"] == 1


@pytest.mark.parametrize("where", [["--pty", ""], ["--listen", ""]])
def test_emulate_with_an_empty_place_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], where: list[str]
) -> None:
    # An empty --pty was taken for no --pty at all, and the missing --listen was matched as a
    # URL: TypeError, with its traceback.
    assert main(["emulate", "jammer", *where, "--duration-s", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert where[0] in err


@pytest.mark.parametrize("scheme", ["spy://", "SPY://", "loop://", "alt://", "cp2110://"])
def test_a_device_url_of_another_scheme_is_refused_and_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scheme: str
) -> None:
    # spy://…?file=PATH truncated PATH to log the traffic in it, even when the port then
    # failed to open.
    precious = tmp_path / "precious.txt"
    precious.write_text("the only copy")
    url = f"{scheme}socket://127.0.0.1:9?file={precious}"
    assert main(["devices", "poll", "--url", url, "--kind", "jammer", "--once"]) == 2
    config = tmp_path / "gateway.json"
    config.write_text(CONFIG.replace("socket://127.0.0.1:9", url))
    assert main(["gateway", "--dir", str(tmp_path), "--config", str(config), "--cycles", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2
    assert err.count("a port's path or one of socket://, rfc2217://, hwgrep://") == 2
    assert precious.read_text() == "the only copy"
