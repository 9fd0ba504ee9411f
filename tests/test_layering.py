"""DESIGN §2's layering is enforced by import-linter's contracts in ``pyproject.toml``.

``make test`` runs ``lint-imports`` over the tree.  These tests show that the contracts hold
today and that they can fail: a copy of the tree with one forbidden import planted in it, for
each kind of rule, is refused.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("exam_core", "allocation", "devices", "api")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def _copy_tree(target: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("devices/jammer.py", "import serial", "only devices.transport touches pyserial"),
        ("allocation/draw.py", "import devices", "allocation and devices never import"),
        ("exam_core/log/note.py", "import exam_core.centre.store", "the pure log and the offline"),
        ("exam_core/scoring/engine.py", "import allocation", "scoring never imports"),
        ("devices/gate.py", "import exam_core.db", "devices never imports exam_core"),
        ("allocation/verify.py", "import sqlalchemy", "only the persistence modules"),
        ("exam_core/audit/history.py", "import api", "api is the top layer"),
        ("exam_core/log/entry.py", "import allocation", "the log, its service, the audit"),
        (
            "exam_core/scoring/sim/route_cab.py",
            "import exam_core.scoring.sim.route_script",
            "no import cycles",
        ),
    ],
)
def test_a_planted_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    root = _copy_tree(tmp_path)
    path = root / module
    path.write_text(path.read_text() + f"\n{planted}  # planted\n")
    result = _lint(root)
    assert result.returncode != 0
    _, _, broken = result.stdout.partition("Broken contracts")
    assert contract in broken, result.stdout
