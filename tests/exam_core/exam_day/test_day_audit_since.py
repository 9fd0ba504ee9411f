"""The exam day audited in steps: an audit resumed from a saved state (``--since``) judges the
rest of the day as a full audit of the whole day does — the day is rebuilt from the entries the
earlier audit judged, so a step that follows the cut is checked against everything before it."""

from __future__ import annotations

from typing import Any

from allocation import LateChange
from exam_core.audit.check import check_bundle
from exam_core.audit.incremental import AuditEnd, check_bundle_since, state_from_end
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.report import AuditReport
from exam_core.audit.saved_state import decode_state, encode_state
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.log.policy import render_policy
from tests.exam_core.exam_day import day_script as ds
from tests.exam_core.exam_day.signed_day import CLOSING_MS, EXAMS, SignedDay, Tamper


def _full(day: SignedDay) -> tuple[AuditReport, AuditEnd]:
    ends: list[AuditEnd] = []
    policy = render_policy(day.log.policy())
    bundle = bundle_from_files(day.log.files())
    report = check_bundle(bundle, [ExamDayReplayer()], policy=policy, keep=ends.append)
    return report, ends[-1]


def _since(day: SignedDay, state: bytes) -> AuditReport:
    policy = render_policy(day.log.policy())
    bundle = bundle_from_files(day.log.files())
    report, _ = check_bundle_since(bundle, decode_state(state), [ExamDayReplayer()], policy=policy)
    return report


def _findings(report: AuditReport) -> list[tuple[Any, ...]]:
    return sorted((f.index or -1, f.code, f.severity, f.message) for f in report.findings)


def _day_in_two_parts(tamper: Tamper | None = None) -> tuple[SignedDay, bytes]:
    """The day cut after its first exam (a second exam boarded and started across the cut),
    the state a full audit saved there, then the rest of the day."""
    day = SignedDay(tamper=tamper, strict=tamper is None)
    day.log.checkpoint()
    day.open_session()
    day.allocate()
    roster = list(day.day.sessions[ds.SESSION].roster)
    day.exam(0, roster[0])
    crossing = day.board(roster[1], ts=ds.START + 1_000_000)
    day.start(roster[1], crossing, ts=ds.START + 1_002_000)
    day.log.checkpoint()
    report, end = _full(day)
    assert report.ok, report.findings
    state = encode_state(state_from_end(end, report))
    for chunk in (0, 1):
        day.chunk(roster[1], crossing, chunk, ts=ds.START + 1_060_000 + chunk * 60_000)
    day.end(roster[1], crossing, 2, ts=ds.START + 1_200_000)
    day.do("exam.scored", ds.SCORER, ds.START + 1_205_000, **ds.scored(crossing, 2))
    for number in range(2, EXAMS):
        day.exam(number, roster[number])
    day.repair(LateChange("no_show", roster[EXAMS]), ts=CLOSING_MS)
    day.log.checkpoint()
    return day, state


def test_a_day_resumed_after_its_first_exam_audits_as_the_whole_day() -> None:
    day, state = _day_in_two_parts()
    full, _ = _full(day)
    resumed = _since(day, state)
    assert full.ok
    assert resumed.ok
    assert resumed.entries == full.entries
    assert _findings(resumed) == _findings(full) == []


def test_a_step_after_the_cut_is_judged_against_the_day_before_it() -> None:
    def wrong_tablet(kind: str, actor: str, fields: dict[str, Any]) -> Any:
        # The third exam's boarding signed by another crew's tablet: only the assignment made
        # before the cut shows it is not theirs.
        if kind == "boarding.confirmed" and fields["examiner"] != "E1" and len(seen) == 2:
            return ds.tablet("E1"), fields
        if kind == "boarding.confirmed":
            seen.append(fields["exam"])
        return actor, fields

    seen: list[str] = []
    day, state = _day_in_two_parts(wrong_tablet)
    full, _ = _full(day)
    resumed = _since(day, state)
    assert not full.ok
    assert "day_refused" in {f.code for f in full.findings}
    assert _findings(resumed) == _findings(full)
