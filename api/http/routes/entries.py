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
from collections.abc import Awaitable
from concurrent.futures import Future
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.http.all_done import all_done
from api.http.blob_presence import BlobPresence
from api.http.deps import BlobPresenceDep, CentreDep, LimitsDep
from api.http.limits import Limits
from api.http.problems import Problem, problem_body, problem_of
from api.http.schemas import BundleAnswer, BundleItem, EntryAccepted, ProblemDocument, Wait
from exam_core.centre.centre import Centre
from exam_core.centre.ingest import parse_submission
from exam_core.errors import CheckpointError, EntryError, ExamDayError
from exam_core.log.blob_refs import referenced_blobs
from exam_core.log.entry import MAX_ENTRY_BYTES, Entry
from exam_core.log.tiles import TILE_WIDTH, decode_entry_bundle

router = APIRouter(tags=["log (write)"])
T = TypeVar("T")

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
    centre: CentreDep,
    limits: LimitsDep,
    presence: BlobPresenceDep,
    wait: Annotated[Wait, Query(description="answer once sequenced, or once published")] = (
        Wait.SEQUENCED
    ),
) -> JSONResponse:
    data = await request.body()
    # (1)
    entry = parse_submission(data)
    # (2)
    missing = await _missing_blobs_problem(presence, entry)
    if missing is not None:
        raise missing
    # (3), (4)
    future = asyncio.wrap_future(centre.submit_entry(data, entry))
    index, duplicate = await _within(limits, "bytes", _sequenced(centre, data, future))
    # (5)
    receipt = None
    if wait is Wait.PUBLISHED:
        proof = await run_in_threadpool(centre.wait_receipt, index, limits.publish_timeout_s)
        receipt = proof.decode()
    body = EntryAccepted(index=index, duplicate=duplicate, receipt=receipt)
    return JSONResponse(body.model_dump(), status_code=200 if duplicate else 201)


async def _sequenced(centre: Centre, data: bytes, future: asyncio.Future[int]) -> tuple[int, bool]:
    """The entry's index once sequenced, and whether the log held it already.

    Raises:
        EntryError: the log refused the entry and does not hold these bytes.
    """
    try:
        return await future, False
    except EntryError:
        found = await run_in_threadpool(centre.store.find_entry, data)
        if found is None:
            raise
        return found, True


async def _within(limits: Limits, what: str, waiting: Awaitable[T]) -> T:
    """Await ``waiting`` up to the publication timeout, shielded: a client that hangs up or
    times out must not cancel the sequencer's futures.

    Raises:
        Problem: ``entry-not-published`` when the time is up.
    """
    try:
        return await asyncio.wait_for(asyncio.shield(waiting), limits.publish_timeout_s)
    except TimeoutError as e:
        raise Problem(
            "entry-not-published",
            f"not sequenced within {limits.publish_timeout_s} s; resubmit the same {what}",
            headers={"Retry-After": "1"},
        ) from e


async def _outcome(centre: Centre, data: bytes, future: Future[int]) -> BundleItem:
    """The answer for one entry of a bundle whose future is done."""
    try:
        index, duplicate = await _sequenced(centre, data, asyncio.wrap_future(future))
    except (EntryError, ExamDayError) as refusal:
        return BundleItem(problem=problem_body(problem_of(refusal)))
    return BundleItem(index=index, duplicate=duplicate)


_BUNDLE_BODY = {
    "required": True,
    "description": "Up to 256 signed entries, each prefixed with its big-endian uint16 length.",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


@router.post(
    "/entries/bundle",
    summary="Append up to 256 signed entries in order; one answer per entry",
    openapi_extra={"requestBody": _BUNDLE_BODY},
    responses={400: _PROBLEM, 413: _PROBLEM, 503: _PROBLEM},
)
async def append_bundle(
    request: Request, centre: CentreDep, limits: LimitsDep, presence: BlobPresenceDep
) -> BundleAnswer:
    try:
        datas = decode_entry_bundle(await request.body())
    except CheckpointError as e:
        raise Problem("bundle-malformed", str(e)) from e
    if not 1 <= len(datas) <= TILE_WIDTH:
        raise Problem("bundle-malformed", f"a bundle holds 1-{TILE_WIDTH} entries")
    answers: list[BundleItem | None] = [None] * len(datas)
    parsed: list[tuple[int, bytes, Entry]] = []
    for i, data in enumerate(datas):
        try:
            parsed.append((i, data, parse_submission(data)))
        except EntryError as e:
            answers[i] = BundleItem(problem=problem_body(problem_of(e)))
    # Every blob of the bundle looked up at once, then the entries queued in order.
    absent = await presence.absent([r for _, _, e in parsed for r in referenced_blobs(e)])
    waits: list[tuple[int, bytes, Future[int]]] = []
    for i, data, entry in parsed:
        missing = [s for s, n in referenced_blobs(entry) if (s, n) in absent] if absent else []
        if missing:
            answers[i] = BundleItem(problem=problem_body(_blob_missing(missing)))
            continue
        waits.append((i, data, centre.submit_entry(data, entry)))
    await _within(limits, "bundle", all_done([f for _, _, f in waits]))
    refused = []
    for i, data, future in waits:
        if future.exception() is None:
            answers[i] = BundleItem(index=future.result(), duplicate=False)
        else:
            refused.append((i, data, future))
    # A refused entry may be one the log holds (a resubmission): looked up concurrently.
    outcomes = await asyncio.gather(*(_outcome(centre, d, f) for _, d, f in refused))
    for (i, _, _), outcome in zip(refused, outcomes, strict=True):
        answers[i] = outcome
    return BundleAnswer(results=[a for a in answers if a is not None])
