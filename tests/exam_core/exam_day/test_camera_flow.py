"""The in-car evidence in the exam day's state machine: the camera gates the start, a camera lost
mid-exam makes the exam void (it is never scored), snapshots and video seals come in order from
the crew's own unit.  Each refusal leaves the state unchanged (``DayScript.refused``)."""

from __future__ import annotations

import hashlib

import pytest

from exam_core.errors import StepError
from exam_core.evidence.video_chain import GENESIS, seal_link, sealed_fields
from exam_core.exam_day.exam_flow import ExamPhase
from tests.exam_core.exam_day.day_script import (
    SCORER,
    SESSION,
    START,
    DayScript,
    scored,
    tablet,
    unit,
)


@pytest.fixture
def script() -> DayScript:
    s = DayScript()
    s.open_session()
    s.allocate()
    return s


def _start_fields(script: DayScript, exam: str) -> dict[str, object]:
    gate = script.gate(exam, ts=START + 1_000)
    return {"session": SESSION, "exam": exam, "gate": gate.index}


def test_no_video_signal_before_the_start_refuses_the_start_with_the_reason(
    script: DayScript,
) -> None:
    exam = script.board("c-01", camera=None)
    me = tablet(script.assignment["c-01"])
    error = script.refused("exam.started", me, START + 2_000, **_start_fields(script, exam))
    assert isinstance(error, StepError)
    assert error.code == "camera_not_ready"
    assert "has no video signal (last reported: nothing)" in error.message
    assert error.expected.startswith("camera.status ok from")
    script.camera("c-01", exam, "no_signal")
    error = script.refused("exam.started", me, START + 2_000, **_start_fields(script, exam))
    assert error.code == "camera_not_ready"
    assert "no_signal" in error.message
    script.camera("c-01", exam, "ok")
    script.start("c-01", exam)
    assert script.day.sessions[SESSION].exams[exam].phase is ExamPhase.STARTED


def test_a_camera_report_from_another_unit_is_refused(script: DayScript) -> None:
    exam = script.board("c-01", camera=None)
    mine = script.assignment["c-01"]
    stranger = next(u for e in ("E1", "E2", "E3") if (u := unit(e)) != unit(mine))
    error = script.refused("camera.status", stranger, START, exam=exam, state="ok")
    assert error.code == "wrong_actor"


def test_a_camera_lost_during_the_exam_makes_it_void_and_unscorable(script: DayScript) -> None:
    exam = script.board("c-01")
    script.start("c-01", exam)
    script.chunk("c-01", exam, 0)
    script.camera("c-01", exam, "cable_unplugged", ts=START + 4_000)
    flow = script.day.sessions[SESSION].exams[exam]
    assert flow.void_reason == f"camera cable_unplugged at {START + 4_000} ms"
    script.camera("c-01", exam, "ok", ts=START + 5_000)
    assert flow.void_reason is not None  # a camera back later does not mend the exam
    script.end("c-01", exam, 1)
    error = script.refused("exam.scored", SCORER, START + 70_000, **scored(exam, 1))
    assert error.code == "exam_void"
    assert "cable_unplugged" in error.message


def test_snapshots_come_in_order_while_the_exam_runs(script: DayScript) -> None:
    exam = script.board("c-01")
    mine = unit(script.assignment["c-01"])
    photo = {"frame": 5, "sha256": "ab" * 32, "length": 100, "exam": exam}
    error = script.refused("snapshot.taken", mine, START, snapshot=0, moment_ms=1, **photo)
    assert error.code == "out_of_order"
    script.start("c-01", exam)
    error = script.refused("snapshot.taken", mine, START, snapshot=1, moment_ms=1, **photo)
    assert error.code == "snapshot_order"
    script.do("snapshot.taken", mine, START + 3_000, snapshot=0, moment_ms=1_000, **photo)
    assert script.day.sessions[SESSION].exams[exam].snapshots == 1


def test_video_seals_follow_the_chain_and_the_end_closes_it(script: DayScript) -> None:
    exam = script.board("c-01")
    mine = unit(script.assignment["c-01"])
    first = b"segment zero"

    def seal(number: int, prev: bytes, data: bytes) -> dict[str, object]:
        return sealed_fields(
            exam, segment=number, prev=prev, data=data, start_ms=number * 10, end_ms=number * 10 + 9
        )

    script.do("video.sealed", mine, START, **seal(0, GENESIS, first))
    head = seal_link(
        exam,
        segment=0,
        prev=GENESIS,
        sha256=hashlib.sha256(first).digest(),
        length=len(first),
        start_ms=0,
        end_ms=9,
    )
    assert script.refused("video.sealed", mine, START, **seal(2, head, b"two")).code == "video_gap"
    assert (
        script.refused("video.sealed", mine, START, **seal(1, GENESIS, b"x")).code == "video_link"
    )
    script.start("c-01", exam)
    script.chunk("c-01", exam, 0)
    ended = {"exam": exam, "chunks": 1, "video_segments": 2, "video_head": head.hex()}
    assert script.refused("exam.ended", mine, START + 60_000, **ended).code == "video_tail"
    script.do("exam.ended", mine, START + 60_000, **(ended | {"video_segments": 1}))
