"""The public surface of ``allocation`` is what ``__all__`` names, and the layering holds."""

from __future__ import annotations

import ast
from pathlib import Path

import allocation

PACKAGE = Path(allocation.__file__).parent


def test_all_names_exist_and_the_required_ones_are_there() -> None:
    for name in allocation.__all__:
        assert hasattr(allocation, name), name
    required = {"ecvrf_prove", "ecvrf_verify", "VrfProofError", "SeedStream", "AllocationReplayer"}
    assert required <= set(allocation.__all__)
    assert allocation.__all__ == sorted(allocation.__all__, key=lambda n: (not n.isupper(), n))


def test_allocation_never_imports_devices_or_api_and_uses_no_floats() -> None:
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert name.split(".")[0] not in {"devices", "api", "random"} or (
                    name == "random" and path.name == "synthetic.py"
                ), f"{path.name} imports {name}"
            assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), path.name
            assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)), (
                f"{path.name}:{getattr(node, 'lineno', '?')} uses true division"
            )
