"""The car each examiner drives today is drawn with the assignment, and the day holds them to it.

A version-2 manifest draws the crews' cars among the examiners (docs/allocation.md §5a); the
session then boards each candidate in the car drawn for their examiner — not the car the plan
names for the crew — and takes the in-car steps only from that car's unit.  A draw that gives a
car nobody crews, a car twice or leaves an examiner without one is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pytest

from allocation import (
    BeaconTarget,
    Candidate,
    CandidateId,
    Examiner,
    ExaminerId,
    Roster,
    SchoolId,
    Vehicle,
    VehicleId,
    committed_fields,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    vrf_public_key,
)
from exam_core.errors import ExamDayError
from exam_core.exam_day.plan import exam_id
from tests.exam_core.exam_day import day_script as ds


@dataclass
class CarDrawDay(ds.DayScript):
    """The scripted day, with the crews' cars in the roster: the manifest draws them."""

    def prepare(self, round_number: int = ds.ROUND) -> bytes:
        flow = self.day.sessions[ds.SESSION]
        roster = Roster(
            ds.SESSION,
            tuple(
                Candidate(CandidateId(c), "C1", SchoolId("school-1"))
                for c in (flow.roster or flow.checked_in())
            ),
            tuple(Examiner(ExaminerId(e), frozenset({"C1"})) for e in ds.EXAMINERS),
            vehicles=tuple(Vehicle(VehicleId(ds.car(e)), "C1") for e in ds.EXAMINERS),
        )
        self.manifest = prepare_manifest(
            roster,
            scale=1000,
            cap=1000,
            beacon=BeaconTarget("dev", ds.BEACON.commitment_text, round_number),
            vrf_key=vrf_public_key(ds.VRF_SECRET),
        )
        self.manifest_bytes = encode_manifest(self.manifest)
        return self.manifest_bytes


def _drawn(script: CarDrawDay) -> dict[str, str]:
    assert script.allocation is not None
    return dict(script.allocation.vehicles)


@pytest.fixture
def script() -> CarDrawDay:
    day = CarDrawDay()
    day.open_session()
    day.allocate()
    return day


def _moved(script: CarDrawDay) -> tuple[str, str]:
    """A candidate whose examiner drives another crew's car today, and that examiner."""
    drawn = _drawn(script)
    for candidate, examiner in sorted(script.assignment.items()):
        if drawn[examiner] != ds.car(examiner):
            return candidate, examiner
    raise AssertionError(f"the draw gave every examiner their own car: {drawn}")


def test_the_draw_gives_each_examiner_one_of_the_crews_cars(script: CarDrawDay) -> None:
    drawn = _drawn(script)
    assert sorted(drawn) == ds.EXAMINERS
    assert sorted(drawn.values()) == sorted(ds.car(e) for e in ds.EXAMINERS)
    flow = script.day.sessions[ds.SESSION]
    assert flow.vehicles == drawn
    for examiner, car in drawn.items():
        crew = flow.crew_for(examiner)
        assert crew is not None
        assert (crew.tablet, crew.vehicle) == (ds.tablet(examiner), car)
        owner = next(e for e in ds.EXAMINERS if ds.car(e) == car)
        assert crew.unit == ds.unit(owner)


def test_boarding_is_in_the_drawn_car_and_its_unit_signs_the_exam(script: CarDrawDay) -> None:
    candidate, examiner = _moved(script)
    exam = exam_id(ds.SESSION, candidate)
    car = _drawn(script)[examiner]
    unit = script.day.sessions[ds.SESSION].crew_for(examiner)
    assert unit is not None
    boarding: dict[str, Any] = {
        "session": ds.SESSION,
        "exam": exam,
        "candidate": candidate,
        "examiner": examiner,
    }
    own = script.refused(
        "boarding.confirmed", ds.tablet(examiner), ds.START, **boarding, vehicle=ds.car(examiner)
    )
    assert own.code == "wrong_vehicle"
    script.do("boarding.confirmed", ds.tablet(examiner), ds.START, **boarding, vehicle=car)
    wrong_unit = script.refused("camera.status", ds.unit(examiner), ds.START, exam=exam, state="ok")
    assert wrong_unit.code == "wrong_actor"
    script.do("camera.status", unit.unit, ds.START, exam=exam, state="ok")


@pytest.mark.parametrize(
    "change",
    ["a car nobody crews", "one car twice", "an examiner without a car", "a stranger's car"],
)
def test_a_draw_that_is_not_the_crews_cars_is_refused(change: str) -> None:
    day = CarDrawDay()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.commit()
    assert day.manifest is not None
    allocation = make_allocation(
        day.manifest_bytes, day.manifest, ds.BEACON.reveal(day.manifest.beacon.round), ds.VRF_SECRET
    )
    fields: dict[str, Any] = made_fields(allocation, ds.SESSION)
    pairs = [list(p) for p in fields["vehicles"]]
    if change == "a car nobody crews":
        pairs[0][1] = "car-X"
    elif change == "one car twice":
        pairs[1][1] = pairs[0][1]
    elif change == "an examiner without a car":
        pairs = pairs[1:]
    else:
        pairs.append(["E9", "car-E1"])
    refused = day.refused(
        "allocation.made", ds.ALLOCATOR, ds.SEAL_UNTIL + 20_000, **(fields | {"vehicles": pairs})
    )
    assert refused.code == "vehicles"


def test_a_manifest_whose_cars_are_not_the_crews_is_refused_at_commit() -> None:
    day = CarDrawDay()
    day.open_session()
    for candidate in ds.BOOKED[:6]:
        day.check_in(candidate)
    day.seal()
    day.prepare()
    assert day.manifest is not None
    roster = replace(
        day.manifest.roster,
        vehicles=(*day.manifest.roster.vehicles[:-1], Vehicle(VehicleId("car-X"), "C1")),
    )
    manifest = prepare_manifest(
        roster,
        scale=1000,
        cap=1000,
        beacon=day.manifest.beacon,
        vrf_key=vrf_public_key(ds.VRF_SECRET),
    )
    data = encode_manifest(manifest)
    step = day.step(
        "allocation.committed", ds.ALLOCATOR, ds.SEAL_UNTIL, **committed_fields(data, manifest)
    )
    with pytest.raises(ExamDayError, match="cars are not the crews' cars"):
        day.day.check(step, data)
