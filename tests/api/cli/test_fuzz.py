"""Mutated input files never crash, hang or bloat ``examctl``: every run exits 0, 1 or 2.

Each file kind the command line reads is mutated (``tests.mutations``: bit flips, truncation,
huge integers, deep nesting, invalid UTF-8, control characters, wrong types) and fed to the
command that reads it: ``centre.json`` and key files (``log export``, ``log append``), the
three files of a published allocation (``alloc verify``), an exam directory's description and
telemetry chunks (``score replay``), a gateway configuration (``gateway --config``), an
emulator scenario (``emulate --scenario``) and a pinned policy (``audit --policy``).

The runs are in process (``api.cli.main.main``) for speed, plus a few real subprocesses under
a memory limit.  The seed is fixed and the count bounded, so a run is deterministic.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.cli.main import main
from exam_core.centre.centre import key_file_name
from tests.mutations import every_mutation, mutate

ORIGIN = "exam.example/c/370100-01"
CASES = 40
"""Per file kind, the nine kinds of mutation included: about 15 s for all kinds."""
MEMORY_GROWTH_LIMIT = 300 << 20
SUBPROCESS_MEMORY = 1 << 30


@dataclass(frozen=True)
class World:
    """One valid instance of everything the command line reads, made once."""

    root: Path
    centre: Path
    allocation: Path
    exam: Path
    bundle: Path
    gateway: Path
    scenario: Path

    def key_file(self, name: str) -> Path:
        return self.centre / "keys" / key_file_name(f"{ORIGIN}/{name}")


def run_cli(argv: list[str], mutated: bytes) -> tuple[int, str]:
    """Run ``examctl argv`` in process; fail the test on anything but exit 0, 1 or 2."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as stop:
                code = int(stop.code or 0) if not isinstance(stop.code, str) else 2
    except Exception as e:
        pytest.fail(f"examctl {argv} raised {e!r} on input {mutated[:120]!r}")
    said = err.getvalue()
    assert code in (0, 1, 2), (argv, code, said, mutated[:120])
    assert "Traceback" not in said, (argv, said, mutated[:120])
    if code == 2:
        assert len(said.strip().splitlines()) == 1, (argv, said, mutated[:120])
    return code, said


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("fuzz")
    centre = root / "centre"
    quiet: Callable[[list[str]], int] = lambda argv: run_cli(argv, b"")[0]  # noqa: E731
    assert quiet(["init", "--dir", str(centre), "--origin", ORIGIN]) == 0
    config = json.loads((centre / "centre.json").read_text())
    (centre / "centre.json").write_text(json.dumps(config | {"max_age_ms": 5}, indent=2))
    assert quiet(["keys", "new", "--dir", str(centre), "--role", "demo", "--name", "demo/k1"]) == 0
    assert quiet(["log", "append", "--dir", str(centre), "--count", "2", "--quiet"]) == 0
    bundle = root / "bundle"
    assert quiet(["log", "export", "--dir", str(centre), "--out", str(bundle)]) == 0
    allocation = root / "allocation"
    argv = ["alloc", "demo", "--candidates", "30", "--examiners", "8", "--seed", "1"]
    assert quiet([*argv, "--cap", "5000", "--out", str(allocation)]) == 0
    exam = root / "exam"
    assert quiet(["score", "simulate", "--subject", "2", "--seed", "4", "--out", str(exam)]) == 0
    gateway = root / "gateway.json"
    gateway.write_text(
        json.dumps(
            {
                "key": "gateway/room-1",
                "poll_ms": 100,
                "devices": [
                    {"name": "room-1/jammer", "kind": "jammer", "url": "socket://127.0.0.1:9"},
                    {"name": "room-1/canary", "kind": "canary", "url": "/dev/null", "baud": 9600},
                ],
                "rooms": [
                    {
                        "room": "room-1",
                        "jammers": {"room-1/jammer": [1, 2, 3]},
                        "canaries": ["room-1/canary"],
                        "max_age_ms": 2000,
                    }
                ],
            },
            indent=1,
        )
    )
    scenario = root / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "steps": [
                    {"at_ms": 0, "action": "start"},
                    {"at_ms": 1, "action": "band-alarm", "band": 3, "alarm": "vswr"},
                    {"at_ms": 2, "action": "busy", "ms": 10},
                    {"at_ms": 3, "action": "faults", "spec": "bitflip=0.1,slow=5ms,seed=2"},
                ]
            }
        )
    )
    return World(root, centre, allocation, exam, bundle, gateway, scenario)


@contextlib.contextmanager
def replaced(path: Path, data: bytes) -> Iterator[None]:
    """``path`` holds ``data`` (with its mode kept) for the duration; restored afterwards."""
    original = path.read_bytes()
    mode = path.stat().st_mode & 0o777
    path.write_bytes(data)
    path.chmod(mode)
    try:
        yield
    finally:
        path.write_bytes(original)
        path.chmod(mode)


def _mutations(seed: bytes, label: str) -> list[bytes]:
    rng = random.Random(f"cli fuzz {label}")
    cases = every_mutation(seed, rng)
    return cases + [mutate(seed, rng) for _ in range(CASES - len(cases))]


def _fresh(world: World, label: str) -> str:
    """A path that does not exist yet, for a command's output."""
    counter = _COUNTERS.setdefault(label, [0])
    counter[0] += 1
    return str(world.root / "out" / f"{label}-{counter[0]}")


_COUNTERS: dict[str, list[int]] = {}

Kind = Callable[[World], tuple[Path, Callable[[], list[str]]]]


def _export(w: World) -> list[str]:
    """``log export`` to a new directory: it opens the centre and its log key, appends nothing."""
    return ["log", "export", "--dir", str(w.centre), "--out", _fresh(w, "export")]


def _centre_json(w: World) -> tuple[Path, Callable[[], list[str]]]:
    return w.centre / "centre.json", lambda: _export(w)


def _key_file(w: World) -> tuple[Path, Callable[[], list[str]]]:
    argv = ["log", "append", "--dir", str(w.centre), "--count", "1", "--quiet"]
    return w.key_file("demo/k1"), lambda: [*argv, "--actor", "demo/k1"]


def _log_key_file(w: World) -> tuple[Path, Callable[[], list[str]]]:
    return w.centre / "keys" / key_file_name(ORIGIN), lambda: _export(w)


def _published(name: str) -> Kind:
    def kind(w: World) -> tuple[Path, Callable[[], list[str]]]:
        return w.allocation / name, lambda: ["alloc", "verify", str(w.allocation)]

    return kind


def _exam_json(w: World) -> tuple[Path, Callable[[], list[str]]]:
    return w.exam / "exam.json", lambda: ["score", "replay", str(w.exam)]


def _gateway(w: World) -> tuple[Path, Callable[[], list[str]]]:
    argv = ["gateway", "--dir", str(w.root / "no-centre"), "--config", str(w.gateway)]
    return w.gateway, lambda: argv


def _scenario(w: World) -> tuple[Path, Callable[[], list[str]]]:
    argv = ["emulate", "jammer", "--listen", "socket://127.0.0.1:0", "--duration-s", "0.02"]
    return w.scenario, lambda: [*argv, "--scenario", str(w.scenario)]


def _policy(w: World) -> tuple[Path, Callable[[], list[str]]]:
    pinned = w.root / "pinned-policy"
    if not pinned.exists():
        shutil.copyfile(w.bundle / "policy", pinned)
    return pinned, lambda: ["audit", str(w.bundle), "--jobs", "1", "--policy", str(pinned)]


KINDS: dict[str, tuple[Kind, int]] = {
    "centre.json": (_centre_json, 0),
    "actor key file": (_key_file, 0),
    "log key file": (_log_key_file, 0),
    "manifest.json": (_published("manifest.json"), 0),
    "proof.json": (_published("proof.json"), 0),
    "assignment.json": (_published("assignment.json"), 0),
    "exam.json": (_exam_json, 0),
    "gateway config": (_gateway, 2),
    "emulator scenario": (_scenario, 0),
    "policy": (_policy, 0),
}
"""Each kind: its file and command, and the exit code of the command on the file unchanged (the
gateway's configuration is read before its centre, which the command is not given)."""


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_mutated_input_files_end_in_exit_0_1_or_2(world: World, kind: str) -> None:
    make, unchanged = KINDS[kind]
    path, argv = make(world)
    assert run_cli(argv(), b"")[0] == unchanged
    before = _peak_rss()
    codes = []
    for data in _mutations(path.read_bytes(), kind):
        with replaced(path, data):
            codes.append(run_cli(argv(), data)[0])
    # Most mutations break the file: a command that accepted every one would not be reading it.
    assert codes.count(0) < len(codes)
    assert _peak_rss() - before < MEMORY_GROWTH_LIMIT


def test_mutated_telemetry_chunks_end_in_exit_0_1_or_2(world: World) -> None:
    exam = world.exam / "exam.json"
    chunk = world.exam / "telemetry" / "chunk-0001.bin"
    doc = json.loads(exam.read_bytes())
    codes = []
    for n, data in enumerate(_mutations(chunk.read_bytes(), "telemetry chunk")):
        # Half the time the exam description names the mutated chunk, so that its parser and
        # signature check see it rather than only the hash comparison.
        chunks = list(doc["chunks"])
        if n % 2:
            chunks[1] = hashlib.sha256(data).hexdigest()
        description = json.dumps(doc | {"chunks": chunks}).encode()
        with replaced(chunk, data), replaced(exam, description):
            codes.append(run_cli(["score", "replay", str(world.exam)], data)[0])
    assert codes.count(0) < len(codes)


@pytest.mark.parametrize("kind", ["manifest.json", "exam.json", "gateway config"])
def test_the_installed_command_survives_mutated_files_under_a_memory_limit(
    world: World, kind: str, tmp_path: Path
) -> None:
    path, argv = KINDS[kind][0](world)
    rng = random.Random(f"cli subprocess {kind}")
    data = mutate(mutate(path.read_bytes(), rng), rng)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))

    with replaced(path, data):
        result = subprocess.run(
            [sys.executable, "-m", "api.cli.main", *argv()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            preexec_fn=limit_memory,
            env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[3])},
            cwd=tmp_path,
        )
    assert result.returncode in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stderr
