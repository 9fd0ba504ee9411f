"""The public face of the log: what anyone may read without a token (DESIGN §3.4).

Checkpoint, tiles and entry bundles in the C2SP tlog-tiles layout (paths parsed by
``exam_core.log.tiles``, the same code that writes the audit bundle), inclusion and consistency
proofs, receipts, single entries, the log's vkey and policy, the next ``seq`` of an actor, and
health.  Everything here is derived from signed public data, so it needs no token; full tiles
never change and are served as immutable.
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import PlainTextResponse, Response

from api.http.deps import CentreDep
from api.http.problems import Problem
from api.http.schemas import ConsistencyProof, Health, InclusionProof, NextSeq
from exam_core.centre.centre import Centre
from exam_core.errors import CheckpointError
from exam_core.log.checkpoint import MAX_TREE_SIZE
from exam_core.log.tiles import TILE_HEIGHT, TILE_WIDTH, encode_entry_bundle, parse_tile_path

router = APIRouter(tags=["log (public)"])

TEXT = "text/plain; charset=utf-8"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
FRESH = {"Cache-Control": "no-cache"}

Index = Annotated[int, Query(ge=0, le=MAX_TREE_SIZE - 1)]
Size = Annotated[int, Query(ge=1, le=MAX_TREE_SIZE)]
IndexInPath = Annotated[int, Path(ge=0, le=MAX_TREE_SIZE - 1)]


def _published_size(centre: Centre) -> int:
    return centre.store.size()


@router.get(
    "/checkpoint",
    response_class=PlainTextResponse,
    summary="The newest checkpoint (C2SP tlog-checkpoint, signed note)",
)
def checkpoint(centre: CentreDep) -> Response:
    note = centre.store.latest_checkpoint()
    if note is None:
        raise Problem("not-found", "the log has no checkpoint yet")
    return Response(note, media_type=TEXT, headers=FRESH)


@router.get(
    "/tile/{tile_path:path}",
    response_class=Response,
    summary="A Merkle tile tile/<L>/<N>[.p/<W>] or entry bundle tile/entries/<N>[.p/<W>]",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def tile(tile_path: str, centre: CentreDep) -> Response:
    try:
        wanted = parse_tile_path("tile/" + tile_path)
    except CheckpointError as e:
        raise Problem("not-found", str(e)) from e
    size = _published_size(centre)
    first = wanted.n * TILE_WIDTH
    if wanted.is_entries:
        if first + wanted.length > size:
            raise Problem("not-found", f"{wanted.path} is beyond the published size {size}")
        data = encode_entry_bundle(centre.store.entries(first, first + wanted.length))
    else:
        count = size >> (TILE_HEIGHT * wanted.level)
        if first + wanted.length > count:
            raise Problem("not-found", f"{wanted.path} is beyond the published size {size}")
        data = centre.store.tile(wanted.level, wanted.n, wanted.length)
    headers = FRESH if wanted.is_partial else IMMUTABLE
    return Response(data, media_type="application/octet-stream", headers=headers)


@router.get("/proof/inclusion", summary="RFC 9162 inclusion proof of an entry")
def inclusion(centre: CentreDep, index: Index, size: Size | None = None) -> InclusionProof:
    published = _published_size(centre)
    tree_size = published if size is None else size
    if tree_size > published or index >= tree_size:
        raise Problem(
            "not-found", f"no entry {index} in a tree of {tree_size} (published: {published})"
        )
    hashes = centre.store.inclusion_proof(index, tree_size)
    return InclusionProof(
        index=index, tree_size=tree_size, hashes=[base64.b64encode(h).decode() for h in hashes]
    )


@router.get("/proof/consistency", summary="RFC 9162 consistency proof between two tree sizes")
def consistency(
    centre: CentreDep,
    first: Annotated[int, Query(alias="from", ge=1, le=MAX_TREE_SIZE)],
    second: Annotated[int, Query(alias="to", ge=1, le=MAX_TREE_SIZE)],
) -> ConsistencyProof:
    published = _published_size(centre)
    if not first <= second <= published:
        raise Problem("not-found", f"no proof from {first} to {second} (published: {published})")
    hashes = centre.store.consistency_proof(first, second)
    return ConsistencyProof(
        first=first, second=second, hashes=[base64.b64encode(h).decode() for h in hashes]
    )


@router.get(
    "/receipt/{index}",
    response_class=PlainTextResponse,
    summary="The C2SP tlog-proof of a published entry, against the newest checkpoint",
)
def receipt(index: IndexInPath, centre: CentreDep) -> Response:
    if index >= _published_size(centre):
        raise Problem("not-found", f"entry {index} is not published")
    return Response(centre.wait_receipt(index, timeout=0), media_type=TEXT, headers=FRESH)


@router.get(
    "/entries/{index}",
    response_class=Response,
    summary="The exact bytes of one entry (a signed note)",
    responses={200: {"content": {"text/plain": {}}}},
)
def entry(index: IndexInPath, centre: CentreDep) -> Response:
    if index >= _published_size(centre):
        raise Problem("not-found", f"entry {index} is not published")
    return Response(centre.store.entry(index), media_type=TEXT, headers=IMMUTABLE)


@router.get("/vkey", response_class=PlainTextResponse, summary="The log's verifier key (C2SP vkey)")
def vkey(centre: CentreDep) -> Response:
    return Response(centre.log_vkey + "\n", media_type=TEXT)


@router.get("/policy", response_class=PlainTextResponse, summary="The log's C2SP tlog-policy")
def policy(centre: CentreDep) -> Response:
    return Response(centre.policy_text(), media_type=TEXT)


@router.get("/seq", summary="The seq the next entry of an actor must carry")
def next_seq(
    centre: CentreDep, actor: Annotated[str, Query(min_length=1, max_length=512)]
) -> NextSeq:
    return NextSeq(actor=actor, next_seq=centre.next_seq(actor))


@router.get("/health", summary="Whether the service is up, and the size it has published")
async def health(centre: CentreDep) -> Health:
    # async: it reads only memory, so it runs on the event loop without a thread hop.
    return Health(
        status="ok", origin=centre.origin, published_size=centre.sequencer.published_size()
    )
