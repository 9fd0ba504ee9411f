"""The large vehicles' field: the tunnel's headlights half of 21401, and a field without the
small-car items leaves their rules nothing to decide."""

from __future__ import annotations

from exam_core.log.note import Ed25519Signer
from exam_core.scoring import FieldCourse, RuleTable, score_chunks
from exam_core.scoring.sim.large_field_script import simulate_large_field

from .conftest import chunk_blobs


def test_entering_the_tunnel_without_headlights_is_21401(
    large_field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    run = simulate_large_field(large_field, 7, headlights_on_approach=False)
    result = score_chunks(chunk_blobs(vehicle, run.frames), large_field, table, "A1")
    hits = [d for d in result.deductions if d.code == "21401"]
    assert [(d.points, d.item) for d in hits] == [(100, "tunnel")]
    # the frame is the tunnel's entry, where the slowed-down (clean) run is judged as well
    clean = simulate_large_field(large_field, 7)
    assert clean.frames[hits[0].frame].speed <= table.rules["21401"].param("max_speed_mm_s")
    assert score_chunks(chunk_blobs(vehicle, clean.frames), large_field, table, "A1").score == 100


def test_a_clean_bus_run_passes_at_the_large_vehicle_mark(
    large_field: FieldCourse, table: RuleTable, vehicle: Ed25519Signer
) -> None:
    run = simulate_large_field(large_field, 11, ["21403"])
    result = score_chunks(chunk_blobs(vehicle, run.frames), large_field, table, "A1")
    assert [(d.code, d.points) for d in result.deductions] == [("21403", 10)]
    assert (result.score, result.passed) == (90, True)
    run = simulate_large_field(large_field, 11, ["21403", "21404"])
    result = score_chunks(chunk_blobs(vehicle, run.frames), large_field, table, "A1")
    assert (result.score, result.passed) == (80, False)
