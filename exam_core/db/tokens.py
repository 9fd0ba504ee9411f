"""The table of bearer tokens that the centre's HTTP service accepts for reads (DESIGN §9).

A token is shown once, when it is made; the table keeps only the SHA-256 of its secret part, so
a copy of the database does not hand out working tokens.  A token is bound to a role (which
decides what it may read) and an actor (whose data it may read), and is revoked by dating its
``revoked_ms``: rows are kept, so the history of who could read what stays in the database.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from exam_core.db.models import Base

TOKEN_ID_LENGTH = 16
"""Hex digits of a token's public id."""


class ApiToken(Base):
    """One bearer token: its public id, the hash of its secret, its role and actor."""

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(TOKEN_ID_LENGTH), primary_key=True)
    secret_sha256: Mapped[bytes] = mapped_column(LargeBinary(32), nullable=False)
    role: Mapped[str] = mapped_column(String(64), nullable=False)
    actor: Mapped[str] = mapped_column(String(512), nullable=False)
    created_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revoked_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
