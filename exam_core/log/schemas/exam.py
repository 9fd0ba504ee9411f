"""Event types of the exam domain: start, telemetry chunks, end, scores, emergency stops and
the examiner's calls (DESIGN §6).

Exams are named by a pseudonymous 16-byte id (hex); no personal data appears here.  A score is
signed by the scorer and carries everything needed to recompute it: the course map and rule
table versions, the hashes of the telemetry chunks in order, and the deductions.
"""

from __future__ import annotations

from exam_core.log.schemas.fields import Bool, Enum, Hex, Int, ListOf, Obj, Str
from exam_core.log.schemas.ids import PSEUDONYM
from exam_core.log.schemas.types import SCORER, TABLET, VEHICLE, EventSchema

EXAM_ID = Hex(nbytes=16)
SHA256 = Hex(nbytes=32)
VERSION = Str(max_len=64, pattern=r"[a-z0-9][a-z0-9.\-]*/[0-9]+")
RULE_CODE = Str(max_len=16, pattern=r"[0-9X][0-9]{4,5}")
ITEM = Str(max_len=32, pattern=r"[a-z][a-z_]*")
LICENCE_CLASS = Str(max_len=4, pattern=r"[A-Z][0-9]?")

DEDUCTION = Obj(
    {
        "code": RULE_CODE,
        "item": ITEM,
        "points": Int(minimum=1, maximum=100),
        "frame": Int(minimum=0),
    }
)

MAX_FRAME = 1000 * 6000
"""The last frame an exam can have: 1,000 chunks of 6,000 frames."""

STOP_REASONS = frozenset(
    {"danger", "candidate_unwell", "vehicle_fault", "device_alarm", "weather", "other"}
)

SCHEMAS = (
    EventSchema(
        type="exam.started",
        roles=frozenset({TABLET}),
        fields={
            "session": PSEUDONYM,
            "exam": EXAM_ID,
            "gate": Int(minimum=0),
        },
        doc="The examiner starts the exam, citing (by index) the room's fresh, allowing gate "
        "decision for it.",
    ),
    EventSchema(
        type="exam.ended",
        roles=frozenset({VEHICLE}),
        fields={
            "exam": EXAM_ID,
            "chunks": Int(minimum=1, maximum=100_001),
            "video_segments": Int(minimum=0, maximum=100_000),
            "video_head": SHA256,
        },
        optional=frozenset({"video_segments", "video_head"}),
        doc="The in-car unit closes the exam's telemetry: how many chunks it sent, all logged; "
        "and its video: how many segments it sealed and the link of the last (so a segment "
        "dropped at the end of the chain is missed by nobody).",
    ),
    EventSchema(
        type="telemetry.chunk",
        roles=frozenset({VEHICLE}),
        fields={
            "exam": EXAM_ID,
            "chunk": Int(minimum=0, maximum=100_000),
            "first_frame": Int(minimum=0),
            "frames": Int(minimum=1, maximum=6000),
            "sha256": SHA256,
            "length": Int(minimum=1, maximum=1 << 24),
        },
        doc="One signed telemetry chunk of an exam, stored as a blob; the entry logs its hash.",
    ),
    EventSchema(
        type="exam.scored",
        roles=frozenset({SCORER}),
        fields={
            "exam": EXAM_ID,
            "subject": Int(minimum=2, maximum=3),
            "licence_class": LICENCE_CLASS,
            "map": VERSION,
            "rules": VERSION,
            "chunks": ListOf(SHA256, max_items=1000, min_items=1),
            "stopped": Bool(),
            "score": Int(minimum=0, maximum=100),
            "passed": Bool(),
            "deductions": ListOf(DEDUCTION, max_items=500),
        },
        doc="The automated score, recomputable from the listed chunks, map and rule table.",
    ),
    EventSchema(
        type="exam.stopped",
        roles=frozenset({TABLET}),
        fields={
            "exam": EXAM_ID,
            "reason": Enum(STOP_REASONS),
        },
        doc="The examiner's emergency stop, with a reason from a fixed list (free text could "
        "carry personal data): it ends the exam and changes no points.",
    ),
    EventSchema(
        type="exam.examiner_judged",
        roles=frozenset({TABLET}),
        fields={
            "exam": EXAM_ID,
            "rules": VERSION,
            "code": RULE_CODE,
            "frame": Int(minimum=0, maximum=MAX_FRAME),
        },
        doc="The examiner's call on what no sensor sees (the legacy permission R15 "
        "人工评判不合格): a deduction code of an examiner-judged row of the named rule "
        "table, at the telemetry frame it refers to. It can only deduct; the score counts it "
        "and the audit lists it.",
    ),
)
