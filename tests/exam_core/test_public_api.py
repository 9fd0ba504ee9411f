"""The public surface of ``exam_core`` is what ``__all__`` names, it resolves, and it stays pure."""

from __future__ import annotations

import subprocess
import sys

import exam_core


def test_every_exported_name_resolves() -> None:
    for name in exam_core.__all__:
        assert getattr(exam_core, name) is not None
    assert exam_core.__all__ == sorted(exam_core.__all__, key=lambda n: (not n[0].isupper(), n))


def test_importing_the_core_loads_no_database_or_web_stack() -> None:
    # An auditor's verifier imports exam_core; it must not drag in the services' dependencies.
    probe = (
        "import sys, exam_core\n"
        "print(sorted(m for m in ('sqlalchemy', 'fastapi', 'serial') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
