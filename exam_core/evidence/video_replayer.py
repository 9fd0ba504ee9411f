"""The audit of sealed video: every exam's chain of ``video.sealed`` entries, and its end.

For each ``video.sealed`` entry: the exam has boarded and the seal is signed by the in-car unit
of the crew that boarded it (``wrong_unit``, ``not_boarded``); the seal follows the chain so far
(``video_gap``, ``video_order``, ``video_link``, ``video_time``: ``video_chain.ChainState``).
For each ``exam.ended``: the chain's count and last link are the ones the end names
(``video_unclosed``, ``video_tail``), and an exam that started has sealed video
(``video_missing``).  A sealed segment's bytes are blobs: the audit's blob step finds one that
is absent or changed (``blob_missing``, ``blob_hash``), so no byte of the video can change
unseen either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from exam_core.audit.history import AuditHistory, IncrementalIndex
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.evidence.exam_crews import CREW_READS, ExamCrews
from exam_core.evidence.video_chain import VIDEO_SEALED, ChainEnd, ChainState, Seal
from exam_core.findings import Finding
from exam_core.log.entry import Entry


@dataclass
class _Chains:
    crews: ExamCrews = field(default_factory=ExamCrews)
    chains: dict[str, ChainState] = field(default_factory=dict)

    def learn(self, index: int, entry: Entry) -> None:
        if entry.type == VIDEO_SEALED:
            seal = Seal.of(index, entry.actor, entry.event)
            self.chains.setdefault(seal.exam, ChainState()).advance(seal)
        else:
            self.crews.learn(index, entry)


class VideoSealReplayer(RebuiltFromHistory):
    """Checks each exam's video chain as the audit replays the log."""

    def __init__(self) -> None:
        self._index = IncrementalIndex(self.reads, _Chains)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({VIDEO_SEALED, "exam.ended"})

    @property
    def reads(self) -> frozenset[str]:
        return CREW_READS | {VIDEO_SEALED}

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        known = self._index.before(index, history)
        exam = str(entry.event["exam"])
        facts = known.crews.exams.get(exam)
        chain = known.chains.get(exam, ChainState())
        if entry.type == VIDEO_SEALED:
            if facts is None:
                return [Finding(index, "not_boarded", f"video of exam {exam}, which never boarded")]
            findings = []
            if entry.actor != facts.unit:
                findings.append(
                    Finding(
                        index,
                        "wrong_unit",
                        f"video of exam {exam} sealed by {entry.actor}, not its crew's unit",
                    )
                )
            return findings + chain.check(Seal.of(index, entry.actor, entry.event))
        segments = entry.event.get("video_segments")
        head = entry.event.get("video_head")
        end = ChainEnd(
            index,
            None if segments is None else int(segments),
            None if head is None else bytes.fromhex(str(head)),
        )
        findings = chain.check_end(exam, end)
        if chain.count == 0 and facts is not None and facts.started is not None:
            findings.append(
                Finding(index, "video_missing", f"exam {exam} started and sealed no video")
            )
        return findings
