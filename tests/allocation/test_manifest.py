"""Manifests: canonical round trip, and a clear refusal for each kind of malformed manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from allocation import (
    BeaconTarget,
    CandidateId,
    ExaminerId,
    ManifestError,
    encode_manifest,
    find_conflicts,
    parse_manifest,
    prepare_manifest,
    synthetic_roster,
    vrf_public_key,
)
from exam_core.log.canonical import canonical_json
from tests.allocation.samples import VRF_SECRET, dev_beacon, publish, small_roster


@pytest.fixture(scope="module")
def manifest_bytes() -> bytes:
    return publish(small_roster(), cap=400).manifest_bytes


def test_round_trip_is_byte_exact(manifest_bytes: bytes) -> None:
    manifest = parse_manifest(manifest_bytes)
    assert encode_manifest(manifest) == manifest_bytes
    assert manifest.session == "2026-11-25/test/am"
    assert len(manifest.roster.candidates) == 24
    assert manifest.q_star == 334
    assert manifest.cap == 400


def test_conflicts_carry_their_evidence() -> None:
    conflicts = find_conflicts(small_roster())
    reasons = {(c.candidate, c.examiner): (c.reason, c.evidence) for c in conflicts}
    assert reasons[CandidateId("c-07"), ExaminerId("e-3")] == ("relative", "decl/1")
    assert reasons[CandidateId("c-05"), ExaminerId("e-5")] == ("previous_fail", "exam/005")
    assert reasons[CandidateId("c-01"), ExaminerId("e-1")] == ("former_school", "hr/1")
    assert {c.reason for c in conflicts} == {"relative", "previous_fail", "former_school"}


def _edit(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    value = json.loads(data)
    change(value)
    return canonical_json(value)


def _set(path: str, new: object) -> Callable[[dict[str, Any]], None]:
    def change(value: dict[str, Any]) -> None:
        *head, last = path.split(".")
        target: Any = value
        for part in head:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = new
        else:
            target[last] = new

    return change


MALFORMED = {
    "unknown class": (_set("candidates.3.class", "Z9"), "unknown licence class 'Z9'"),
    "unknown examiner class": (_set("examiners.0.classes", ["C1", "Q"]), "unknown licence class"),
    "duplicate candidate": (_set("candidates.1.id", "c-00"), "duplicate candidate id c-00"),
    "duplicate examiner": (_set("examiners.1.id", "e-0"), "duplicate examiner id e-0"),
    "unsorted candidates": (_set("candidates.1.id", "c-99"), "ascending id"),
    "negative load": (_set("examiners.2.load_min", -1), r"e-2: load window \[-1, 4\] is invalid"),
    "min above max": (_set("examiners.2.load_min", 5), r"load window \[5, 4\]"),
    "cap above one": (_set("cap", 1001), r"cap 1001/1000 .* above 1"),
    "cap zero": (_set("cap", 0), "not a probability"),
    "q_star above cap": (_set("q_star", 401), "q_star 401"),
    "wrong algorithm": (_set("algorithm", "exam-alloc/v0"), "unknown algorithm"),
    "unknown field": (_set("extra", 1), "unknown field"),
    "missing field": (lambda v: v.pop("conflicts"), "conflicts: missing"),
    "relative off roster": (_set("relatives.0.examiner", "e-x"), "not on the roster"),
    "fractional unknown examiner": (_set("fractional.0.0", ["e-x", 334]), "known examiner id"),
    "fractional float-like": (_set("fractional.0.0", ["e-1", "334"]), "integer"),
    "fractional rows": (lambda v: v["fractional"].pop(), "23 rows for 24 candidates"),
    "vrf key length": (_set("vrf_key", "00"), "vrf_key: must be 32 bytes"),
    "no candidates": (_set("candidates", []), "candidates: 0 items"),
    "bad id": (_set("candidates.0.id", "c 00"), "does not match"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_manifest_is_refused_with_a_clear_message(
    manifest_bytes: bytes, case: str
) -> None:
    change, message = MALFORMED[case]
    with pytest.raises(ManifestError, match=message):
        parse_manifest(_edit(manifest_bytes, change))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not canonical"),
        (b"{}", "algorithm: missing"),
        (b"[]", "must be an object"),
        (b'{"a":1.5}', "not canonical"),
        (b'{"b":1,"a":2}', "not canonical"),
    ],
)
def test_non_canonical_or_empty_bytes_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        parse_manifest(data)


def test_whitespace_trailing_bytes_and_truncation_are_refused(manifest_bytes: bytes) -> None:
    for bad in (manifest_bytes + b"\n", b" " + manifest_bytes, manifest_bytes[:-1]):
        with pytest.raises(ManifestError, match="not canonical"):
            parse_manifest(bad)


def test_oversized_manifest_is_refused_before_parsing() -> None:
    with pytest.raises(ManifestError, match="limit"):
        parse_manifest(b" " * (16 * 1024 * 1024 + 1))


def test_prepare_refuses_a_malformed_roster() -> None:
    roster = small_roster()
    bad = replace(roster, candidates=(replace(roster.candidates[0], licence_class="XX"),))
    beacon = BeaconTarget("dev", dev_beacon().commitment_text, 5)
    with pytest.raises(ManifestError, match="unknown licence class 'XX'"):
        prepare_manifest(
            bad, scale=1000, cap=400, beacon=beacon, vrf_key=vrf_public_key(VRF_SECRET)
        )


def test_synthetic_roster_is_reproducible_and_realistic() -> None:
    first = synthetic_roster(200, 40, seed=3)
    assert first == synthetic_roster(200, 40, seed=3)
    assert first != synthetic_roster(200, 40, seed=4)
    classes = {c.licence_class for c in first.candidates}
    assert {"C1", "C2"} <= classes
    assert len(classes) >= 4
    assert any(c.previous_fail for c in first.candidates)
    assert any(e.former_schools for e in first.examiners)
    assert len({c.school for c in first.candidates}) >= 5


@pytest.mark.parametrize(
    ("scale", "cap", "message"),
    [(0, 1, "scale 0 is outside"), (10**7, 1, "outside"), (100, 101, "not a probability")],
)
def test_prepare_refuses_a_bad_scale_or_cap(scale: int, cap: int, message: str) -> None:
    beacon = BeaconTarget("dev", dev_beacon().commitment_text, 5)
    with pytest.raises(ManifestError, match=message):
        prepare_manifest(
            small_roster(), scale=scale, cap=cap, beacon=beacon, vrf_key=vrf_public_key(VRF_SECRET)
        )
