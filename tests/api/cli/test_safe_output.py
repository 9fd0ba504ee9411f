"""Commands that write, name keys or sign as an actor leave nothing half-done or overwritten.

- ``alloc demo`` and ``score simulate`` write their directory whole or not at all, and replace
  an existing one only with ``--force``;
- ``keys new`` takes only names under the centre's origin, and ``init`` only origins that are
  schema-less URLs by C2SP's rules;
- a second ``log append`` signing as an actor that another run is signing as is refused before
  it appends anything;
- ``alloc demo`` numbers ten thousand candidates so that their ids still sort, and a cap below
  Q* is refused with the ``--cap`` that would work.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from allocation import synthetic_roster
from allocation.manifest import validate_roster
from api.cli.main import main
from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry
from tests.exam_core.centre.appender import REPO, start_appender

ORIGIN = "exam.example/c/370100-01"
ALLOC_DEMO = ["alloc", "demo", "--candidates", "30", "--examiners", "8", "--seed", "1"]
SIMULATE = ["score", "simulate", "--subject", "2", "--seed", "3"]


def _exit(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# --- whole output or none ------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [[*ALLOC_DEMO, "--cap", "5000"], SIMULATE], ids=["alloc demo", "score simulate"]
)
def test_an_existing_output_directory_is_kept_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert _exit([*argv, "--out", str(out)]) == 2
    assert "already exists; give --force" in capsys.readouterr().err
    assert _tree(out) == {"notes.txt": b"mine"}
    assert _exit([*argv, "--out", str(out), "--force"]) == 0
    assert "notes.txt" not in _tree(out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing staged is left behind


@pytest.mark.parametrize(
    ("argv", "limit"),
    [([*ALLOC_DEMO, "--cap", "5000"], 4096), (SIMULATE, 10_000)],
    ids=["alloc demo", "score simulate"],
)
def test_a_write_that_fails_part_way_leaves_no_output(
    tmp_path: Path, argv: list[str], limit: int
) -> None:
    # A real I/O failure: the child may not write files beyond ``limit`` bytes (EFBIG).
    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-B", "-m", "api.cli.main", *argv, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
        preexec_fn=small_files,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- key names and origins ------------------------------------------------------------------


@pytest.fixture(scope="module")
def centre_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("centre") / "c"
    assert main(["init", "--dir", str(root), "--origin", ORIGIN]) == 0
    return root


@pytest.mark.parametrize(
    "name",
    [
        "",
        "..",
        "../other",
        "demo/../../admin",
        "demo/./k",
        "demo//k",
        "demo/k/",
        "/demo/k",
        "other.example/c/1/demo/k",
        "exam.example/c/370100-02/demo/k",
        "demo/k%2e",
        "demo/k?x",
        "demo/ключ",
        "x" * 300,
    ],
)
def test_keys_new_refuses_names_outside_the_origin_or_malformed(
    centre_dir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    keys_before = sorted(os.listdir(centre_dir / "keys"))
    argv = ["keys", "new", "--dir", str(centre_dir), "--role", "demo", "--name", name]
    assert _exit(argv) == 2
    err = capsys.readouterr().err
    assert "invalid key name" in err
    assert err.count("\n") == 1
    assert sorted(os.listdir(centre_dir / "keys")) == keys_before


@pytest.mark.parametrize("name", ["demo/k1", f"{ORIGIN}/demo/k2", "tablet/T-017_a.b"])
def test_keys_new_takes_names_under_the_origin(centre_dir: Path, name: str) -> None:
    assert main(["keys", "new", "--dir", str(centre_dir), "--role", "demo", "--name", name]) == 0


@pytest.mark.parametrize(
    "origin",
    [
        "https://exam.example/c/1",
        "exam.example/c/1/",
        "Exam.Example/c/1",
        "exam.example//c",
        "exam.example/c/../x",
        "exam.example/./c",
        "exam.example/c?x=1",
        "exam.example/c#f",
        "exam.example/c+1",
        "exam.example/c 1",
        "-bad.example/c",
        "exam.example:99999/c",
        "exam..example/c",
        "exam.example",
        "",
        "exam.example/c/\x1b[2J",
        "exam.example/科目",
    ],
)
def test_init_refuses_origins_that_are_not_schema_less_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], origin: str
) -> None:
    assert _exit(["init", "--dir", str(tmp_path / "c"), f"--origin={origin}"]) == 2
    err = capsys.readouterr().err
    assert "invalid origin" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "c" / "centre.json").exists()


@pytest.mark.parametrize("origin", ["exam.example/c/370100-01", "log.example:8443/a/b_c~d"])
def test_init_takes_schema_less_urls(tmp_path: Path, origin: str) -> None:
    assert main(["init", "--dir", str(tmp_path / "c"), "--origin", origin]) == 0


# --- one writer per actor -------------------------------------------------------------------


def test_a_second_log_append_as_a_busy_actor_is_refused_before_appending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "c"
    assert main(["init", "--dir", str(root), "--origin", ORIGIN]) == 0
    assert main(["keys", "new", "--dir", str(root), "--role", "demo", "--name", "demo/w"]) == 0
    capsys.readouterr()
    count = 2_000
    first = start_appender(root, count, actor="demo/w")
    try:
        assert first.stdout is not None
        first.stdout.readline()  # it holds the actor and has published an entry
        # Paused, it still holds the actor: the refusal below does not race its last entries.
        os.kill(first.pid, signal.SIGSTOP)
        try:
            with Centre.open(root) as centre:
                size_before = centre.store.size()
            second = ["log", "append", "--dir", str(root), "--count", "5", "--actor", "demo/w"]
            assert main(second) == 2
        finally:
            os.kill(first.pid, signal.SIGCONT)
        assert "signing in another process" in capsys.readouterr().err
        _, err = first.communicate(timeout=240)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for stream in (first.stdout, first.stderr):
            if stream is not None:
                stream.close()
    assert first.returncode == 0, err
    with Centre.open(root) as centre:
        size = centre.store.size()
        entries = [parse_entry(e) for e in centre.store.entries(size_before, size)]
    assert size == 2 + count  # genesis, registration, the first run's: none of the second's
    assert [e.seq for e in entries] == list(range(count - len(entries) + 1, count + 1))
    # Once the first run has ended, the actor is free again.
    assert main(["log", "append", "--dir", str(root), "--count", "1", "--actor", "demo/w"]) == 0


# --- alloc demo at both ends of the size range ------------------------------------------------


def test_ten_thousand_candidates_get_ids_that_sort_as_numbered() -> None:
    roster = synthetic_roster(10_000, 1_000, seed=1)
    validate_roster(roster)  # ids listed by ascending id, which four digits broke
    assert roster.candidates[-1].id == "c-10000"
    assert roster.examiners[-1].id == "e-1000"
    assert synthetic_roster(30, 8, seed=1).candidates[0].id == "c-0001"


def test_a_small_roster_names_the_cap_that_would_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["alloc", "demo", "--candidates", "40", "--examiners", "10", "--seed", "1"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "--cap 5000 (or more) would work" in err
    assert main([*argv, "--out", str(tmp_path / "a"), "--cap", "5000"]) == 0
