"""The scripted exam day as an audit bundle: every step a signed entry, every blob present.

``SignedDay`` drives ``day_script.DayScript`` and writes each step into a ``LogBuilder`` log,
signed by the key of the step's actor (each registered by the log's administrator), with the
step's own time.  A ``Tamper`` sees each step before it is signed and may drop it or rewrite
its signer and fields: the tampered entries are then signed like the honest ones, so the
signatures, ``seq`` numbers, tree and checkpoints of a tampered bundle all hold, and only the
exam day's logic can tell.  The script's own day follows the honest steps (refusals tolerated
when ``strict`` is off), so that the steps after a tampered one are what the centre really
signed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from allocation import LateChange
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.reader import bundle_from_files
from exam_core.errors import ExamDayError
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.exam_day.steps import Step
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import render_policy
from tests.exam_core.audit.bundle_factory import LogBuilder
from tests.exam_core.exam_day import day_script as ds

Tamper = Callable[[str, str, dict[str, Any]], tuple[str, dict[str, Any]] | None]
"""(type, signer, fields) of a step → the signer and fields to sign instead, or None: drop it."""

REQUIRES: dict[str, Any] = {
    "jammers": {"field-1/jammer": [1, 2, 3]},
    "detectors": ["field-1/detector"],
    "canaries": ["field-1/canary"],
    "max_age_ms": 2000,
}
"""What the scripted field's configuration requires, as its gateway applies it."""
INVESTIGATOR = f"{ds.ORIGIN}/investigator/i1"
EXAM_SPACING_MS = 45 * 60_000
"""One exam every 45 minutes: a day's exams far enough apart for a missing score to be late."""
EXAMS = 4
LAST_EXAM = EXAMS - 1
"""The last exam is stopped by its examiner."""
CLOSING_MS = ds.START + 3 * 3_600_000
"""The day's last step, a no-show repaired: three hours after the start."""


KEYS_MS = ds.CHECKIN - 3_600_000
"""When the day's keys are registered: before its first step."""


class DayLog(LogBuilder):
    """A ``LogBuilder`` on the scripted day's clock: its key registrations come before the day
    (a ``SignedDay`` gives every step its own time)."""

    def event(self, signer: Ed25519Signer, type_: str, **fields: object) -> dict[str, object]:
        return super().event(signer, type_, **fields) | {"ts": KEYS_MS}


def _roles() -> dict[str, str]:
    roles = {
        ds.GATEWAY: "gateway",
        ds.TERMINAL: "terminal",
        ds.SUPERVISOR: "supervisor",
        ds.ALLOCATOR: "allocator",
        ds.SCORER: "scorer",
        INVESTIGATOR: "investigator",
    }
    for examiner in ds.EXAMINERS:
        roles[ds.tablet(examiner)] = "tablet"
        roles[ds.unit(examiner)] = "vehicle"
    return roles


@dataclass
class SignedDay(ds.DayScript):
    log: LogBuilder = field(default_factory=DayLog)
    signers: dict[str, Ed25519Signer] = field(default_factory=dict)
    tamper: Tamper | None = None
    strict: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.signers[ds.ADMIN] = self.log.admin
        for name, role in _roles().items():
            label = name.rsplit("/", 1)[1]
            self.signers[name] = self.log.key(label, role)
            assert self.signers[name].name == name

    def do(
        self, step_type: str, actor: str, ts: int, manifest: bytes | None = None, /, **fields: Any
    ) -> Step:
        self.index = len(self.log.entries)
        step = self.step(step_type, actor, ts, **fields)
        try:
            self.day.apply(step, manifest)
        except ExamDayError:
            if self.strict:
                raise
        signed = (actor, fields) if self.tamper is None else self.tamper(step_type, actor, fields)
        if signed is not None:
            signer = self.signers[signed[0]]
            event = self.log.event(signer, step_type, **signed[1]) | {"ts": ts}
            self.log.append_bytes(make_entry(signer, event))
        if manifest is not None:
            self.log.blob(manifest)
        return step

    # --- steps whose evidence the audit reads -------------------------------------------------

    def gate(self, exam: str | None, allowed: bool = True, ts: int = ds.START + 1_000) -> Step:
        fields: dict[str, Any] = {
            "room": ds.ROOM,
            "allowed": allowed,
            "reasons": [] if allowed else ["field-1/jammer: band 3 VSWR alarm"],
            "evidence": [],
            "requires": REQUIRES,
            "mono_ms": ts,
        }
        if exam is not None:
            fields["exam"] = exam
        return self.do("device.gate", ds.GATEWAY, ts, **fields)

    def chunk(
        self, candidate: str, exam: str, number: int, frames: int = 100, ts: int = ds.START + 3_000
    ) -> Step:
        data = f"{exam}/{number}".encode()  # hashes to day_script.chunk_hash(exam, number)
        self.log.blob(data)
        return self.do(
            "telemetry.chunk",
            ds.unit(self.assignment[candidate]),
            ts,
            exam=exam,
            chunk=number,
            first_frame=number * frames,
            frames=frames,
            sha256=ds.chunk_hash(exam, number),
            length=len(data),
        )

    # --- the day --------------------------------------------------------------------------------

    def exam(self, number: int, candidate: str, *, alarm_first: bool = False) -> str:
        """Board, gate, start, two chunks, end and score ``candidate``'s exam (the last one
        stopped by its examiner); ``alarm_first``: the gate refuses once before it allows."""
        base = ds.START + number * EXAM_SPACING_MS
        exam = self.board(candidate, ts=base)
        if alarm_first:
            self.gate(exam, allowed=False, ts=base + 500)
        self.start(candidate, exam, ts=base + 2_000)
        for chunk in (0, 1):
            self.chunk(candidate, exam, chunk, ts=base + 60_000 * (chunk + 1))
        stopped = number == LAST_EXAM
        if stopped:
            tablet = ds.tablet(self.assignment[candidate])
            self.do("exam.stopped", tablet, base + 150_000, exam=exam, reason="danger")
        self.end(candidate, exam, 2, ts=base + 20 * 60_000)
        self.do(
            "exam.scored",
            ds.SCORER,
            base + 20 * 60_000 + 5_000,
            **ds.scored(exam, 2, passed=not stopped, stopped=stopped),
        )
        return exam

    def whole_day(self) -> None:
        """A session from its opening to its last exam, and a no-show repaired at the end."""
        self.log.checkpoint()
        self.open_session()
        self.allocate()
        roster = list(self.day.sessions[ds.SESSION].roster)
        for number in range(EXAMS):
            self.exam(number, roster[number], alarm_first=number == 2)
        self.repair(LateChange("no_show", roster[EXAMS]), ts=CLOSING_MS)
        self.log.checkpoint()

    def audit(self) -> AuditReport:
        bundle = bundle_from_files(self.log.files())
        policy = render_policy(self.log.policy())
        return check_bundle(bundle, [ExamDayReplayer()], policy=policy)

    def index_of(self, step_type: str, nth: int = 0, **fields: Any) -> int:
        """The index of the ``nth`` entry of ``step_type`` in the log with these fields."""
        found = [
            i
            for i, data in enumerate(self.log.entries)
            if _event(data)["type"] == step_type
            and all(_event(data).get(k) == v for k, v in fields.items())
        ]
        return found[nth]


def _event(data: bytes) -> dict[str, Any]:
    return dict(json.loads(data.split(b"\n", 1)[0]))
