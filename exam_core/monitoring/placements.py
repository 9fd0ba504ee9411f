"""Who was drawn for whom, and who passed: a centre's placements, read from its entries.

The statistics (``exam_core.monitoring.statistics``) need, per candidate of each committed
allocation, the candidate's school and F's row (from the session's manifest blob), the examiner
the draw gave (``allocation.made``, as later ``allocation.repaired`` entries change it), and the
result (``exam.scored``, tied to the candidate by ``boarding.confirmed``).  ``PlacementTally``
collects them as the mirror hands over verified entries in log order.  The manifest is fetched
through ``manifest(sha256_hex)``, which returns its bytes or None; a session whose manifest is
missing or does not parse is left out (the audit of the allocation reports it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from allocation.errors import ManifestError
from allocation.manifest import parse_manifest
from exam_core.monitoring.statistics import Placement

__all__ = ["PlacementTally"]


@dataclass
class _Session:
    placements: dict[str, Placement]
    manifest_sha256: str


class PlacementTally:
    """The placements of one centre's log (see the module docstring)."""

    def __init__(self, manifest: Callable[[str], bytes | None]) -> None:
        self._manifest = manifest
        self._sessions: dict[str, _Session] = {}
        self._exams: dict[str, tuple[str, str]] = {}

    def observe(self, index: int, event: Mapping[str, Any]) -> None:
        """Take entry ``index`` (its decoded, verified event)."""
        kind = event.get("type")
        if kind == "allocation.made":
            self._made(index, event)
        elif kind == "allocation.repaired":
            self._repaired(event)
        elif kind == "boarding.confirmed":
            self._exams[str(event["exam"])] = (str(event["session"]), str(event["candidate"]))
        elif kind == "exam.scored":
            self._scored(index, event)

    def placements(self, since_ms: int) -> list[Placement]:
        """Every placement of allocations made after ``since_ms``."""
        return [
            p
            for session in self._sessions.values()
            for p in session.placements.values()
            if p.at_ms > since_ms
        ]

    def _made(self, index: int, event: Mapping[str, Any]) -> None:
        data = self._manifest(str(event["manifest_sha256"]))
        if data is None:
            return
        try:
            manifest = parse_manifest(data)
        except ManifestError:
            return
        examiners = [e.id for e in manifest.roster.examiners]
        drawn = {str(c): str(e) for c, e in event["assignment"]}
        placements: dict[str, Placement] = {}
        for candidate, row in zip(manifest.roster.candidates, manifest.fractional, strict=True):
            placements[candidate.id] = Placement(
                candidate=candidate.id,
                school=candidate.school,
                shares=tuple((examiners[e], units / manifest.scale) for e, units in row),
                examiner=drawn.get(candidate.id),
                passed=None,
                allocation_entry=index,
                at_ms=int(event["ts"]),
            )
        self._sessions[str(event["session"])] = _Session(placements, str(event["manifest_sha256"]))

    def _repaired(self, event: Mapping[str, Any]) -> None:
        session = self._sessions.get(str(event["session"]))
        if session is None or session.manifest_sha256 != event["manifest_sha256"]:
            return
        drawn = {str(c): str(e) for c, e in event["assignment"]}
        for candidate, placement in session.placements.items():
            session.placements[candidate] = replace(placement, examiner=drawn.get(candidate))

    def _scored(self, index: int, event: Mapping[str, Any]) -> None:
        boarded = self._exams.get(str(event["exam"]))
        if boarded is None:
            return
        session = self._sessions.get(boarded[0])
        placement = session.placements.get(boarded[1]) if session is not None else None
        if session is None or placement is None or placement.result_entry is not None:
            return  # no allocation to hold it to, or a second score (the audit's finding)
        session.placements[boarded[1]] = replace(
            placement, passed=bool(event["passed"]), result_entry=index
        )
