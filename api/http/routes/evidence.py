"""Evidence a candidate and an investigator can hold, from the centre's service (DESIGN §9).

- ``GET /evidence/receipt/{exam}`` (public, as the log itself is): the candidate's receipt of
  the exam's result — the ``exam.scored`` entry, its C2SP tlog-proof against the newest
  checkpoint, and the log's policy (``exam_core.evidence.result_receipt``; no personal data).
  ``examctl receipt verify`` checks it offline and ``examctl receipt check --url`` against the
  log of any later day.
- ``POST /evidence/video`` (bearer token, ``evidence.verify``): is the body — one video segment
  or consecutive segments — sealed video of one exam?  The same steps 4–6 as ``examctl evidence
  verify`` (``exam_core.evidence.recording_proof.prove_sealed``), over the seals the centre's
  exam day recorded as they were sequenced, under the newest checkpoint; a file that is not
  sealed video is answered 422 ``evidence/not-sealed`` with the reason (re-encoded, trimmed,
  spliced, a segment missing or out of order).
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.http.deps import Caller, CentreDep, Permit, day_of
from api.http.permissions import Permission
from api.http.problems import Problem
from api.http.schemas import ProblemDocument
from exam_core.audit.reader import DiskBlob, MemoryBlob
from exam_core.centre.centre import Centre
from exam_core.errors import CheckpointError, EvidenceError, NoteError, ProofError
from exam_core.evidence.recording_proof import RecordingProof, SealedLog, prove_sealed
from exam_core.evidence.result_receipt import make_result_receipt
from exam_core.exam_day.day_guard import DayGuard

router = APIRouter(tags=["evidence"])

ExamId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the exam's id (hex)")]
EvidenceVerifier = Annotated[Caller, Depends(Permit(Permission.EVIDENCE_VERIFY))]
_PROBLEM: dict[str, Any] = {"model": ProblemDocument, "content": {"application/problem+json": {}}}
_VIDEO_BODY = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


class SegmentProof(BaseModel):
    segment: int
    offset: int = Field(description="where the segment starts in the file (bytes)")
    length: int
    start_ms: int
    end_ms: int
    index: int = Field(description="the video.sealed entry that sealed it")
    actor: str
    inclusion_proof: list[str] = Field(description="RFC 9162 path to the checkpoint, base64")


class ChainFinding(BaseModel):
    code: str
    index: int | None
    message: str


class SealedVideo(BaseModel):
    exam: str
    segments: list[SegmentProof]
    checkpoint: str = Field(description="the checkpoint note the proofs lead to")
    witnesses: list[str]
    chain_findings: list[ChainFinding] = Field(
        description="the exam's whole chain checked: a file can be sealed evidence of a chain "
        "broken elsewhere"
    )


@router.get(
    "/evidence/receipt/{exam}",
    response_class=Response,
    summary="A candidate's receipt of an exam's result (no personal data)",
    responses={200: {"content": {"text/plain": {}}}, 404: _PROBLEM},
)
def receipt(exam: ExamId, centre: CentreDep) -> Response:
    day = day_of(centre)
    with day.lock:
        scored = day.results.get(exam)
    if scored is None or scored.index >= centre.store.size():
        raise Problem("not-found", f"exam {exam} has no published result")
    entry = centre.store.entry(scored.index)
    proof = centre.wait_receipt(scored.index, timeout=0)
    body = make_result_receipt(entry, proof, centre.policy_text().encode())
    return Response(
        body, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "no-cache"}
    )


def _sealed_log(centre: Centre, day: DayGuard) -> tuple[SealedLog, bytes]:
    """The seals the day recorded, under the newest checkpoint, and that checkpoint's note.

    Raises:
        Problem: (not-found) the log has no checkpoint yet.
    """
    note = centre.store.latest_checkpoint()
    if note is None:
        raise Problem("not-found", "the log has no checkpoint yet")
    try:
        cp, witnesses = centre.policy().verify_checkpoint(note)
    except (CheckpointError, NoteError):
        # The quorum is not there yet (a witness is down): the centre's own signature stands,
        # and the answer names no witness.
        cp, witnesses = centre.checkpoint_of(note), ()
    with day.lock:
        seals, ends = list(day.seals), dict(day.chain_ends)
    log = SealedLog(cp, witnesses, seals, ends, centre.store.entry, centre.store.inclusion_proof)
    return log, note


def _stored_blob(centre: Centre, sha256_hex: str) -> DiskBlob | None:
    """A sealed segment's blob when the centre holds one (only to explain a refusal), read in
    pieces and used only if they hash to its name."""
    return centre.blobs.open(sha256_hex)


def _prove(centre: Centre, data: bytes) -> tuple[RecordingProof, bytes]:
    log, note = _sealed_log(centre, day_of(centre))
    return prove_sealed(MemoryBlob(data), log, lambda sha: _stored_blob(centre, sha)), note


@router.post(
    "/evidence/video",
    summary="Is this file sealed video of one exam, and under which checkpoint",
    openapi_extra={"requestBody": _VIDEO_BODY},
    responses={401: _PROBLEM, 403: _PROBLEM, 404: _PROBLEM, 413: _PROBLEM, 422: _PROBLEM},
)
async def verify_video(
    request: Request, centre: CentreDep, _caller: EvidenceVerifier
) -> SealedVideo:
    data = await request.body()
    try:
        proof, note = await run_in_threadpool(_prove, centre, data)
    except (EvidenceError, ProofError) as e:
        raise Problem("evidence/not-sealed", str(e)) from e
    first = proof.segments[0].seal
    return SealedVideo(
        exam=first.exam,
        segments=[
            SegmentProof(
                segment=m.seal.segment,
                offset=m.offset,
                length=m.seal.length,
                start_ms=m.seal.start_ms,
                end_ms=m.seal.end_ms,
                index=m.seal.index,
                actor=m.seal.actor,
                inclusion_proof=[base64.b64encode(h).decode() for h in path],
            )
            for m, path in zip(proof.segments, proof.proofs, strict=True)
        ],
        checkpoint=note.decode(),
        witnesses=list(proof.witnesses),
        chain_findings=[
            ChainFinding(code=f.code, index=f.index, message=f.message)
            for f in proof.chain_findings
        ],
    )
