"""Scores signed under an older rule table and map recompute byte for byte.

``data/v1/`` holds two exams recorded and scored before ``ga1026-2017/2``: the signed chunks as
the in-car unit made them and the result the scorer signed under ``ga1026-2017/1`` and the maps
``k2-field-a/1`` / ``k3-route-a/1``.  New methods and new rules must never change them.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest

from exam_core.log.canonical import canonical_json
from exam_core.log.note import ed25519_verifier_from_vkey
from exam_core.scoring import course_by_version, rule_table_by_version, score_chunks

DATA = resources.files("tests.exam_core.scoring") / "data" / "v1"
RECORDED: dict[str, Any] = json.loads((DATA / "results.json").read_text())


def chunks(name: str) -> list[bytes]:
    raw = gzip.decompress((DATA / f"{name}.chunks.gz").read_bytes())
    out, at = [], 0
    while at < len(raw):
        size = int.from_bytes(raw[at : at + 4], "little")
        out.append(raw[at + 4 : at + 4 + size])
        at += 4 + size
    return out


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_an_exam_signed_under_the_first_table_scores_as_it_did(name: str) -> None:
    exam = RECORDED[name]
    assert exam["rules"] == "ga1026-2017/1"
    result = score_chunks(
        chunks(name),
        course_by_version(exam["map"]),
        rule_table_by_version(exam["rules"]),
        exam["licence_class"],
        verifier=ed25519_verifier_from_vkey(exam["vkey"]),
    )
    assert result.to_bytes() == canonical_json(exam["result"])
    assert result.deductions  # the recorded exams carry faults, so this compares something
