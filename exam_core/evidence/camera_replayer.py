"""The audit of the in-car camera: no exam starts without video, none passes after losing it.

Research/domain.md §3.2: "no video signal before the start → the exam cannot start; camera power
cut or video cable unplugged mid-exam → automatic fail".  The in-car unit reports its camera's
state on every change (``camera.status``); this replayer checks, in log order:

- ``camera.status``: signed by the in-car unit of the exam's crew (``wrong_unit``); a camera
  down before the start is reported (``camera_down``, a warning: the exam may not start), a
  camera lost while the exam runs makes it void (``exam_void``, a warning naming the state);
- ``exam.started``: the exam's latest camera report is ``ok`` (``camera_not_ready``);
- ``exam.scored``: the exam is not void (``void_exam_scored``).

A "camera ok" signed by a key of another role never reaches this replayer: the log's own rules
refuse it (the role table), and the audit reports that entry as refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exam_core.audit.history import AuditHistory, IncrementalIndex
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.evidence.exam_crews import CREW_READS, ExamCrews
from exam_core.findings import WARNING, Finding
from exam_core.log.entry import Entry
from exam_core.log.schemas.evidence import CAMERA_OK

CAMERA_STATUS = "camera.status"


@dataclass
class _Cameras:
    crews: ExamCrews = field(default_factory=ExamCrews)
    latest: dict[str, str] = field(default_factory=dict)
    """Exam → its latest camera state reported by its crew's unit."""
    void: dict[str, str] = field(default_factory=dict)
    """Exam → why it is void (the first camera loss while it ran)."""

    def learn(self, index: int, entry: Entry) -> None:
        self.crews.learn(index, entry)
        if entry.type != CAMERA_STATUS:
            return
        exam, state = str(entry.event["exam"]), str(entry.event["state"])
        facts = self.crews.exams.get(exam)
        if facts is None or entry.actor != facts.unit:
            return  # not the crew's camera: reported when replayed, trusted for nothing
        self.latest[exam] = state
        if state != CAMERA_OK and facts.started is not None and facts.ended is None:
            self.void.setdefault(exam, f"camera {state} at {entry.ts} ms (entry {index})")


class CameraReplayer(RebuiltFromHistory):
    """Checks camera health against every exam's start, run and score."""

    def __init__(self) -> None:
        self._index = IncrementalIndex(self.reads, _Cameras)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({CAMERA_STATUS, "exam.started", "exam.scored"})

    @property
    def reads(self) -> frozenset[str]:
        return CREW_READS | {CAMERA_STATUS}

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        known = self._index.before(index, history)
        exam = str(entry.event["exam"])
        facts = known.crews.exams.get(exam)
        if entry.type == "exam.started":
            state = known.latest.get(exam)
            if state != CAMERA_OK:
                return [
                    Finding(
                        index,
                        "camera_not_ready",
                        f"exam {exam} started with no video signal "
                        f"(its camera last reported {state or 'nothing'})",
                    )
                ]
            return []
        if entry.type == "exam.scored":
            reason = known.void.get(exam)
            if reason is not None:
                return [Finding(index, "void_exam_scored", f"exam {exam} is void: {reason}")]
            return []
        if facts is None:
            return [Finding(index, "not_boarded", f"camera of exam {exam}, which never boarded")]
        if entry.actor != facts.unit:
            return [
                Finding(
                    index,
                    "wrong_unit",
                    f"camera of exam {exam} reported by {entry.actor}, not its crew's unit",
                )
            ]
        state = str(entry.event["state"])
        if state == CAMERA_OK:
            return []
        if facts.started is None:
            return [
                Finding(
                    index,
                    "camera_down",
                    f"exam {exam}: camera {state} before the start: the exam may not start",
                    WARNING,
                )
            ]
        if facts.ended is None and exam not in known.void:
            return [
                Finding(
                    index,
                    "exam_void",
                    f"exam {exam} is void: camera {state} during the exam",
                    WARNING,
                )
            ]
        return []
