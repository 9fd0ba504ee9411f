"""The audit of the driver's snapshots: as many as the draw says, each at its drawn moment.

At each ``snapshot.taken`` the replayer checks its signer (the crew's unit, ``wrong_unit``) and
that the exam has started (``snapshot_early``); at each ``exam.ended`` it recomputes the moments
drawn from the exam's start entry for the time the exam ran (``snapshot_draw``) and compares
them with the snapshots logged: one missing is ``snapshot_missing``, one at another moment is
``snapshot_moment``, one more than the draw is ``snapshot_extra``, frames that do not increase
are ``snapshot_frame``.  The snapshot itself is an encrypted blob: the blob step of the audit
checks that it is there, with its hash and length.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from exam_core.audit.history import AuditHistory, IncrementalIndex
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.evidence.exam_crews import CREW_READS, ExamCrews
from exam_core.evidence.snapshot_draw import snapshot_moments
from exam_core.findings import Finding
from exam_core.log.entry import Entry

SNAPSHOT_TAKEN = "snapshot.taken"


@dataclass(frozen=True)
class _Snapshot:
    index: int
    number: int
    moment_ms: int
    frame: int


@dataclass
class _Snapshots:
    crews: ExamCrews = field(default_factory=ExamCrews)
    taken: dict[str, list[_Snapshot]] = field(default_factory=dict)

    def learn(self, index: int, entry: Entry) -> None:
        self.crews.learn(index, entry)
        if entry.type == SNAPSHOT_TAKEN:
            event = entry.event
            self.taken.setdefault(str(event["exam"]), []).append(
                _Snapshot(
                    index, int(event["snapshot"]), int(event["moment_ms"]), int(event["frame"])
                )
            )


class SnapshotReplayer(RebuiltFromHistory):
    """Checks every exam's snapshots against the moments drawn from its start."""

    def __init__(self) -> None:
        self._index = IncrementalIndex(self.reads, _Snapshots)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({SNAPSHOT_TAKEN, "exam.ended"})

    @property
    def reads(self) -> frozenset[str]:
        return CREW_READS | {SNAPSHOT_TAKEN}

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        known = self._index.before(index, history)
        exam = str(entry.event["exam"])
        facts = known.crews.exams.get(exam)
        if entry.type == SNAPSHOT_TAKEN:
            if facts is None or entry.actor != facts.unit:
                return [
                    Finding(
                        index,
                        "wrong_unit",
                        f"snapshot of exam {exam} by {entry.actor}, not its crew's unit",
                    )
                ]
            if facts.started is None:
                return [
                    Finding(index, "snapshot_early", f"snapshot of exam {exam} before its start")
                ]
            return []
        if facts is None or facts.started is None:
            return []
        _start_index, start = facts.started
        drawn = snapshot_moments(start.data, entry.ts - start.ts)
        taken = sorted(known.taken.get(exam, []), key=lambda s: (s.number, s.index))
        return _compare(index, exam, drawn, taken)


def _compare(index: int, exam: str, drawn: list[int], taken: list[_Snapshot]) -> list[Finding]:
    findings = []
    by_number = {}
    for snap in taken:
        if snap.number in by_number or snap.number >= len(drawn):
            findings.append(
                Finding(
                    snap.index,
                    "snapshot_extra",
                    f"exam {exam}: snapshot {snap.number} is not one of the {len(drawn)} drawn",
                )
            )
            continue
        by_number[snap.number] = snap
        if snap.moment_ms != drawn[snap.number]:
            findings.append(
                Finding(
                    snap.index,
                    "snapshot_moment",
                    f"exam {exam}: snapshot {snap.number} at {snap.moment_ms} ms; "
                    f"the draw says {drawn[snap.number]} ms",
                )
            )
    for number, moment in enumerate(drawn):
        if number not in by_number:
            findings.append(
                Finding(
                    index,
                    "snapshot_missing",
                    f"exam {exam}: snapshot {number}, drawn at {moment} ms, was not taken",
                )
            )
    frames = [by_number[n].frame for n in sorted(by_number)]
    if any(b <= a for a, b in itertools.pairwise(frames)):
        findings.append(
            Finding(index, "snapshot_frame", f"exam {exam}: snapshot frames do not increase")
        )
    return findings
