"""The mirror's endpoints: who it is, how far it holds each centre, its cosigned checkpoints
and its findings.

- ``GET /mirror``: the mirror's name and ``cosignature/v1`` vkey, and per mirrored log the
  verified tree size, the entries held and the size it cosigned;
- ``GET /mirror/{sha256(origin) hex}/checkpoint``: the newest checkpoint of that log the mirror
  cosigned, with the centre's signature line and the mirror's (404 before the first);
- ``GET /mirror/findings?after=N``: the findings recorded after number ``N``, oldest first, each
  with its evidence (the entry indexes, or the checkpoint held and the one served).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.monitor.deps import MonitorDep
from exam_core.errors import UnknownLogError
from exam_core.log.checkpoint import split_checkpoint_text
from exam_core.log.note import parse_note

router = APIRouter(prefix="/mirror", tags=["mirror"])

NOTE_MEDIA_TYPE = "text/plain; charset=utf-8"
_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


class MirroredLog(BaseModel):
    origin: str
    tree_size: int
    """The size of the newest checkpoint whose tree the mirror verified."""
    entries: int
    """Entries held and checked."""
    cosigned_size: int | None


class MirrorInfo(BaseModel):
    name: str
    vkey: str
    logs: list[MirroredLog]


class MirrorFindingOut(BaseModel):
    id: int
    origin: str
    code: str
    severity: str
    index: int | None
    message: str
    evidence: dict[str, Any]
    recorded_ms: int


def _cosigned_size(note: bytes | None) -> int | None:
    if note is None:
        return None
    return split_checkpoint_text(parse_note(note).text)[0].size


@router.get("", summary="the mirror's key and how far it holds each log")
def mirror_info(monitor: MonitorDep) -> MirrorInfo:
    mirror = monitor.mirror
    return MirrorInfo(
        name=mirror.name,
        vkey=mirror.vkey,
        logs=[
            MirroredLog(
                origin=h.origin,
                tree_size=h.tree_size,
                entries=h.entries_size,
                cosigned_size=_cosigned_size(h.cosigned),
            )
            for h in mirror.store.heads()
        ],
    )


@router.get("/findings", summary="the mirror's findings after a given number")
def findings(
    monitor: MonitorDep,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> list[MirrorFindingOut]:
    return [
        MirrorFindingOut(
            id=r.id,
            origin=r.origin,
            code=r.finding.code,
            severity=r.finding.severity,
            index=r.finding.index,
            message=r.finding.message,
            evidence=dict(r.evidence),
            recorded_ms=r.recorded_ms,
        )
        for r in monitor.mirror.store.findings_after(after)
    ]


@router.get(
    "/{origin_hash}/checkpoint",
    response_class=Response,
    responses={
        200: {"description": "the newest checkpoint cosigned by the mirror"},
        404: {"description": "no checkpoint of that log was cosigned by the mirror"},
    },
    summary="the newest checkpoint the mirror cosigned for a log",
)
def cosigned_checkpoint(origin_hash: str, monitor: MonitorDep) -> Response:
    if _ORIGIN_HASH.fullmatch(origin_hash) is not None:
        for log in monitor.store.logs():
            if hashlib.sha256(log.origin.encode()).hexdigest() == origin_hash:
                note = monitor.mirror.cosigned_checkpoint(log.origin)
                if note is not None:
                    return Response(note, media_type=NOTE_MEDIA_TYPE)
    raise UnknownLogError("the mirror has cosigned no checkpoint of that log")
