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
   The exam day refuses a step out of order (409, with the step ``expected``) or one that
   contradicts the day (422, with its ``code``) the same way, before sequencing;
5. with ``wait=published`` the answer also carries the entry's tlog-proof receipt.

``POST /entries/bundle`` takes up to 256 entries at once, in the tlog-tiles entry-bundle
encoding (each entry prefixed with its big-endian uint16 length), and queues them in that
order, so one actor's entries may follow each other in one request: a device that was offline
uploads what it buffered in one round trip.  Each entry gets its own answer — an index, or the
problem that refused it — and the request as a whole is refused only if it is not a bundle.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.http.all_done import all_done
from api.http.blob_presence import BlobPresence
from api.http.deps import ServiceDep
from api.http.limits import Limits
from api.http.offload import in_thread
from api.http.problems import Problem, problem_body, problem_of
from api.http.schemas import BundleAnswer, EntryAccepted, ProblemDocument, Wait
from exam_core.centre.centre import Centre
from exam_core.centre.ingest import parse_submission
from exam_core.errors import CheckpointError, EntryError, ExamDayError
from exam_core.log.blob_refs import may_reference_blobs, referenced_blobs
from exam_core.log.entry import MAX_ENTRY_BYTES, Entry
from exam_core.log.tiles import TILE_WIDTH, decode_entry_bundle

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


async def _missing_blobs_problem(presence: BlobPresence, entry: Entry) -> Problem | None:
    missing = await presence.missing(referenced_blobs(entry))
    return _blob_missing(missing) if missing else None


def _blob_missing(missing: list[str]) -> Problem:
    return Problem(
        "entry-blob-missing",
        f"upload blob {missing[0]} (PUT /blobs/{missing[0]}) before the entry naming it",
        extra={"blobs": missing},
    )


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
    service: ServiceDep,
    wait: Annotated[Wait, Query(description="answer once sequenced, or once published")] = (
        Wait.SEQUENCED
    ),
) -> JSONResponse:
    # One dependency (the service) rather than one for each of its parts: FastAPI's solving
    # of each costs about as much as the rest of this route.
    centre, limits, presence = service.centre, service.limits, service.blob_presence
    data = await request.body()
    # (1)
    entry = parse_submission(data)
    # (2)
    missing = await _missing_blobs_problem(presence, entry)
    if missing is not None:
        raise missing
    # (3), (4)
    future = centre.submit_entry(data, entry)
    await _within(limits, "bytes", [future])
    index, duplicate = await _sequenced(centre, data, future)
    # (5)
    receipt = None
    if wait is Wait.PUBLISHED:
        proof = await in_thread(centre.wait_receipt, index, limits.publish_timeout_s)
        receipt = proof.decode()
    # ``EntryAccepted``, written out: building and dumping the model costs more than this.
    body = {"index": index, "duplicate": duplicate, "receipt": receipt}
    return JSONResponse(body, status_code=200 if duplicate else 201)


async def _sequenced(centre: Centre, data: bytes, future: Future[int]) -> tuple[int, bool]:
    """The index of an entry whose future is done, and whether the log held it already.

    Raises:
        EntryError: the log refused the entry and does not hold these bytes.
        ExamDayError: the day refused it (or whatever else the writer failed it with).
    """
    error = future.exception()
    if error is None:
        return future.result(), False
    if isinstance(error, EntryError):
        found = await in_thread(centre.store.find_entry, data)
        if found is not None:
            return found, True
    raise error


async def _within(limits: Limits, what: str, futures: list[Future[int]]) -> None:
    """Wait until the writer is done with ``futures``, up to the publication timeout; a client
    that hangs up or times out does not cancel them (``all_done``).

    Raises:
        Problem: ``entry-not-published`` when the time is up.
    """
    try:
        await all_done(futures, limits.publish_timeout_s)
    except TimeoutError as e:
        raise Problem(
            "entry-not-published",
            f"not sequenced within {limits.publish_timeout_s} s; resubmit the same {what}",
            headers={"Retry-After": "1"},
        ) from e


Answer = dict[str, object]
"""One entry's answer in a bundle, as ``BundleItem`` has it (written out: a bundle's answers
built as models and validated again by FastAPI cost more than its entries' ingest)."""


def _accepted(index: int, duplicate: bool) -> Answer:
    return {"index": index, "duplicate": duplicate, "problem": None}


def _refused(problem: Problem) -> Answer:
    return {"index": None, "duplicate": None, "problem": problem_body(problem)}


async def _outcome(centre: Centre, data: bytes, future: Future[int]) -> Answer:
    """The answer for one entry of a bundle whose future is done."""
    try:
        index, duplicate = await _sequenced(centre, data, future)
    except (EntryError, ExamDayError) as refusal:
        return _refused(problem_of(refusal))
    return _accepted(index, duplicate)


_BUNDLE_BODY = {
    "required": True,
    "description": "Up to 256 signed entries, each prefixed with its big-endian uint16 length.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


@router.post(
    "/entries/bundle",
    response_model=BundleAnswer,
    summary="Append up to 256 signed entries in order; one answer per entry",
    openapi_extra={"requestBody": _BUNDLE_BODY},
    responses={400: _PROBLEM, 413: _PROBLEM, 503: _PROBLEM},
)
async def append_bundle(request: Request, service: ServiceDep) -> JSONResponse:
    centre, limits, presence = service.centre, service.limits, service.blob_presence
    try:
        datas = decode_entry_bundle(await request.body())
    except CheckpointError as e:
        raise Problem("bundle-malformed", str(e)) from e
    if not 1 <= len(datas) <= TILE_WIDTH:
        raise Problem("bundle-malformed", f"a bundle holds 1-{TILE_WIDTH} entries")
    answers: list[Answer | None] = [None] * len(datas)
    parsed: list[tuple[int, bytes, Entry | None, list[tuple[str, int]]]] = []
    # Parsed here only where it is needed: for the blobs an entry references, or when the
    # sequencer would parse at submit (no worker processes), where one bad entry would refuse
    # the whole call.  Otherwise its worker parses it, once, off this loop, and a malformed
    # entry gets its own answer from its future as here.
    parse_here = not centre.sequencer.parses_in_workers
    for i, data in enumerate(datas):
        if not (parse_here or may_reference_blobs(data)):
            parsed.append((i, data, None, []))
            continue
        try:
            entry = parse_submission(data)
        except EntryError as e:
            answers[i] = _refused(problem_of(e))
        else:
            parsed.append((i, data, entry, referenced_blobs(entry)))
    # Every blob of the bundle looked up at once, then the entries queued in order.
    absent = await presence.absent([r for *_, refs in parsed for r in refs])
    queued: list[tuple[int, bytes, Entry | None]] = []
    for i, data, parsed_entry, refs in parsed:
        missing = [s for s, n in refs if (s, n) in absent] if absent else []
        if missing:
            answers[i] = _refused(_blob_missing(missing))
        else:
            queued.append((i, data, parsed_entry))
    futures = centre.submit_entries([(data, entry) for _, data, entry in queued])
    await _within(limits, "bundle", futures)
    refused = []
    for (i, data, _), future in zip(queued, futures, strict=True):
        if future.exception() is None:
            answers[i] = _accepted(future.result(), False)
        else:
            refused.append((i, data, future))
    # A refused entry may be one the log holds (a resubmission): looked up concurrently.
    outcomes = await asyncio.gather(*(_outcome(centre, d, f) for _, d, f in refused))
    for (i, _, _), outcome in zip(refused, outcomes, strict=True):
        answers[i] = outcome
    return JSONResponse({"results": answers})
