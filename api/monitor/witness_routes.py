"""The C2SP tlog-witness endpoints (https://c2sp.org/tlog-witness), thin over ``Witness``.

- ``POST /add-checkpoint``: the body as the spec lays it out; 200 with the cosignature line, or
  the spec's refusal (400, 403, 404, 409 with ``text/x.tlog.size``, 422) as raised by the
  domain and mapped in ``app``; 413 for a body larger than any valid request;
- ``GET /{sha256(origin) hex}/checkpoint``: the newest checkpoint the witness cosigned for a
  log, with the log's verified signature and the witness's cosignature (tlog-witness "Monitor
  Retrieval Mechanism"); 404 if it never cosigned one;
- ``GET /witness``: the witness's name and vkey, which a centre names in its policy.
"""

from __future__ import annotations

import hashlib
import re

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.monitor.deps import MonitorDep
from api.request_body import read_bounded_body
from exam_core.errors import UnknownLogError
from exam_core.log.tlog_witness import MAX_REQUEST_BYTES

router = APIRouter(tags=["witness"])

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


class WitnessInfo(BaseModel):
    """Who this witness is: the name and vkey centres put in their tlog-policy."""

    name: str
    vkey: str


@router.post(
    "/add-checkpoint",
    response_class=Response,
    responses={
        200: {"description": "the cosignature line(s)", "content": {NOTE_MEDIA_TYPE: {}}},
        400: {"description": "malformed request, or old size above the checkpoint's"},
        403: {"description": "no valid signature of the log's key"},
        404: {"description": "a log this witness does not watch"},
        409: {"description": "old size is not the witness's", "content": {"text/x.tlog.size": {}}},
        413: {"description": "body larger than any valid request"},
        422: {"description": "checkpoint inconsistent with the one cosigned"},
    },
    summary="tlog-witness add-checkpoint",
)
async def add_checkpoint(request: Request, monitor: MonitorDep) -> Response:
    body = await read_bounded_body(request, MAX_REQUEST_BYTES)
    line = await run_in_threadpool(monitor.witness.add_checkpoint, body)
    return Response(line, media_type=NOTE_MEDIA_TYPE)


@router.get(
    "/{origin_hash}/checkpoint",
    response_class=Response,
    responses={
        200: {"description": "the newest cosigned checkpoint", "content": {NOTE_MEDIA_TYPE: {}}},
        404: {"description": "no checkpoint of that log was cosigned"},
    },
    summary="the newest checkpoint the witness cosigned for a log",
)
def cosigned_checkpoint(origin_hash: str, monitor: MonitorDep) -> Response:
    if _ORIGIN_HASH.fullmatch(origin_hash) is not None:
        for log in monitor.store.logs():
            if hashlib.sha256(log.origin.encode()).hexdigest() == origin_hash:
                note = monitor.witness.cosigned_checkpoint(log.origin)
                if note is not None:
                    return Response(note, media_type=NOTE_MEDIA_TYPE)
    raise UnknownLogError("this witness has cosigned no checkpoint of that log")


@router.get("/witness", summary="the witness's name and vkey")
def witness_info(monitor: MonitorDep) -> WitnessInfo:
    return WitnessInfo(name=monitor.witness.name, vkey=monitor.witness.vkey)
