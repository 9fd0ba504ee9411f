"""``examctl evidence verify FILE --bundle BUNDLE``: is this video file the exam's sealed video?

Prints which exam the file is, which segments of its chain (with their times and the entries
that sealed them), and the checkpoint whose inclusion proofs it was checked against; or the
reason it is not sealed video (re-encoded, trimmed, spliced, a segment missing or out of
order).  Exit codes: 0 sealed, 1 not sealed (the reason on stderr), 2 input that cannot be read.
The video file is read in pieces, never whole (``InputFile``), and refused if its size changes
while it is verified.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from exam_core.audit.reader import BundleLimits, read_bundle
from exam_core.errors import CheckpointError, EvidenceError, ProofError
from exam_core.evidence.bundle_log import BundleLog
from exam_core.evidence.recording_proof import RecordingProof, prove_recording
from exam_core.input_file import InputFile, read_input_file
from exam_core.log.policy import Policy, parse_policy

EXIT_OK = 0
EXIT_NOT_SEALED = 1
MAX_VIDEO_BYTES = 4 << 30
"""A whole exam's recording: 20 minutes of in-car video is a few hundred megabytes.  It is
read in pieces, so the limit bounds the time a verification takes, not its memory."""


def register(commands: Any) -> None:
    """Add ``evidence`` to the ``examctl`` parser."""
    parser = commands.add_parser("evidence", help="prove a video file is an exam's sealed video")
    sub = parser.add_subparsers(dest="evidence_command", required=True, metavar="COMMAND")
    verify = sub.add_parser(
        "verify", help="is FILE sealed video of one exam, and under which checkpoint"
    )
    verify.add_argument("file", metavar="FILE", help="a video segment, or segments joined")
    verify.add_argument("--bundle", required=True, metavar="BUNDLE", help="from `log export`")
    verify.add_argument(
        "--policy", metavar="FILE", help="tlog-policy pinned out of band (default: the bundle's)"
    )
    verify.set_defaults(run=run_verify)


def read_policy(path: str | None, bundle_policy: bytes | None) -> Policy:
    """The pinned policy file, else the bundle's own.

    Raises:
        CheckpointError: the policy does not parse.
        EvidenceError: there is no policy at all.
    """
    if path is not None:
        text = read_input_file(Path(path), limit=BundleLimits().note_bytes, what="policy")
    elif bundle_policy is not None:
        text = bundle_policy
    else:
        raise EvidenceError("no policy: the bundle has none and no --policy was given")
    return parse_policy(text)


def _report(name: str, proof: RecordingProof) -> None:
    first, last = proof.segments[0].seal, proof.segments[-1].seal
    cp = proof.checkpoint
    print(
        f"sealed: {name} is segment{'s' if len(proof.segments) > 1 else ''} "
        f"{first.segment}{f'..{last.segment}' if last is not first else ''} of exam {first.exam}, "
        f"{first.start_ms}..{last.end_ms} ms"
    )
    for match, path in zip(proof.segments, proof.proofs, strict=True):
        seal = match.seal
        print(
            f"  segment {seal.segment}: bytes {match.offset}..{match.offset + seal.length}, "
            f"{seal.start_ms}..{seal.end_ms} ms, sealed by {seal.actor} in entry {seal.index}, "
            f"inclusion proof of {len(path)} hashes verified"
        )
    witnessed = ", ".join(proof.witnesses) or "no witness"
    print(f"under checkpoint {cp.origin} size {cp.size} root {cp.root_hash.hex()} ({witnessed})")
    for finding in proof.chain_findings:
        print(
            f"warning: the exam's chain: entry {finding.index}: {finding.code}: {finding.message}"
        )


def run_verify(args: argparse.Namespace) -> int:
    with InputFile(Path(args.file), limit=MAX_VIDEO_BYTES, what="video file") as video:
        bundle = read_bundle(Path(args.bundle))
        policy = read_policy(args.policy, bundle.policy)
        try:
            proof = prove_recording(video, BundleLog(bundle), policy)
        except (EvidenceError, CheckpointError, ProofError) as e:
            # A file that changed as it was read is refused as unreadable, whatever it matched.
            video.check_unchanged()
            print(f"not sealed: {args.file}: {e}", file=sys.stderr)
            return EXIT_NOT_SEALED
        video.check_unchanged()
    _report(args.file, proof)
    return EXIT_OK
