"""The exam's evidence, sealed as it is made, and the proofs a candidate or investigator holds.

- ``video_chain``: the per-exam hash chain of ``video.sealed`` segments and its one check;
- ``segment_match``: which sealed segments a video file is, or why it is none;
- ``recording_proof``: a video file proven sealed, under a checkpoint, with inclusion proofs;
- ``bundle_log``: a log as an exported bundle shows it, the ``LogSource`` the proofs ask;
- ``result_receipt``: the receipt a candidate keeps for their result, verified offline and
  against today's log;
- ``snapshot_draw``: the moments the driver is photographed, drawn from the exam's start entry;
- ``exam_crews``: which in-car unit signs for which exam;
- ``camera_replayer``, ``video_replayer``, ``snapshot_replayer``: the audit's checks of every
  exam's camera health, video chain and snapshots.

Everything here is pure: bytes and values in, values, findings or ``EvidenceError`` out.
"""

from __future__ import annotations

from exam_core.evidence.bundle_log import BundleLog, LogSource
from exam_core.evidence.camera_replayer import CameraReplayer
from exam_core.evidence.recording_proof import RecordingProof, prove_recording
from exam_core.evidence.result_receipt import (
    CurrentResult,
    ResultReceipt,
    VerifiedResult,
    check_receipt_current,
    make_result_receipt,
    parse_result_receipt,
    receipt_from_bundle,
    verify_result_receipt,
)
from exam_core.evidence.segment_match import (
    Recording,
    SegmentMatch,
    match_recording,
)
from exam_core.evidence.snapshot_draw import snapshot_moments
from exam_core.evidence.snapshot_replayer import SnapshotReplayer
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
    "CameraReplayer",
    "ChainEnd",
    "ChainState",
    "CurrentResult",
    "LogSource",
    "Recording",
    "RecordingProof",
    "ResultReceipt",
    "Seal",
    "SegmentMatch",
    "SnapshotReplayer",
    "VerifiedResult",
    "VideoSealReplayer",
    "check_chain",
    "check_receipt_current",
    "make_result_receipt",
    "match_recording",
    "parse_result_receipt",
    "prove_recording",
    "receipt_from_bundle",
    "seal_link",
    "sealed_fields",
    "snapshot_moments",
    "verify_result_receipt",
]
