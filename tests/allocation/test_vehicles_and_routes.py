"""Cars and routes drawn with the examiners: the same protocol, the same conformity test.

The vehicle draw pairs each examiner with one car (a candidate drives their examiner's car); the
route draw gives each 科目三 candidate one of the session's approved routes.  Both pass the
examiner draw's conformity test (χ² per row, KS over the rows' p-values), never break a cap or a
conflict, publish in a version-2 manifest whose every changed byte fails verification, and leave
version-1 manifests verifying as before.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from allocation import (
    ALGORITHM,
    ALGORITHM_V2,
    ASSIGNMENT_FILE,
    MANIFEST_FILE,
    PROOF_FILE,
    Candidate,
    CandidateId,
    Employment,
    EvidenceRef,
    Examiner,
    ExaminerId,
    InfeasibleError,
    Manifest,
    ManifestError,
    Roster,
    RouteId,
    SchoolId,
    Vehicle,
    VehicleId,
    check_allocation,
    check_publication,
    committed_fields,
    draw_assignment,
    draw_routes,
    draw_vehicles,
    encode_assignment,
    encode_manifest,
    encode_proof,
    made_fields,
    parse_manifest,
)
from allocation.events import COMMITTED, MADE
from exam_core.log.canonical import canonical_json
from tests.allocation.conformity import assert_draws_match_f
from tests.allocation.samples import GENESIS_MS, Published, publish
from tests.allocation.test_replayer import ROUND_TIME, History, replay_all

DRAWS = 4000
SCHOOLS = [SchoolId(f"school-{k}") for k in range(4)]
OUTSIDE = SchoolId("school-9")
"""A driving school with cars at the centre but no candidate in this session."""


def fleet_roster() -> Roster:
    """24 C1 candidates of four schools × 8 examiners; 11 cars: 6 of the centre, 3 of a school
    with no candidate here (three examiners once worked there), 2 of a school with candidates."""
    candidates = tuple(
        Candidate(CandidateId(f"c-{i:02d}"), "C1", SCHOOLS[i % 4]) for i in range(24)
    )
    examiners = tuple(
        Examiner(
            ExaminerId(f"e-{j}"),
            frozenset({"C1", "C2"}),
            (Employment(OUTSIDE, EvidenceRef(f"hr/{j}")),) if j in (1, 4, 6) else (),
            load_min=2,
            load_max=4,
        )
        for j in range(8)
    )
    cars = (
        *(Vehicle(VehicleId(f"v-{k:02d}"), "C1") for k in range(6)),
        *(Vehicle(VehicleId(f"v-{k:02d}"), "C1", OUTSIDE) for k in range(6, 9)),
        *(Vehicle(VehicleId(f"v-{k:02d}"), "C1", SCHOOLS[0]) for k in range(9, 11)),
    )
    routes = (RouteId("k3-route-a/1"), RouteId("k3-route-b/1"), RouteId("k3-route-c/2"))
    return Roster("2026-11-25/k3/am", candidates, examiners, (), cars, routes)


@pytest.fixture(scope="module")
def published() -> Published:
    return publish(fleet_roster(), cap=400)


@pytest.fixture(scope="module")
def manifest(published: Published) -> Manifest:
    return published.manifest


def test_a_roster_with_cars_and_routes_makes_a_version_2_manifest(manifest: Manifest) -> None:
    assert manifest.algorithm == ALGORITHM_V2
    assert manifest.vehicles is not None
    assert manifest.routes is not None
    data = encode_manifest(manifest)
    assert parse_manifest(data) == manifest
    # The three former employees of school-9 can take only the six centre cars, which then
    # carry more than the uniform share: the vehicle F really is uneven.
    assert len({w for row in manifest.vehicles.fractional for _, w in row}) > 2
    reasons = Counter(c.reason for c in manifest.vehicle_conflicts)
    assert reasons == {"own_school": 16, "former_school": 9}


def test_the_vehicle_draw_matches_f_and_never_breaks_a_cap_or_a_conflict(
    manifest: Manifest,
) -> None:
    side = manifest.vehicles
    assert side is not None
    roster = manifest.roster
    fleet = {v.id: v for v in roster.vehicles}
    index = {v.id: k for k, v in enumerate(roster.vehicles)}
    banned = {(c.examiner, c.vehicle) for c in manifest.vehicle_conflicts}
    school_of = {c.id: c.school for c in roster.candidates}
    counts = [Counter[int]() for _ in roster.examiners]
    for s in range(DRAWS):
        seed = s.to_bytes(8, "big")
        pairs = draw_vehicles(manifest, seed)
        assert [e for e, _ in pairs] == [e.id for e in roster.examiners]
        assert len({v for _, v in pairs}) == len(pairs), "a car was given to two examiners"
        for row, (examiner, vehicle) in enumerate(pairs):
            assert (examiner, vehicle) not in banned
            counts[row][index[vehicle]] += 1
        if s % 8 == 0:  # the candidates drive their examiner's car: never their school's
            car_of = dict(pairs)
            for candidate, examiner in draw_assignment(manifest, seed):
                assert fleet[car_of[examiner]].school != school_of[candidate]
    assert_draws_match_f(counts, side.fractional, manifest.scale, side.cap, DRAWS)


def test_the_route_draw_matches_f_and_uses_routes_evenly(manifest: Manifest) -> None:
    side = manifest.routes
    assert side is not None
    roster = manifest.roster
    index = {r: k for k, r in enumerate(roster.routes)}
    counts = [Counter[int]() for _ in roster.candidates]
    for s in range(DRAWS):
        pairs = draw_routes(manifest, s.to_bytes(8, "big"))
        assert [c for c, _ in pairs] == [c.id for c in roster.candidates]
        assert sorted(Counter(r for _, r in pairs).values()) == [8, 8, 8]
        for row, (_, route) in enumerate(pairs):
            counts[row][index[route]] += 1
    assert_draws_match_f(counts, side.fractional, manifest.scale, side.cap, DRAWS)


def test_the_examiner_draw_of_a_manifest_is_the_same_in_both_versions(
    manifest: Manifest,
) -> None:
    """Cars and routes use labels of their own: adding them changes no examiner."""
    plain = replace(manifest.roster, vehicles=(), routes=())
    v1 = publish(plain, cap=400).manifest
    assert v1.algorithm == ALGORITHM
    assert "vehicles" not in json.loads(encode_manifest(v1))
    for k in range(5):
        seed = bytes([k]) * 32
        assert draw_assignment(v1, seed) == draw_assignment(manifest, seed)
        assert draw_vehicles(v1, seed) == ()
        assert draw_routes(v1, seed) == ()


def _files(published: Published) -> dict[str, bytes]:
    return {
        MANIFEST_FILE: published.manifest_bytes,
        PROOF_FILE: encode_proof(published.allocation),
        ASSIGNMENT_FILE: encode_assignment(published.allocation, published.manifest.session),
    }


def _errors(files: dict[str, bytes], *, recompute: bool = True) -> list[str]:
    findings = check_publication(
        files[MANIFEST_FILE], files[PROOF_FILE], files[ASSIGNMENT_FILE], recompute=recompute
    )
    return [f"{f.code}: {f.message}" for f in findings if f.severity == "error"]


def test_the_published_version_2_allocation_verifies(published: Published) -> None:
    files = _files(published)
    assert _errors(files) == []
    assert json.loads(files[ASSIGNMENT_FILE])["vehicles"][0][0] == "e-0"


@pytest.mark.parametrize("name", [MANIFEST_FILE, PROOF_FILE, ASSIGNMENT_FILE])
def test_every_changed_byte_of_a_version_2_publication_fails(
    published: Published, name: str
) -> None:
    files = _files(published)
    data = files[name]
    positions = sorted(random.Random(name).sample(range(len(data)), min(len(data), 300)))
    if name == ASSIGNMENT_FILE:  # and every byte of the cars and routes
        start = data.index(b'"routes"')
        positions = sorted(set(positions) | set(range(start, len(data))))
    for i in positions:
        changed = bytearray(data)
        changed[i] ^= 0x01
        assert _errors({**files, name: bytes(changed)}, recompute=False), (name, i)


def test_a_swapped_car_or_route_is_named(published: Published) -> None:
    value = json.loads(_files(published)[ASSIGNMENT_FILE])
    value["vehicles"][0][1], value["vehicles"][1][1] = (
        value["vehicles"][1][1],
        value["vehicles"][0][1],
    )
    errors = _errors({**_files(published), ASSIGNMENT_FILE: canonical_json(value)})
    assert len(errors) == 1
    assert errors[0].startswith("assignment_mismatch: vehicles: e-0")
    value = json.loads(_files(published)[ASSIGNMENT_FILE])
    del value["routes"]
    errors = _errors({**_files(published), ASSIGNMENT_FILE: canonical_json(value)})
    assert errors == ["assignment_mismatch: routes: assignment has 0 pairs; the draw gives 24"]


def test_a_version_1_publication_claiming_cars_is_refused() -> None:
    plain = replace(fleet_roster(), vehicles=(), routes=())
    v1 = publish(plain, cap=400)
    value = json.loads(_files(v1)[ASSIGNMENT_FILE])
    value["vehicles"] = [["e-0", "v-00"]]
    errors = _errors({**_files(v1), ASSIGNMENT_FILE: canonical_json(value)})
    assert errors == ["assignment_mismatch: vehicles: assignment has 1 pairs; the draw gives 0"]


def test_the_replayer_recomputes_cars_and_routes(published: Published) -> None:
    good = made_fields(published.allocation, published.manifest.session)
    bad = dict(good, routes=[[c, "k3-route-a/1"] for c, _ in published.allocation.routes])
    found = []
    for made in (good, bad):
        history = History()
        history.add_blob(published.manifest_bytes)
        fields = committed_fields(published.manifest_bytes, published.manifest)
        history.append(COMMITTED, fields, GENESIS_MS + 1000)
        history.append(MADE, made, ROUND_TIME + 10)
        found.append([(f.code, f.message[:8]) for f in replay_all(history)])
    # Honest but for the two warnings any unwitnessed draw on a development beacon gets.
    assert sorted(found[0]) == [
        ("beacon_insecure", "dev beac"),
        ("commitment_unproven", "nothing "),
    ]
    assert ("assignment_mismatch", "routes: ") in found[1]


def test_a_cap_below_the_vehicle_q_star_is_refused() -> None:
    with pytest.raises(InfeasibleError, match="below the smallest feasible cap"):
        publish(fleet_roster(), cap=400, vehicle_cap=100)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: replace(r, vehicles=r.vehicles[:7]), "fewer than the 8 examiners"),
        (
            lambda r: replace(
                r, vehicles=tuple(replace(v, school=SCHOOLS[1]) for v in r.vehicles[:8])
            ),
            "examiner e-0 has no eligible vehicle",
        ),
        (
            lambda r: replace(
                r,
                candidates=(
                    replace(r.candidates[0], licence_class="C2"),
                    *r.candidates[1:],
                ),
            ),
            "has no eligible vehicle",
        ),
    ],
    ids=["too few cars", "every car of a candidate's school", "mixed classes"],
)
def test_a_fleet_no_draw_can_use_is_refused_with_the_reason(
    change: Callable[[Roster], Roster], message: str
) -> None:
    roster = change(fleet_roster())
    with pytest.raises(InfeasibleError, match=message):
        publish(roster, cap=1000)


def test_malformed_version_2_manifests_are_refused(published: Published) -> None:
    value = json.loads(published.manifest_bytes)
    edits: list[tuple[Callable[[dict[str, Any]], object], str]] = [
        (lambda v: v.update(vehicles=None, routes=None), "draws vehicles, routes or both"),
        (lambda v: v["vehicles"]["fleet"].reverse(), "vehicles must be listed by ascending id"),
        (lambda v: v["vehicles"]["fleet"][0].update({"class": "Z"}), "unknown licence class"),
        (lambda v: v["routes"].update(cap=0), "routes: cap 0/1000"),
        (lambda v: v["vehicles"]["fractional"][0][0].__setitem__(0, "v-x"), "known vehicle id"),
        (lambda v: v["routes"]["fractional"].pop(), "routes has 23 rows for 24 candidates"),
        (lambda v: v.pop("routes"), "routes: missing"),
        (lambda v: v.update(algorithm=ALGORITHM), "unknown field"),
    ]
    for edit, message in edits:
        changed = json.loads(json.dumps(value))
        edit(changed)
        with pytest.raises(ManifestError, match=message):
            parse_manifest(canonical_json(changed))


def test_check_allocation_takes_cars_and_routes(published: Published) -> None:
    allocation = published.allocation
    findings = check_allocation(
        published.manifest_bytes,
        allocation.reading,
        allocation.proof,
        allocation.assignment,
        vehicles=allocation.vehicles,
        routes=allocation.routes,
    )
    assert [f.code for f in findings] == ["beacon_insecure"]
