"""Evidence blobs by content hash (DESIGN §3.1): uploaded before the entry that names them.

``PUT /blobs/<sha256>`` stores the body if its SHA-256 is the one in the path (422 otherwise),
within the endpoint's size bound (413); storing a blob that is already there answers 200 and
changes nothing, so an uploader may always retry.  ``GET /blobs/<sha256>`` returns it, checked
against its hash on the way out.  Both need a bearer token (``blob.write``, ``blob.read``).
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from api.http.deps import BlobReader, BlobWriter, CentreDep, ServiceDep
from api.http.offload import in_thread
from api.http.problems import Problem
from api.http.schemas import BlobStored, ProblemDocument
from exam_core.centre.blobs import BlobStore

router = APIRouter(tags=["blobs"])

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="lowercase hex SHA-256")]
_PROBLEM = {"model": ProblemDocument, "content": {"application/problem+json": {}}}
_BLOB_BODY = {
    "required": True,
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _store(blobs: BlobStore, sha256: str, data: bytes) -> bool:
    """Store the blob unless it is there (one trip to a worker thread); whether it was."""
    if blobs.has(sha256):
        return True
    blobs.put(data)
    return False


@router.put(
    "/blobs/{sha256}",
    status_code=201,
    response_model=BlobStored,
    summary="Store a blob under its SHA-256 (200 if it was already stored)",
    openapi_extra={"requestBody": _BLOB_BODY},
    responses={200: {"model": BlobStored}, 401: _PROBLEM, 403: _PROBLEM, 413: _PROBLEM},
)
async def put_blob(
    sha256: Sha256, request: Request, service: ServiceDep, _caller: BlobWriter
) -> JSONResponse:
    # One dependency for the service (the caller's shares it): each one FastAPI solves costs
    # as much as the rest of the route, and every in-car unit calls this once a second.
    data = await request.body()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise Problem(
            "blob-hash-mismatch", f"the body's SHA-256 is {digest}, not the {sha256} of the path"
        )
    existed = await in_thread(_store, service.centre.blobs, sha256, data)
    service.blob_presence.stored(sha256, len(data))
    # The answer as ``BlobStored`` has it, without building and validating the model.
    body = {"sha256": sha256, "length": len(data), "created": not existed}
    return JSONResponse(body, status_code=200 if existed else 201)


@router.get(
    "/blobs/{sha256}",
    response_class=Response,
    summary="A stored blob",
    responses={200: {"content": {"application/octet-stream": {}}}, 404: _PROBLEM},
)
def get_blob(sha256: Sha256, centre: CentreDep, _caller: BlobReader) -> Response:
    if not centre.blobs.has(sha256):
        raise Problem("not-found", f"no blob {sha256}")
    return Response(
        centre.blobs.get(sha256),
        media_type="application/octet-stream",
        headers={"Cache-Control": "private, max-age=31536000, immutable"},
    )
