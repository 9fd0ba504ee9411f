"""Scores signed under an older rule table and map recompute byte for byte.

``data/v1/`` holds two exams recorded and scored before ``ga1026-2017/2``: the signed chunks as
the in-car unit made them and the result the scorer signed under ``ga1026-2017/1`` and the maps
``k2-field-a/1`` / ``k3-route-a/1``.  ``data/v2/`` holds two exams in telemetry version 2,
recorded and scored before telemetry version 3 and ``ga1026-2017/4``, under ``ga1026-2017/3``
and the maps ``k2-field-a/2`` / ``k3-route-a/2``.  New methods, new rules, new map zones and new
telemetry versions must never change them.
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
DATA_V2 = resources.files("tests.exam_core.scoring") / "data" / "v2"
RECORDED_V2: dict[str, Any] = json.loads((DATA_V2 / "results.json").read_text())


def chunks(name: str, data: Any = DATA) -> list[bytes]:
    raw = gzip.decompress((data / f"{name}.chunks.gz").read_bytes())
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


@pytest.mark.parametrize("name", sorted(RECORDED_V2))
def test_a_version_2_exam_signed_under_the_third_table_scores_as_it_did(name: str) -> None:
    exam = RECORDED_V2[name]
    assert exam["rules"] == "ga1026-2017/3"
    blobs = chunks(name, DATA_V2)
    assert {int.from_bytes(b[4:6], "little") for b in blobs} == {2}
    result = score_chunks(
        blobs,
        course_by_version(exam["map"]),
        rule_table_by_version(exam["rules"]),
        exam["licence_class"],
        verifier=ed25519_verifier_from_vkey(exam["vkey"]),
    )
    assert result.to_bytes() == canonical_json(exam["result"])
    assert result.deductions
