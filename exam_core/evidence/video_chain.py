"""The per-exam hash chain of sealed video segments: one link function, one chain check.

The in-car unit records the exam in segments of a few seconds and seals each one as it is
recorded with a ``video.sealed`` entry: the segment's SHA-256 and length, its start and end
times, its number and the link of the segment before.  The link of a segment is

    SHA-256("exam-video/v1\\0" ‖ exam id (16 bytes) ‖ uint32_be(segment) ‖ prev (32 bytes)
            ‖ SHA-256(segment) ‖ uint64_be(length) ‖ uint64_be(start_ms) ‖ uint64_be(end_ms))

with ``prev`` = 32 zero bytes for segment 0, and ``exam.ended`` closes the chain with the number
of segments and the link of the last.  So a segment cannot be removed, reordered or replaced
without a finding: a dropped segment leaves a gap in the numbers (or, at the end, a count and a
head that no longer match), two swapped segments come in the wrong order and break the links,
and one changed byte of a segment changes its hash.  ``check_chain`` is the one check, used by
the audit's ``VideoSealReplayer`` and by ``examctl evidence verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exam_core.findings import Finding

VIDEO_SEALED = "video.sealed"
GENESIS = bytes(32)
"""``prev`` of the first segment of every exam."""
_DOMAIN = b"exam-video/v1\x00"


def seal_link(
    exam: str,
    *,
    segment: int,
    prev: bytes,
    sha256: bytes,
    length: int,
    start_ms: int,
    end_ms: int,
) -> bytes:
    """The chain link of one sealed segment (the module docstring gives the layout).

    Raises:
        ValueError: an exam id that is not 16 bytes of hex, or a hash that is not 32 bytes.
    """
    exam_bytes = bytes.fromhex(exam)
    if len(exam_bytes) != 16 or len(prev) != 32 or len(sha256) != 32:
        raise ValueError("a seal links a 16-byte exam id and 32-byte hashes")
    return hashlib.sha256(
        _DOMAIN
        + exam_bytes
        + segment.to_bytes(4, "big")
        + prev
        + sha256
        + length.to_bytes(8, "big")
        + start_ms.to_bytes(8, "big")
        + end_ms.to_bytes(8, "big")
    ).digest()


@dataclass(frozen=True)
class Seal:
    """One ``video.sealed`` entry: where it is in the log, who signed it, and what it seals."""

    index: int
    actor: str
    exam: str
    segment: int
    prev: bytes
    sha256: bytes
    length: int
    start_ms: int
    end_ms: int

    @classmethod
    def of(cls, index: int, actor: str, event: Mapping[str, Any]) -> Seal:
        """The seal of an admitted entry (its schema has been checked)."""
        return cls(
            index,
            actor,
            str(event["exam"]),
            int(event["segment"]),
            bytes.fromhex(str(event["prev"])),
            bytes.fromhex(str(event["sha256"])),
            int(event["length"]),
            int(event["start_ms"]),
            int(event["end_ms"]),
        )

    @property
    def link(self) -> bytes:
        return seal_link(
            self.exam,
            segment=self.segment,
            prev=self.prev,
            sha256=self.sha256,
            length=self.length,
            start_ms=self.start_ms,
            end_ms=self.end_ms,
        )


def sealed_fields(
    exam: str, *, segment: int, prev: bytes, data: bytes, start_ms: int, end_ms: int
) -> dict[str, object]:
    """The fields of the ``video.sealed`` entry that seals ``data`` (for the in-car unit)."""
    return {
        "exam": exam,
        "segment": segment,
        "prev": prev.hex(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "length": len(data),
        "start_ms": start_ms,
        "end_ms": end_ms,
    }


@dataclass(frozen=True)
class ChainEnd:
    """How ``exam.ended`` closed an exam's chain: at which entry, how many segments, last link."""

    index: int
    segments: int | None
    head: bytes | None


class ChainState:
    """One exam's chain as far as the log has sealed it: the numbered rules of ``check_chain``
    for the next seal (``check``, which changes nothing) and for the end (``check_end``)."""

    def __init__(self) -> None:
        self.expected = 0
        self.head = GENESIS
        self.last_end = -1
        self.count = 0

    def check(self, seal: Seal) -> list[Finding]:
        """What is wrong with ``seal`` coming next (rules 1 to 3)."""
        findings: list[Finding] = []
        where = f"exam {seal.exam}: segment {seal.segment}"
        # (1)
        if seal.segment > self.expected:
            missing = (
                f"segment {self.expected}"
                if seal.segment == self.expected + 1
                else f"segments {self.expected}..{seal.segment - 1}"
            )
            findings.append(
                Finding(seal.index, "video_gap", f"{where} comes next: {missing} missing")
            )
        elif seal.segment < self.expected:
            findings.append(
                Finding(
                    seal.index,
                    "video_order",
                    f"{where} is logged after segment {self.expected - 1}: out of order",
                )
            )
        # (2)
        if seal.prev != self.head:
            findings.append(
                Finding(
                    seal.index,
                    "video_link",
                    f"{where}: prev is not the link of the segment logged before it",
                )
            )
        # (3)
        if seal.end_ms <= seal.start_ms or seal.start_ms < self.last_end:
            findings.append(
                Finding(
                    seal.index,
                    "video_time",
                    f"{where}: {seal.start_ms}..{seal.end_ms} ms does not follow the segment "
                    f"before (ended {self.last_end} ms)",
                )
            )
        return findings

    def advance(self, seal: Seal) -> None:
        """Take ``seal`` as the chain's newest segment, right or wrong."""
        self.expected = max(self.expected, seal.segment + 1)
        self.head = seal.link
        self.last_end = seal.end_ms
        self.count += 1

    def check_end(self, exam: str, end: ChainEnd) -> list[Finding]:
        """Rule 4: the end names as many segments as were sealed, and the last link."""
        if end.segments is None and self.count == 0:
            return []
        if end.segments is None or end.head is None:
            return [
                Finding(
                    end.index,
                    "video_unclosed",
                    f"exam {exam} sealed {self.count} segments; its end names none",
                )
            ]
        if end.segments != self.count or end.head != self.head:
            return [
                Finding(
                    end.index,
                    "video_tail",
                    f"exam {exam} ends with {end.segments} segments and another last link; "
                    f"{self.count} were sealed: a segment is missing at the end of the chain",
                )
            ]
        return []


def check_chain(seals: Sequence[Seal], end: ChainEnd | None = None) -> list[Finding]:
    """Every way one exam's seals, in log order, break the chain; ``end`` closes it.

    1. segments are numbered 0, 1, 2, … in log order: a number skipped is a missing segment,
       a number that comes back or goes down is a segment out of order (two swapped);
    2. each ``prev`` is the link of the segment logged before it (zero for the first);
    3. each segment ends after it starts, and starts no earlier than the one before ended;
    4. ``exam.ended`` names as many segments as were sealed, and the link of the last.
    """
    state = ChainState()
    findings: list[Finding] = []
    for seal in seals:
        findings += state.check(seal)
        state.advance(seal)
    if end is not None:
        findings += state.check_end(seals[0].exam if seals else "?", end)
    return findings
