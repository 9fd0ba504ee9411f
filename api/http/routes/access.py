"""Who is calling and what is registered: token-holder reads (DESIGN §9).

``/whoami`` shows a caller its own token; ``/keys`` lists the log's registered keys with their
roles; ``/tokens`` lets an administrator list tokens (never their secrets) and revoke one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.http.deps import CentreDep, KeyReader, ServiceDep, TokenManager, Whoami
from api.http.permissions import ROLE_PERMISSIONS
from api.http.problems import Problem
from api.http.schemas import CallerInfo, KeyInfo, TokenInfo
from exam_core.centre.tokens import TokenRecord

router = APIRouter(tags=["access"])

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="a token's public id")]


def _token_info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        token_id=record.token_id,
        role=record.role,
        actor=record.actor,
        created_ms=record.created_ms,
        revoked_ms=record.revoked_ms,
    )


@router.get("/whoami", summary="The caller's token: role, actor and permissions")
def whoami(caller: Whoami) -> CallerInfo:
    granted = sorted(p.value for p in ROLE_PERMISSIONS.get(caller.role, frozenset()))
    return CallerInfo(
        token_id=caller.token_id, role=caller.role, actor=caller.actor, permissions=granted
    )


@router.get("/keys", summary="The registered keys, their roles and whether revoked")
def keys(centre: CentreDep, _caller: KeyReader) -> list[KeyInfo]:
    records = list(centre.sequencer.registry_view.registry.keys.values())
    return [KeyInfo(name=r.name, role=r.role, revoked=r.revoked) for r in records]


@router.get("/tokens", summary="Every bearer token (without its secret)")
def tokens(service: ServiceDep, _caller: TokenManager) -> list[TokenInfo]:
    return [_token_info(r) for r in service.tokens.list()]


@router.delete("/tokens/{token_id}", summary="Revoke a bearer token")
def revoke_token(token_id: TokenId, service: ServiceDep, _caller: TokenManager) -> TokenInfo:
    record = service.tokens.revoke(token_id)
    if record is None:
        raise Problem("not-found", f"no token {token_id}")
    return _token_info(record)
