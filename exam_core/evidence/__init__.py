"""The exam's evidence, sealed as it is made, and the proofs a candidate or investigator holds.

- ``video_chain``: the per-exam hash chain of ``video.sealed`` segments and its one check;
- ``segment_match``: which sealed segments a video file is, or why it is none;
- ``recording_proof``: a video file proven sealed, under a checkpoint, with inclusion proofs;
- ``bundle_log``: a log as an exported bundle shows it, the ``LogSource`` the proofs ask;
- ``exam_crews``: which in-car unit signs for which exam;
- ``video_replayer``: the audit's check of every exam's video chain.

Everything here is pure: bytes and values in, values, findings or ``EvidenceError`` out.
"""

from __future__ import annotations

from exam_core.evidence.bundle_log import BundleLog, LogSource
from exam_core.evidence.recording_proof import RecordingProof, prove_recording
from exam_core.evidence.segment_match import SegmentMatch, match_recording
from exam_core.evidence.video_chain import (
    GENESIS,
    ChainEnd,
    ChainState,
    Seal,
    check_chain,
    seal_link,
    sealed_fields,
)
from exam_core.evidence.video_replayer import VideoSealReplayer

__all__ = [
    "GENESIS",
    "BundleLog",
    "ChainEnd",
    "ChainState",
    "LogSource",
    "RecordingProof",
    "Seal",
    "SegmentMatch",
    "VideoSealReplayer",
    "check_chain",
    "match_recording",
    "prove_recording",
    "seal_link",
    "sealed_fields",
]
