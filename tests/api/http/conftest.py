"""Fixtures of the HTTP service tests: a centre, its app on an in-process transport, signers.

The app runs on the real centre (real database through Alembic, real sequencer); requests go
through httpx's ASGI transport, so every byte passes the same middleware and handlers as on a
socket.  The end-to-end tests in ``test_serve.py`` use a real uvicorn on loopback.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import start_blocking_portal
from fastapi import FastAPI

from api.http import Limits, create_app
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import DEMO, Role
from tests.api.http.day_fixture import ServedDay, register_day_keys, script_guard
from tests.conftest import ORIGIN

SMALL_LIMITS = Limits(max_blob_bytes=4096, publish_timeout_s=10.0)


@dataclass
class Actor:
    """A registered key that signs entries with its own seq counter, as a device would."""

    signer: Ed25519Signer
    clock_ms: int
    seq: int = 0
    made: list[bytes] = field(default_factory=list)

    def entry(
        self,
        event_type: str = "demo.event",
        fields: Mapping[str, object] | None = None,
        *,
        seq: int | None = None,
        ts: int | None = None,
        log: str = ORIGIN,
    ) -> bytes:
        """Sign the next entry (or one with the given seq/ts, which does not advance)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        event = {
            "v": 1,
            "log": log,
            "type": event_type,
            "ts": self.clock_ms if ts is None else ts,
            "actor": self.signer.name,
            "seq": seq,
            **(fields if fields is not None else {"n": seq}),
        }
        data = make_entry(self.signer, event)
        self.made.append(data)
        return data


@pytest.fixture
def clock() -> list[int]:
    """The centre's clock, settable by a test (a one-element list)."""
    return [1_800_000_000_000]


@pytest.fixture
def served_centre(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path, clock: list[int]
) -> Iterator[Centre]:
    """A centre that keeps the exam day, as ``examctl serve`` opens it (the day script's ID
    hashes stand for the centre's database); parametrized indirectly, the number of its
    verification worker processes (none by default)."""
    Centre.create(tmp_path / "centre", ORIGIN, database_url=db_url).close()
    c = Centre.open(
        tmp_path / "centre",
        max_age_ms=2,
        clock_ms=lambda: clock[0],
        guard=script_guard,
        verify_workers=getattr(request, "param", 0),
    )
    yield c
    c.close()


@pytest.fixture
def day(served_centre: Centre, clock: list[int]) -> ServedDay:
    """The scripted session allocated, its first candidate boarded, the gate open for them."""
    now = clock[0]
    script = ServedDay(clock=clock, signers=register_day_keys(served_centre))
    script.attach(served_centre)
    script.open_session()
    script.allocate()
    candidate = script.first()
    script.gate(script.board(candidate))
    clock[0] = now
    return script


@pytest.fixture
def app(served_centre: Centre) -> FastAPI:
    return create_app(served_centre, limits=SMALL_LIMITS)


class AppClient:
    """A blocking client of an ASGI app: httpx's ASGI transport driven from a portal thread."""

    def __init__(self, app: FastAPI) -> None:
        self._stack = ExitStack()
        self._portal = self._stack.enter_context(start_blocking_portal())
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://centre.test"
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        call = functools.partial(self._client.request, method, url, **kwargs)
        return self._portal.call(call)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self._portal.call(self._client.aclose)
        self._stack.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[AppClient]:
    c = AppClient(app)
    yield c
    c.close()


@pytest.fixture
def tokens(served_centre: Centre) -> TokenStore:
    return TokenStore(served_centre.store.engine)


def make_actor(centre: Centre, name: str, role: Role = DEMO, clock_ms: int = 0) -> Actor:
    return Actor(centre.register_key(name, role), clock_ms)


@pytest.fixture
def demo(served_centre: Centre, clock: list[int]) -> Actor:
    return make_actor(served_centre, "demo/d1", DEMO, clock[0])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin_token(tokens: TokenStore) -> str:
    return tokens.issue("admin", "admin")[0]
