"""The HTTP service's dependencies, as ``Annotated`` aliases that routes name in their signatures.

Routes stay thin (STYLE §12): they take the open centre (``CentreDep``), the limits
(``LimitsDep``) and, when they need a bearer token, the caller that a permission dependency
authenticated (``Whoami``, ``BlobWriter``, …).  ``Permit`` is the one dependency that decides
access, from the one table in ``api.http.permissions``:

1. no ``Authorization: Bearer`` header → 401 ``token-missing``;
2. a token that is malformed, unknown or revoked → 401 ``token-invalid``;
3. a valid token whose role lacks the permission → 403 ``permission-denied``;
4. otherwise the route gets the ``Caller``: token id, role and actor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.blob_presence import BlobPresence
from api.http.limits import Limits
from api.http.offload import in_thread
from api.http.permissions import Permission, permits
from api.http.problems import Problem
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.day_guard import DayGuard


@dataclass(frozen=True)
class Service:
    """What the app serves: the open centre, its tokens and the request bounds; and which of
    the centre's blobs are known to be stored."""

    centre: Centre
    tokens: TokenStore
    limits: Limits
    blob_presence: BlobPresence = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "blob_presence", BlobPresence(self.centre.blobs))


# async, though they do not wait for anything: FastAPI runs a plain ``def`` dependency in a
# worker thread, and two thread hops per request cost more than the rest of a write.


async def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def get_centre(request: Request) -> Centre:
    service: Service = request.app.state.service
    return service.centre


def day_of(centre: Centre) -> DayGuard:
    """The exam day the centre keeps (``examctl serve`` opens it with the day's guard).

    Raises:
        Problem: (not-found) this centre keeps no exam day.
    """
    guard = centre.guard
    if not isinstance(guard, DayGuard):
        raise Problem("not-found", "this centre keeps no exam day")
    return guard


async def get_limits(request: Request) -> Limits:
    service: Service = request.app.state.service
    return service.limits


async def get_blob_presence(request: Request) -> BlobPresence:
    service: Service = request.app.state.service
    return service.blob_presence


ServiceDep = Annotated[Service, Depends(get_service)]
BlobPresenceDep = Annotated[BlobPresence, Depends(get_blob_presence)]
CentreDep = Annotated[Centre, Depends(get_centre)]
LimitsDep = Annotated[Limits, Depends(get_limits)]

_bearer = HTTPBearer(
    auto_error=False,
    description="A token made by `examctl tokens new`, bound to a role and an actor.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True)
class Caller:
    """Whoever presented a valid token: its public id, role and actor."""

    token_id: str
    role: str
    actor: str


class Permit:
    """The dependency that lets a request through only with a token allowed ``permission``."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, service: ServiceDep, credentials: Credentials) -> Caller:
        """The authenticated caller (the token is looked up in a worker thread: the database
        may wait, the event loop must not).

        Raises:
            Problem: ``token-missing`` or ``permission-denied``.
            TokenError: the token is malformed, unknown or revoked (answered 401).
            StoreError: the token table cannot be read (answered 503).
        """
        # (1)
        if credentials is None:
            raise Problem(
                "token-missing",
                "this endpoint needs an 'Authorization: Bearer <token>' header",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # (2)
        record = await in_thread(service.tokens.authenticate, credentials.credentials)
        # (3)
        if not permits(record.role, self.permission):
            raise Problem(
                "permission-denied",
                f"a token of role {record.role!r} may not {self.permission.value}",
            )
        # (4)
        return Caller(record.token_id, record.role, record.actor)


Whoami = Annotated[Caller, Depends(Permit(Permission.WHOAMI))]
BlobWriter = Annotated[Caller, Depends(Permit(Permission.BLOB_WRITE))]
BlobReader = Annotated[Caller, Depends(Permit(Permission.BLOB_READ))]
KeyReader = Annotated[Caller, Depends(Permit(Permission.KEYS_READ))]
TokenManager = Annotated[Caller, Depends(Permit(Permission.TOKENS_MANAGE))]

__all__ = [
    "BlobPresenceDep",
    "BlobReader",
    "BlobWriter",
    "Caller",
    "CentreDep",
    "KeyReader",
    "LimitsDep",
    "Permit",
    "Service",
    "ServiceDep",
    "TokenManager",
    "Whoami",
    "day_of",
]
