"""The sealed roster of one session: who is examined, who examines, and the declared ties.

Everything here is pseudonymous (DESIGN §3.1): candidates, examiners and driving schools are
opaque ids, and each tie that can create a conflict of interest carries the reference of the
evidence that established it (an employment record, a declaration, a previous exam), so the
auditor can follow every exclusion back to its source without seeing personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

CandidateId = NewType("CandidateId", str)
ExaminerId = NewType("ExaminerId", str)
SchoolId = NewType("SchoolId", str)
EvidenceRef = NewType("EvidenceRef", str)
VehicleId = NewType("VehicleId", str)
RouteId = NewType("RouteId", str)

LICENCE_CLASSES: frozenset[str] = frozenset(
    {"A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6", "D", "E", "F", "M", "N", "P"}
)
"""Driving-licence classes of the PRC licensing regulations (公安部令第162号, annex 1)."""


@dataclass(frozen=True)
class PreviousFail:
    """The candidate's last failed attempt: who examined it, and the exam that proves it."""

    examiner: ExaminerId
    evidence: EvidenceRef


@dataclass(frozen=True)
class Candidate:
    id: CandidateId
    licence_class: str
    school: SchoolId
    previous_fail: PreviousFail | None = None


@dataclass(frozen=True)
class Employment:
    """A driving school the examiner formerly worked for, with the record that shows it."""

    school: SchoolId
    evidence: EvidenceRef


@dataclass(frozen=True)
class Examiner:
    id: ExaminerId
    classes: frozenset[str]
    former_schools: tuple[Employment, ...] = ()
    load_min: int | None = None
    """Fewest candidates this session; ``None`` means ⌊n/m⌋."""
    load_max: int | None = None
    """Most candidates this session; ``None`` means ⌈n/m⌉."""


@dataclass(frozen=True)
class Relation:
    """A declared family tie between an examiner and a candidate."""

    examiner: ExaminerId
    candidate: CandidateId
    evidence: EvidenceRef


@dataclass(frozen=True)
class Vehicle:
    """An exam car: the licence class it is fitted for and the driving school it belongs to
    (``None`` for the centre's own fleet); no candidate ever drives their own school's car."""

    id: VehicleId
    licence_class: str
    school: SchoolId | None = None


@dataclass(frozen=True)
class Roster:
    """Candidates and examiners in canonical order (ascending id) and the declared relations;
    for a draw of vehicles and routes too, the cars available and the session's approved routes
    (科目三), each by ascending id."""

    session: str
    candidates: tuple[Candidate, ...]
    examiners: tuple[Examiner, ...]
    relatives: tuple[Relation, ...] = ()
    vehicles: tuple[Vehicle, ...] = ()
    routes: tuple[RouteId, ...] = ()

    def load_window(self, examiner: Examiner) -> tuple[int, int]:
        """The examiner's configured window, or ⌊n/m⌋..⌈n/m⌉ by default."""
        n, m = len(self.candidates), len(self.examiners)
        low = examiner.load_min if examiner.load_min is not None else n // m
        high = examiner.load_max if examiner.load_max is not None else -(-n // m)
        return low, high
