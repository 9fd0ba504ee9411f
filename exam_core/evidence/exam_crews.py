"""Which in-car unit may sign for which exam, and when each exam started and ended.

The evidence of an exam (camera status, video seals, snapshots) is signed by the in-car unit of
the crew that boarded it: ``session.opened`` names each examiner's crew (tablet, car, unit) and
``boarding.confirmed`` says which examiner boarded which exam.  The evidence replayers learn
these facts from the earlier entries, in log order, through one ``IncrementalIndex`` each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exam_core.log.entry import Entry

CREW_READS = frozenset({"session.opened", "boarding.confirmed", "exam.started", "exam.ended"})
"""The entry types ``ExamCrews`` learns from."""


@dataclass
class ExamFacts:
    """What the log says of one exam so far."""

    unit: str | None
    boarded: int
    started: tuple[int, Entry] | None = None
    ended: tuple[int, Entry] | None = None


@dataclass
class ExamCrews:
    """The crews of every session, and for each boarded exam its unit, start and end."""

    units: dict[tuple[str, str], str] = field(default_factory=dict)
    """(session, examiner) → the key of the in-car unit of the examiner's crew."""
    exams: dict[str, ExamFacts] = field(default_factory=dict)

    def learn(self, index: int, entry: Entry) -> None:
        event = entry.event
        if entry.type == "session.opened":
            for crew in event["crews"]:
                self.units[(str(event["session"]), str(crew["examiner"]))] = str(crew["unit"])
        elif entry.type == "boarding.confirmed":
            unit = self.units.get((str(event["session"]), str(event["examiner"])))
            self.exams.setdefault(str(event["exam"]), ExamFacts(unit, index))
        else:
            facts = self.exams.get(str(event["exam"]))
            if facts is None:
                return
            if entry.type == "exam.started" and facts.started is None:
                facts.started = (index, entry)
            elif entry.type == "exam.ended" and facts.ended is None:
                facts.ended = (index, entry)
