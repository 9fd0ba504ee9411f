"""The transparency-dev/merkle probe corpus: accept exactly what the reference accepts.

The probes (518 JSON files, Apache-2.0, transparency-dev/merkle ``testdata/`` @ 417fb0c) are
read from ``tests/vectors/transparency-dev-merkle``; each names its inputs and whether a
correct verifier must reject it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from exam_core.errors import ProofError
from exam_core.log.merkle import (
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.vector_files import VECTOR_DIR

PROBES = VECTOR_DIR / "transparency-dev-merkle"


def _probes(kind: str) -> list[Any]:
    files = sorted((PROBES / kind).rglob("*.json"))
    return [pytest.param(p, id=str(p.relative_to(PROBES / kind))) for p in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(probe: dict[str, Any]) -> list[bytes]:
    return [_b64(node) for node in probe["proof"] or []]


def _outcome(check: Any) -> bool:
    try:
        check()
    except ProofError:
        return True
    return False


def test_corpus_is_complete() -> None:
    counts = {kind: len(_probes(kind)) for kind in ("inclusion", "consistency")}
    assert counts == {"inclusion": 98, "consistency": 98}
    assert len(_probes("subtreeinclusion")) == 204
    assert len(_probes("subtreeconsistency")) == 118


@pytest.mark.parametrize("path", _probes("inclusion"))
def test_inclusion_probe(path: Path) -> None:
    p = json.loads(path.read_text())
    rejected = _outcome(
        lambda: verify_inclusion(
            _b64(p["leafHash"]), p["leafIdx"], p["treeSize"], _proof(p), _b64(p["root"])
        )
    )
    assert rejected == p["wantErr"], p["desc"]


@pytest.mark.parametrize("path", _probes("consistency"))
def test_consistency_probe(path: Path) -> None:
    p = json.loads(path.read_text())
    rejected = _outcome(
        lambda: verify_consistency(
            p["size1"], p["size2"], _proof(p), _b64(p["root1"]), _b64(p["root2"])
        )
    )
    assert rejected == p["wantErr"], p["desc"]


@pytest.mark.parametrize("path", _probes("subtreeinclusion"))
def test_subtree_inclusion_probe(path: Path) -> None:
    p = json.loads(path.read_text())
    rejected = _outcome(
        lambda: verify_subtree_inclusion(
            _b64(p["leafHash"]),
            p["leafIdx"],
            p["start"],
            p["end"],
            proof=_proof(p),
            root=_b64(p["root"]),
        )
    )
    assert rejected == p["wantErr"], p["desc"]


@pytest.mark.parametrize("path", _probes("subtreeconsistency"))
def test_subtree_consistency_probe(path: Path) -> None:
    p = json.loads(path.read_text())
    rejected = _outcome(
        lambda: verify_subtree_consistency(
            p["start"],
            p["end"],
            p["size"],
            proof=_proof(p),
            subtree=_b64(p["root1"]),
            root=_b64(p["root2"]),
        )
    )
    assert rejected == p["wantErr"], p["desc"]
