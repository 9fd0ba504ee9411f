"""The JSON bodies the HTTP service answers with, as pydantic models (they make the OpenAPI)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Wait(StrEnum):
    """How long a write waits before it answers."""

    SEQUENCED = "sequenced"
    """Until the entry is durable and has its index (this centre publishes in the same
    transaction, so the index is also covered by a checkpoint)."""
    PUBLISHED = "published"
    """Also until a checkpoint covers it, and answer with its tlog-proof receipt."""


class EntryAccepted(BaseModel):
    index: int = Field(description="the entry's index in the log")
    duplicate: bool = Field(
        description="true when the log already held these exact bytes (a resubmission)"
    )
    receipt: str | None = Field(
        default=None, description="the C2SP tlog-proof of the entry, when wait=published"
    )


class BundleItem(BaseModel):
    """One entry's answer in a bundle: its index, or the problem that refused it."""

    index: int | None = None
    duplicate: bool | None = None
    problem: dict[str, Any] | None = None


class BundleAnswer(BaseModel):
    results: list[BundleItem] = Field(description="one answer per entry, in bundle order")


class InclusionProof(BaseModel):
    index: int
    tree_size: int
    hashes: list[str] = Field(description="RFC 9162 inclusion path, base64")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    hashes: list[str] = Field(description="RFC 9162 consistency proof, base64")


class Health(BaseModel):
    status: str
    origin: str
    published_size: int


class NextSeq(BaseModel):
    actor: str
    next_seq: int = Field(description="the seq the actor's next entry must carry")


class BlobStored(BaseModel):
    sha256: str
    length: int
    created: bool = Field(description="false when the blob was already stored")


class KeyInfo(BaseModel):
    name: str
    role: str
    revoked: bool


class TokenInfo(BaseModel):
    token_id: str
    role: str
    actor: str
    created_ms: int
    revoked_ms: int | None


class CallerInfo(BaseModel):
    token_id: str
    role: str
    actor: str
    permissions: list[str]


class ProblemDocument(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(description="stable URI naming the kind of failure")
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str | None = Field(
        default=None, description="the log's or the exam day's refusal code, for entries"
    )
    expected: str | None = Field(
        default=None, description="the step(s) that may come, for a step out of order"
    )
