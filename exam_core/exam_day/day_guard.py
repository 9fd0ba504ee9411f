"""The exam day as the centre's guard: each day step checked before it is sequenced.

Why it exists: the centre's writer takes a rule above the log (``exam_core.centre.guard``)
without knowing the exam day; ``DayGuard`` is that rule for the day.  It feeds ``ExamDay`` every
entry of the log in order — from the log when the centre opens, then each admitted entry — and
refuses an entry the day refuses (``StepError``: out of order; ``ExamDayError``: it contradicts
the day — a room configured with a gateway that is not a registered gateway key among them).
Entries of other types pass unchecked; key registrations and revocations are recorded (the day
judges a room's gateway by them), never refused.

Besides the day it keeps what the service reads about it: the examiner's calls of each exam
(``exam.examiner_judged``, which the scorer counts), the sealed video segments and how each
exam closed its chain (``POST /evidence/video`` proves a file against them), and whom to tell
when an exam ends (the scorer).  Readers take ``lock`` so that they see the day between two
entries, never during one.

Rebuilding reads the whole log but parses only the entries whose bytes name a day type
(``DAY_TYPE``): the canonical JSON of an entry always holds ``"type":"<its type>"``, and a
string value cannot hold that sequence unescaped, so the filter never misses a day entry; an
entry it lets through is parsed and routed by its real type.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from exam_core.centre.blobs import BlobStore
from exam_core.centre.store import LogStore
from exam_core.errors import EntryError, ExamDayError, StoreError
from exam_core.evidence.video_chain import VIDEO_SEALED, ChainEnd, Seal
from exam_core.exam_day.day import ExamDay, IdHashes
from exam_core.exam_day.session_rows import id_hashes_of
from exam_core.exam_day.steps import Step
from exam_core.log.entry import Entry, parse_entry

logger = logging.getLogger(__name__)

DAY_TYPE = re.compile(
    rb'"type":"(?:key\.registered|key\.revoked|room\.configured|device\.gate|session\.'
    rb"|checkin\.|allocation\.|boarding\.|exam\.|telemetry\.chunk|video\.sealed|camera\.status"
    rb"|snapshot\.taken)"
)
"""Bytes of an entry whose type the day may route (a superset: the parse decides)."""

Ended = Callable[[str, int], None]
"""``ended(exam, index)``: told when an ``exam.ended`` entry at ``index`` joins the log."""


@dataclass(frozen=True)
class ScoredEntry:
    """An exam's ``exam.scored`` as the day took it: where, and the signed result."""

    index: int
    passed: bool
    score: int
    deductions: tuple[tuple[str, int, int], ...]
    """(code, points, frame) of each deduction."""


@dataclass(frozen=True)
class ExaminerCallEntry:
    """An ``exam.examiner_judged`` entry: where, which rule table, which rule, at which frame."""

    index: int
    rules: str
    code: str
    frame: int


class DayGuard:
    """The exam day of one centre's log, checking and recording its entries in order."""

    def __init__(self, origin: str, blobs: BlobStore, id_hashes: IdHashes | None) -> None:
        self.origin = origin
        self.lock = threading.RLock()
        self._blobs = blobs
        self._id_hashes = id_hashes
        self._listeners: list[Ended] = []
        self.day = ExamDay(origin, id_hashes)
        self.calls: dict[str, list[ExaminerCallEntry]] = {}
        self.results: dict[str, ScoredEntry] = {}
        self.scoring_errors: dict[str, str] = {}
        """Exam → why the service's scorer could not score it (kept until it is scored)."""
        self.seals: list[Seal] = []
        """Every admitted ``video.sealed``, in log order (``evidence verify`` over HTTP)."""
        self.chain_ends: dict[str, ChainEnd] = {}
        """Exam → how its ``exam.ended`` closed its video chain."""
        self._size = 0
        self.ignored = 0
        """Logged entries the day refused on replay (written before it kept watch)."""

    # --- EntryGuard ----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def check(self, index: int, entry: Entry) -> None:
        """Whether the day takes ``entry`` at ``index``.

        Raises:
            StepError: the step is out of order; ``expected`` names what may come.
            ExamDayError: the step contradicts the day, or names a manifest not uploaded.
        """
        step = Step.of(index, entry)
        manifest = self._manifest(entry)
        if entry.type == "allocation.committed" and manifest is None:
            raise ExamDayError(
                "manifest_missing",
                f"upload the manifest {entry.event.get('manifest_sha256')} before committing it",
            )
        with self.lock:
            self.day.check(step, manifest)

    def apply(self, index: int, entry: Entry) -> None:
        """Record ``entry`` (a refusal of a logged entry is counted and logged, not raised)."""
        step = Step.of(index, entry)
        ended = False
        with self.lock:
            try:
                self.day.apply(step, self._manifest(entry))
            except (ExamDayError, RuntimeError) as e:
                self.ignored += 1
                logger.warning("exam day: entry %d (%s) not taken: %s", index, entry.type, e)
            else:
                ended = entry.type == "exam.ended"
                if entry.type == "exam.scored":
                    self._scored(index, entry)
                self._evidence(index, entry)
            if entry.type == "exam.examiner_judged":
                self._call(index, entry)
            self._size = index + 1
            listeners = list(self._listeners)
        if ended:
            for listener in listeners:
                listener(str(entry.event["exam"]), index)

    def replay(self, index: int, data: bytes) -> None:
        """Record logged bytes: parsed only if they may be a day entry."""
        if DAY_TYPE.search(data) is None:
            with self.lock:
                self._size = index + 1
            return
        try:
            entry = parse_entry(data)
        except EntryError as e:  # the registry's own catch-up refuses it too
            logger.warning("exam day: entry %d does not parse: %s", index, e)
            with self.lock:
                self._size = index + 1
            return
        self.apply(index, entry)

    def reset(self) -> None:
        with self.lock:
            self.day = ExamDay(self.origin, self._id_hashes)
            self.calls = {}
            self.results = {}
            self.seals = []
            self.chain_ends = {}
            self._size = 0
            self.ignored = 0

    # --- the service's side --------------------------------------------------------------------

    def on_ended(self, listener: Ended) -> None:
        """Tell ``listener`` of each exam that ends from now on (in the writer's thread: it must
        not block)."""
        with self.lock:
            self._listeners.append(listener)

    def _call(self, index: int, entry: Entry) -> None:
        event = entry.event
        call = ExaminerCallEntry(
            index, str(event["rules"]), str(event["code"]), int(event["frame"])
        )
        self.calls.setdefault(str(event["exam"]), []).append(call)

    def _evidence(self, index: int, entry: Entry) -> None:
        event = entry.event
        if entry.type == VIDEO_SEALED:
            self.seals.append(Seal.of(index, entry.actor, event))
        elif entry.type == "exam.ended" and "video_segments" in event:
            self.chain_ends.setdefault(
                str(event["exam"]),
                ChainEnd(
                    index, int(event["video_segments"]), bytes.fromhex(str(event["video_head"]))
                ),
            )

    def _scored(self, index: int, entry: Entry) -> None:
        event = entry.event
        deductions = tuple(
            (str(d["code"]), int(d["points"]), int(d["frame"])) for d in event["deductions"]
        )
        self.results[str(event["exam"])] = ScoredEntry(
            index, bool(event["passed"]), int(event["score"]), deductions
        )

    def _manifest(self, entry: Entry) -> bytes | None:
        if entry.type != "allocation.committed":
            return None
        sha = str(entry.event.get("manifest_sha256", ""))
        try:
            return self._blobs.get(sha) if self._blobs.has(sha) else None
        except StoreError:
            return None


def centre_day_guard(origin: str, store: LogStore, blobs: BlobStore) -> DayGuard:
    """The day guard of a centre (a ``GuardFactory``): the ID hashes a check-in is checked
    against are those of the session's bookings in the centre's database."""
    engine = store.engine

    def id_hashes(session: str) -> dict[str, str]:
        with Session(engine) as db:
            return id_hashes_of(db, session)

    return DayGuard(origin, blobs, id_hashes)


__all__ = [
    "DAY_TYPE",
    "DayGuard",
    "Ended",
    "ExaminerCallEntry",
    "ScoredEntry",
    "centre_day_guard",
]
