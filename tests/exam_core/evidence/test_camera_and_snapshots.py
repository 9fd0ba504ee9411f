"""The in-car camera in the audit: no start without video, void when lost, snapshots at the drawn
moments; a forged "camera ok" from the wrong key is refused.  (The live flow: test_camera_flow.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from api.replayers import default_replayers
from exam_core.audit.check import check_bundle
from exam_core.audit.history import Replayer
from exam_core.audit.reader import read_bundle
from exam_core.evidence.snapshot_draw import (
    FIRST_SNAPSHOTS,
    FIRST_WINDOW_MS,
    snapshot_moments,
)
from exam_core.exam_day.replayer import ExamDayReplayer
from tests.exam_core.evidence.exam_log import END_TS, START_TS, ExamLog


def _evidence_replayers() -> list[Replayer]:
    """The audit's replayers but the exam day's: this log holds exams with their evidence, not a
    whole day (no room configured, no check-in, no draw), which the day's own replay refuses
    (tests/exam_core/exam_day/test_day_audit.py)."""
    return [r for r in default_replayers() if not isinstance(r, ExamDayReplayer)]


def _findings(log: ExamLog, root: Path) -> list[tuple[str, str]]:
    bundle = log.write(root)
    # The auditor pinned the log's policy out of band; here it is the one the log wrote.
    pinned = (bundle / "policy").read_bytes()
    report = check_bundle(read_bundle(bundle), _evidence_replayers(), policy=pinned)
    return [(f.code, f.severity) for f in report.findings]


def _run(log: ExamLog, examiner: str = "E1") -> None:
    """Start (the camera as the test left it), record, photograph and end the exam."""
    log.start(examiner)
    head = log.record(examiner, 2)
    log.snapshots(examiner)
    log.end(examiner, 2, head)


def test_an_honest_exam_audits_clean_with_at_least_five_snapshots(tmp_path: Path) -> None:
    log = ExamLog()
    log.honest_exam("E1")
    assert len(log.drawn("E1")) >= FIRST_SNAPSHOTS
    assert _findings(log, tmp_path / "b") == []


def test_an_exam_that_started_without_video_is_found(tmp_path: Path) -> None:
    log = ExamLog()
    log.board("E1")
    log.camera("E1", "no_signal")
    _run(log)
    assert ("camera_not_ready", "error") in _findings(log, tmp_path / "b")


def test_an_exam_whose_camera_never_came_up_and_did_not_start_is_reported(tmp_path: Path) -> None:
    log = ExamLog()
    log.board("E1")
    log.camera("E1", "no_signal")
    assert _findings(log, tmp_path / "b") == [("camera_down", "warning")]


def test_a_camera_lost_during_the_exam_makes_it_void_and_a_score_of_it_is_found(
    tmp_path: Path,
) -> None:
    log = ExamLog()
    log.begin("E1")
    head = log.record("E1", 2)
    log.camera("E1", "cable_unplugged")
    log.camera("E1", "ok")  # back again: the exam stays void
    log.snapshots("E1")
    log.end("E1", 2, head)
    assert _findings(log, tmp_path / "void") == [("exam_void", "warning")]
    log.score("E1", 100)
    codes = {code for code, _ in _findings(log, tmp_path / "scored")}
    assert {"exam_void", "void_exam_scored"} <= codes


def test_a_forged_camera_ok_from_the_wrong_key_is_refused(tmp_path: Path) -> None:
    log = ExamLog()
    log.board("E1")
    log.camera("E1", "no_signal")
    log.camera("E1", "ok", signer=log.tablets["E2"])  # a tablet may not sign camera status
    _run(log)
    codes = {code for code, _ in _findings(log, tmp_path / "tablet")}
    assert {"role_forbidden", "camera_not_ready"} <= codes
    other = ExamLog()
    other.board("E1")
    other.camera("E1", "no_signal")
    other.camera("E1", "ok", signer=other.units["E2"])  # another car's unit
    _run(other)
    codes = {code for code, _ in _findings(other, tmp_path / "unit")}
    assert {"wrong_unit", "camera_not_ready"} <= codes


def _photographed(tmp_path: Path, change: Callable[[ExamLog], object]) -> set[str]:
    log = ExamLog()
    log.begin("E1")
    head = log.record("E1", 2)
    change(log)
    log.end("E1", 2, head)
    return {code for code, severity in _findings(log, tmp_path / "b") if severity == "error"}


def test_a_missing_snapshot_is_found(tmp_path: Path) -> None:
    def skip_third(log: ExamLog) -> None:
        for number, moment in enumerate(log.drawn("E1")):
            if number != 2:
                log.snapshot("E1", number, moment)

    assert _photographed(tmp_path, skip_third) == {"snapshot_missing"}


def test_a_snapshot_at_another_moment_is_found(tmp_path: Path) -> None:
    def late_first(log: ExamLog) -> None:
        for number, moment in enumerate(log.drawn("E1")):
            log.snapshot("E1", number, moment + (1_000 if number == 0 else 0))

    assert _photographed(tmp_path, late_first) == {"snapshot_moment"}


def test_an_extra_snapshot_and_frames_that_go_back_are_found(tmp_path: Path) -> None:
    def extra(log: ExamLog) -> None:
        drawn = log.drawn("E1")
        for number, moment in enumerate(drawn):
            log.snapshot("E1", number, moment, frame=1_000 - number)
        log.snapshot("E1", len(drawn), END_TS - START_TS - 1)

    assert _photographed(tmp_path, extra) == {"snapshot_extra", "snapshot_frame"}


def test_the_draw_is_bound_to_the_start_entry_and_recomputable() -> None:
    moments = snapshot_moments(b"start entry A", 20 * 60_000)
    assert moments == snapshot_moments(b"start entry A", 20 * 60_000)
    assert moments != snapshot_moments(b"start entry B", 20 * 60_000)
    assert len(moments) > FIRST_SNAPSHOTS
    assert all(m < FIRST_WINDOW_MS for m in moments[:FIRST_SNAPSHOTS])
    assert moments == sorted(set(moments))
    # An exam that ends early is photographed only at the moments before its end.
    assert snapshot_moments(b"start entry A", moments[2] + 1) == moments[:3]


@pytest.mark.parametrize("seed", range(200))
def test_every_draw_has_five_distinct_moments_in_the_first_window(seed: int) -> None:
    moments = snapshot_moments(seed.to_bytes(4, "big"), FIRST_WINDOW_MS)
    assert len(moments) >= FIRST_SNAPSHOTS
    assert len(set(moments)) == len(moments)
