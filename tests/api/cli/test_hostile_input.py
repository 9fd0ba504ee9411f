"""Hostile files and numbers on the command line: one line on stderr, exit 2, no hang.

Each case is one that ended in a traceback, a hang or unbounded memory: a ``centre.json``
with a batch of 0, files holding integers of 5,000 digits or JSON nested 100,000 deep,
``/dev/zero`` or a FIFO where a file was expected, and counts or durations out of range.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from allocation import ASSIGNMENT_FILE, MANIFEST_FILE, PROOF_FILE
from api.cli.main import main
from exam_core.centre.centre import Centre
from exam_core.errors import InputFileError
from exam_core.input_file import read_input_file, read_json_file

ORIGIN = "exam.example/c/370100-01"
HUGE = "1" * 5_000
DEEP = "[" * 100_000 + "]" * 100_000


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert ": error: " in lines[0]
    return lines[0]


def exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``examctl argv`` in process; usage errors raise SystemExit, the others return."""
    try:
        code = main(argv)
    except SystemExit as stop:
        code = int(stop.code or 0)
    assert code == 2
    return one_line(capsys)


@pytest.fixture(scope="module")
def centre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("centre") / "c"
    assert main(["init", "--dir", str(root), "--origin", ORIGIN]) == 0
    return root


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("alloc") / "a"
    argv = ["alloc", "demo", "--candidates", "30", "--examiners", "8", "--seed", "1"]
    assert main([*argv, "--cap", "5000", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def exam_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("exam") / "e"
    assert main(["score", "simulate", "--subject", "2", "--seed", "1", "--out", str(out)]) == 0
    return out


def _copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for path in src.rglob("*"):
        target = dst / path.relative_to(src)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    return dst


# --- centre.json -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_batch", 0),
        ("max_batch", -1),
        ("max_age_ms", -1),
        ("max_skew_ms", -5),
        ("max_batch", 10**30),
        ("max_batch", 1.5),
        ("max_batch", True),
        ("max_batch", "256"),
    ],
)
def test_centre_config_numbers_out_of_range_are_one_line_errors(
    centre_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
) -> None:
    root = _copy(centre_dir, tmp_path / "c")
    config = json.loads((root / "centre.json").read_text())
    config[field] = value
    (root / "centre.json").write_text(json.dumps(config))
    line = exits_2(capsys, ["log", "append", "--dir", str(root), "--count", "1"])
    assert field in line or "integer" in line


@pytest.mark.parametrize("content", [HUGE, DEEP, '{"version": 1, "version": 1}', "\xff"])
def test_centre_config_that_is_not_strict_json_is_refused(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    root = _copy(centre_dir, tmp_path / "c")
    (root / "centre.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    assert "centre.json" in exits_2(
        capsys, ["keys", "new", "--dir", str(root), "--role", "demo", "--name", "demo/x"]
    )


# --- alloc verify --------------------------------------------------------------------------


@pytest.mark.parametrize("name", [MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE])
def test_alloc_verify_with_a_5000_digit_integer_in_any_file_is_a_finding(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    folder = _copy(published, tmp_path / "a")
    doc = json.loads((folder / name).read_bytes())
    text = (folder / name).read_text()
    if name == PROOF_FILE:
        forged = text.replace(f'"round":{doc["beacon"]["round"]}', f'"round":{HUGE}')
    elif name == MANIFEST_FILE:
        forged = text.replace(f'"scale":{doc["scale"]}', f'"scale":{HUGE}')
    else:
        forged = text[:-1] + f',"z":{HUGE}}}'
    assert forged != text
    (folder / name).write_text(forged)
    assert main(["alloc", "verify", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "outside" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", [MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE])
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "directory", "oversized"])
def test_alloc_verify_refuses_files_that_are_not_bounded_regular_files(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, kind: str
) -> None:
    folder = _copy(published, tmp_path / "a")
    victim = folder / name
    victim.unlink()
    if kind == "/dev/zero":
        victim.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(victim)
    elif kind == "directory":
        victim.mkdir()
    else:
        with victim.open("wb") as f:
            f.truncate(64 * 1024 * 1024)
    line = exits_2(capsys, ["alloc", "verify", str(folder)])
    assert {"/dev/zero": "a device", "fifo": "a FIFO", "directory": "a directory"}.get(
        kind, "the limit is"
    ) in line


# --- score replay, gateway --config, emulate --scenario -----------------------------------


@pytest.mark.parametrize(
    "content",
    [DEEP, f'{{"exam": {HUGE}}}', "[1e999]", '{"a": NaN}', "\ufeff{}", "fifo", "/dev/zero"],
)
def test_score_replay_of_a_hostile_exam_file_is_a_one_line_error(
    exam_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    folder = _copy(exam_dir, tmp_path / "e")
    _plant(folder / "exam.json", content)
    exits_2(capsys, ["score", "replay", str(folder)])


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "oversized"])
def test_score_replay_refuses_a_chunk_that_is_not_a_bounded_regular_file(
    exam_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    folder = _copy(exam_dir, tmp_path / "e")
    chunk = folder / "telemetry" / "chunk-0000.bin"
    if kind == "oversized":
        chunk.write_bytes(chunk.read_bytes() * 400)
    else:
        _plant(chunk, kind)
    assert "chunk" in exits_2(capsys, ["score", "replay", str(folder)])


@pytest.mark.parametrize(
    "content", [DEEP, f'{{"key": "g", "poll_ms": {HUGE}}}', '{"poll_ms": 1.5}', "fifo", "/dev/zero"]
)
def test_gateway_config_that_is_hostile_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    config = tmp_path / "gateway.json"
    _plant(config, content)
    line = exits_2(capsys, ["gateway", "--dir", str(tmp_path / "none"), "--config", str(config)])
    assert "gateway configuration" in line


@pytest.mark.parametrize(
    "content",
    [DEEP, f'{{"steps": [{{"at_ms": {HUGE}, "action": "start"}}]}}', "fifo", "/dev/zero"],
)
def test_emulator_scenario_that_is_hostile_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    scenario = tmp_path / "scenario.json"
    _plant(scenario, content)
    argv = ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--scenario", str(scenario)]
    assert "scenario" in exits_2(capsys, [*argv, "--duration-s", "0.01"])


def _plant(path: Path, content: str) -> None:
    path.unlink(missing_ok=True)
    if content == "fifo":
        os.mkfifo(path)
    elif content == "/dev/zero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text(content)


# --- numbers on the command line -----------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["log", "append", "--dir", "x", "--count", str(10**12)],
        ["log", "append", "--dir", "x", "--count", HUGE],
        ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--duration-s", "nan"],
        ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--duration-s", "inf"],
        ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--duration-s", "-1"],
        ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--turnaround-ms", "-5"],
        ["gateway", "--dir", "x", "--config", "y", "--duration-s", "nan"],
        ["gateway", "--dir", "x", "--config", "y", "--cycles", "-1"],
        ["devices", "poll", "--url", "x", "--kind", "jammer", "--count", "0"],
        ["devices", "poll", "--url", "x", "--kind", "jammer", "--once", "--interval-ms", "-1"],
        ["alloc", "demo", "--candidates", HUGE, "--examiners", "3", "--seed", "1", "--out", "x"],
        ["alloc", "demo", "--candidates", "3", "--examiners", "3", "--seed", HUGE, "--out", "x"],
        ["score", "simulate", "--subject", "2", "--seed", "-1", "--out", "x"],
        ["audit", "x", "--jobs", "-3"],
    ],
)
def test_numbers_out_of_range_are_refused_before_any_work(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    line = exits_2(capsys, argv)
    assert "must be" in line
    assert len(line) < 200


def test_emulate_with_a_fault_delay_of_nan_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--faults", "slow=nans"]
    assert "duration" in exits_2(capsys, argv)


# --- the environment -----------------------------------------------------------------------

NOT_UTF8 = b"pass\xffword"
"""A passphrase an operator's shell may hold: Python decodes it with surrogateescape."""


def test_a_passphrase_that_is_not_utf8_is_the_bytes_the_environment_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXAM_TEST_PASSPHRASE", os.fsdecode(NOT_UTF8))
    root = tmp_path / "c"
    argv = ["init", "--dir", str(root), "--origin", ORIGIN, "--passphrase-env"]
    assert main([*argv, "EXAM_TEST_PASSPHRASE"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    Centre.open(root, passphrase=NOT_UTF8).close()


@pytest.mark.parametrize("value", [None, NOT_UTF8])
def test_the_gateway_reads_its_passphrase_as_every_command_does(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: bytes | None,
) -> None:
    if value is not None:
        monkeypatch.setenv("EXAM_TEST_PASSPHRASE", os.fsdecode(value))
    else:
        monkeypatch.delenv("EXAM_TEST_PASSPHRASE", raising=False)
    config = tmp_path / "gateway.json"
    jammer = {"name": "room-1/jammer", "kind": "jammer", "url": "socket://127.0.0.1:9"}
    room = {"room": "room-1", "jammers": {jammer["name"]: [1]}, "canaries": [], "max_age_ms": 2000}
    config.write_text(json.dumps({"key": "gateway/room-1", "devices": [jammer], "rooms": [room]}))
    key = tmp_path / "gateway.pem"
    key.write_bytes(b"not a key")
    argv = ["gateway", "--centre-url", "http://127.0.0.1:9", "--key", str(key), "--cycles", "1"]
    argv += ["--config", str(config), "--passphrase-env", "EXAM_TEST_PASSPHRASE"]
    line = exits_2(capsys, argv)
    assert ("EXAM_TEST_PASSPHRASE" in line) == (value is None)


# --- the reader itself ---------------------------------------------------------------------


def test_the_reader_reads_regular_files_within_their_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_input_file(path, limit=10, what="file") == b"x" * 10
    with pytest.raises(InputFileError, match="10 bytes; the limit is 9"):
        read_input_file(path, limit=9, what="file")
    path.write_text(' {"a": [1, 2]}\n')
    assert read_json_file(path, limit=100, what="file") == {"a": [1, 2]}
    with pytest.raises(InputFileError, match="cannot read file"):
        read_input_file(tmp_path / "missing", limit=9, what="file")


def test_reading_a_fifo_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    # In a child process with a deadline: a reader that blocked on open would hang the suite.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    probe = (
        "import sys\n"
        "from exam_core.input_file import read_input_file\n"
        "from exam_core.errors import InputFileError\n"
        "try:\n"
        f"    read_input_file({str(fifo)!r}, limit=10, what='file')\n"
        "except InputFileError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "is a FIFO; a regular file is expected" in out.stdout
