"""The exam day's public surface: what ``__all__`` names resolves, and it loads no database."""

from __future__ import annotations

import subprocess
import sys

from exam_core import exam_day


def test_every_exported_name_resolves() -> None:
    for name in exam_day.__all__:
        assert getattr(exam_day, name) is not None
    # isort's order, as ruff keeps it: constants, classes, functions.
    order = sorted(
        exam_day.__all__, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    assert exam_day.__all__ == order


def test_the_pure_api_loads_no_database_or_web_stack() -> None:
    # An auditor replays sessions with it: no database driver, web framework or serial port.
    probe = (
        "import sys, exam_core.exam_day\n"
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'serial') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
