"""Writing to the log over HTTP: the body is a signed entry, and its signature is the
authentication (DESIGN §3.1, §9).

``POST /entries`` takes the entry bytes exactly as the actor signed them:

1. the bytes are parsed strictly (size, note, canonical JSON, one signature by the actor);
2. every blob the event references (``sha256`` with ``length``) must already be stored with
   that length, so the log never points at evidence the centre does not hold;
3. the entry is queued on the sequencer, which checks key, role, signature, schema, ``seq`` and
   clock before sequencing (the centre's one ingest) — a refused entry changes nothing;
4. a refusal of bytes the log already holds is a resubmission after a lost answer: the caller
   gets the index it already has (``duplicate``: true), never a second entry;
5. with ``wait=published`` the answer also carries the entry's tlog-proof receipt.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.http.deps import CentreDep, LimitsDep
from api.http.problems import Problem
from api.http.schemas import EntryAccepted, ProblemDocument, Wait
from exam_core.centre.blobs import BlobStore, referenced_blobs
from exam_core.centre.ingest import parse_submission
from exam_core.errors import EntryError
from exam_core.log.entry import MAX_ENTRY_BYTES, Entry

router = APIRouter(tags=["log (write)"])

_ENTRY_BODY = {
    "required": True,
    "description": f"The signed entry (C2SP signed note), at most {MAX_ENTRY_BYTES} bytes.",
    "content": {
        "text/plain": {"schema": {"type": "string", "maxLength": MAX_ENTRY_BYTES}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
_PROBLEM = {"model": ProblemDocument, "content": {"application/problem+json": {}}}


def _missing_blobs(blobs: BlobStore, entry: Entry) -> list[str]:
    missing = []
    for sha, length in referenced_blobs(entry):
        path = blobs.path(sha)
        try:
            stored = path.stat().st_size
        except FileNotFoundError:
            stored = None
        if stored != length:
            missing.append(sha)
    return missing


@router.post(
    "/entries",
    status_code=201,
    response_model=EntryAccepted,
    summary="Append a signed entry; answer its index (200 if the log already held it)",
    openapi_extra={"requestBody": _ENTRY_BODY},
    responses={
        200: {"model": EntryAccepted, "description": "the log already held these exact bytes"},
        400: _PROBLEM,
        403: _PROBLEM,
        409: _PROBLEM,
        413: _PROBLEM,
        422: _PROBLEM,
        503: _PROBLEM,
    },
)
async def append_entry(
    request: Request,
    centre: CentreDep,
    limits: LimitsDep,
    wait: Annotated[Wait, Query(description="answer once sequenced, or once published")] = (
        Wait.SEQUENCED
    ),
) -> JSONResponse:
    data = await request.body()
    # (1)
    entry = parse_submission(data)
    # (2)
    missing = _missing_blobs(centre.blobs, entry)
    if missing:
        raise Problem(
            "entry-blob-missing",
            f"upload blob {missing[0]} (PUT /blobs/{missing[0]}) before the entry naming it",
            extra={"blobs": missing},
        )
    # (3) shield: a client that hangs up must not cancel the sequencer's future.
    future = asyncio.wrap_future(centre.submit_entry(data))
    duplicate = False
    try:
        index = await asyncio.wait_for(asyncio.shield(future), limits.publish_timeout_s)
    except EntryError:
        # (4)
        found = await run_in_threadpool(centre.store.find_entry, data)
        if found is None:
            raise
        index, duplicate = found, True
    except TimeoutError as e:
        raise Problem(
            "entry-not-published",
            f"not sequenced within {limits.publish_timeout_s} s; resubmit the same bytes",
            headers={"Retry-After": "1"},
        ) from e
    # (5)
    receipt = None
    if wait is Wait.PUBLISHED:
        proof = await run_in_threadpool(centre.wait_receipt, index, limits.publish_timeout_s)
        receipt = proof.decode()
    body = EntryAccepted(index=index, duplicate=duplicate, receipt=receipt)
    return JSONResponse(body.model_dump(), status_code=200 if duplicate else 201)
