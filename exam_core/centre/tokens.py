"""Bearer tokens for reading from the centre's HTTP service (DESIGN §9).

Writes to the log need no token: the entry's own signature is the authentication.  Reads of
what is not public (blobs, the key list, later a tablet's assignment) need a bearer token bound
to a role and an actor.  ``TokenStore`` is the one module that keeps them:

- ``issue`` makes a token ``eit_<id>_<secret>`` — 64 random bits of public id, 256 bits of
  secret — and stores only the SHA-256 of the secret, so the token is shown once and a copy of
  the database does not hold working tokens.  (A slow password hash buys nothing against a
  256-bit random secret.)
- ``authenticate`` finds the token by its id and compares the secret's hash in constant time;
  malformed, unknown and revoked tokens all raise the same ``TokenError``.
- ``revoke`` dates a token's ``revoked_ms``; a revoked token is refused from then on.

Which role may read what is the HTTP service's table (``api.http.permissions``), not this
module's: here a role is a name that is stored and returned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from exam_core.centre.sequencer import wall_clock_ms
from exam_core.db.tokens import TOKEN_ID_LENGTH, ApiToken
from exam_core.errors import StoreError, TokenError

TOKEN_PREFIX = "eit_"  # noqa: S105 — the public prefix that marks a token, not a secret
_SECRET_BYTES = 32
_TOKEN = re.compile(r"eit_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_TOKEN_ID = re.compile(r"[0-9a-f]{16}")
MAX_ROLE_LENGTH = 64
MAX_ACTOR_LENGTH = 512

_COLUMNS = "token_id, secret_sha256, role, actor, created_ms, revoked_ms"
_LOOKUP = {
    "qmark": f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = ?",  # noqa: S608
    "pyformat": f"SELECT {_COLUMNS} FROM api_tokens WHERE token_id = %s",  # noqa: S608
}
"""The lookup of a token in each driver's parameter style (sqlite3: qmark; psycopg: pyformat);
the columns are ``ApiToken``'s (``exam_core.db.tokens``)."""


@dataclass(frozen=True)
class TokenRecord:
    """What a token grants: its public id, role and actor; when made and when revoked."""

    token_id: str
    role: str
    actor: str
    created_ms: int
    revoked_ms: int | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_ms is not None


def _secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("ascii")).digest()


def _record(row: ApiToken) -> TokenRecord:
    return TokenRecord(row.token_id, row.role, row.actor, row.created_ms, row.revoked_ms)


class TokenStore:
    """The bearer tokens of one centre, in the centre's database."""

    def __init__(self, engine: Engine, clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self._engine = engine
        self._clock_ms = clock_ms
        self._lookup = _LOOKUP[engine.dialect.paramstyle]
        self._driver_error: type[Exception] = engine.dialect.loaded_dbapi.Error

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with Session(self._engine) as session, session.begin():
                yield session
        except SQLAlchemyError as e:
            raise StoreError(f"cannot use the token table: {type(e).__name__}") from e

    def issue(self, role: str, actor: str) -> tuple[str, TokenRecord]:
        """Make a token for ``role`` and ``actor``; return it (shown once) and its record.

        Raises:
            StoreError: the role or actor is empty or too long, or the database fails.
        """
        if not 0 < len(role) <= MAX_ROLE_LENGTH or not 0 < len(actor) <= MAX_ACTOR_LENGTH:
            raise StoreError(
                f"a token's role (1-{MAX_ROLE_LENGTH} characters) and actor "
                f"(1-{MAX_ACTOR_LENGTH}) are required"
            )
        for _ in range(3):  # a clash of 64 random bits is not expected even once
            token_id = secrets.token_hex(TOKEN_ID_LENGTH // 2)
            secret = base64.urlsafe_b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()[:43]
            row = ApiToken(
                token_id=token_id,
                secret_sha256=_secret_hash(secret),
                role=role,
                actor=actor,
                created_ms=self._clock_ms(),
                revoked_ms=None,
            )
            record = _record(row)
            try:
                with self._session() as session:
                    session.add(row)
            except StoreError as e:
                if isinstance(e.__cause__, IntegrityError):
                    continue
                raise
            return f"{TOKEN_PREFIX}{token_id}_{secret}", record
        raise StoreError("could not draw an unused token id")

    def authenticate(self, token: str) -> TokenRecord:
        """The record of a valid, unrevoked token.

        Raises:
            TokenError: the token is malformed, unknown, revoked or its secret does not match.
            StoreError: the database fails.
        """
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise TokenError("the bearer token is malformed")
        token_id, secret = match.groups()
        row = self._find(token_id)
        record = None
        stored = b""
        if row is not None:
            found_id, secret_sha256, role, actor, created_ms, revoked_ms = row
            stored = bytes(secret_sha256)
            record = TokenRecord(
                found_id,
                role,
                actor,
                int(created_ms),
                None if revoked_ms is None else int(revoked_ms),
            )
        if record is None or not hmac.compare_digest(stored, _secret_hash(secret)):
            raise TokenError("the bearer token is not known")
        if record.revoked:
            raise TokenError("the bearer token has been revoked")
        return record

    def _find(self, token_id: str) -> tuple[Any, ...] | None:
        """The token's row, read through the driver's own cursor on a pooled connection.

        Every token-checked request (a tablet's poll, an in-car unit's upload) makes this
        lookup: SQLAlchemy's Core execution around one indexed SELECT cost five times the
        query itself (about 200 µs against 40 µs a lookup on SQLite).

        Raises:
            StoreError: the database fails.
        """
        try:
            connection = self._engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    cursor.execute(self._lookup, (token_id,))
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                connection.close()  # back to the pool, rolled back
        except (SQLAlchemyError, self._driver_error) as e:
            raise StoreError(f"cannot use the token table: {type(e).__name__}") from e
        return None if row is None else tuple(row)

    def revoke(self, token_id: str) -> TokenRecord | None:
        """Revoke the token with this public id; None if there is none.

        Revoking a revoked token again changes nothing (its first date stays).

        Raises:
            TokenError: ``token_id`` is not 16 hex digits.
            StoreError: the database fails.
        """
        if _TOKEN_ID.fullmatch(token_id) is None:
            raise TokenError(f"{token_id[:40]!r} is not a token id (16 hex digits)")
        now = self._clock_ms()
        with self._session() as session:
            session.execute(
                update(ApiToken)
                .where(ApiToken.token_id == token_id, ApiToken.revoked_ms.is_(None))
                .values(revoked_ms=now)
            )
            row = session.get(ApiToken, token_id)
            return None if row is None else _record(row)

    def revoke_actor(self, actor: str) -> list[TokenRecord]:
        """Revoke every live token of ``actor``; return the tokens revoked now.

        Raises:
            StoreError: the database fails.
        """
        now = self._clock_ms()
        with self._session() as session:
            rows = session.execute(
                select(ApiToken).where(ApiToken.actor == actor, ApiToken.revoked_ms.is_(None))
            ).scalars()
            revoked = []
            for row in rows:
                row.revoked_ms = now
                revoked.append(_record(row))
            return revoked

    def list(self) -> list[TokenRecord]:
        """Every token, live and revoked, oldest first.

        Raises:
            StoreError: the database fails.
        """
        with self._session() as session:
            rows = session.execute(select(ApiToken).order_by(ApiToken.created_ms)).scalars()
            return [_record(row) for row in rows]


__all__ = ["TOKEN_PREFIX", "TokenRecord", "TokenStore"]
