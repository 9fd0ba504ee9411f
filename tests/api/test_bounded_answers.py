"""Every HTTP client of the project reads an answer within its bound (``read_bounded``).

A server — a centre, a monitor's beacon, a witness, a log the mirror follows — is hostile until
its answer is checked.  Each client is asked over real HTTP by a server that answers a body
longer than the client's bound: under an honest ``Content-Length`` (refused before it is read),
chunked without end (refused once the bound is passed), compressed (refused unread: one chunk
of it decodes to more than any bound), and under a ``Content-Length`` that says less than is
sent (only the declared bytes are read).  Each client ends in its usual
error, never a traceback, and holds little more than its bound in memory.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from allocation.errors import BeaconError
from api.client import CentreClient, UnavailableError
from api.client.centre_client import MAX_ANSWER_BYTES as CENTRE_MAX_ANSWER_BYTES
from api.client.retry import RetryPolicy
from api.monitor.beacon_client import MAX_ANSWER_BYTES as BEACON_MAX_ANSWER_BYTES
from api.monitor.beacon_client import HttpBeacon
from api.monitor.mirror_client import HttpLogSource, mirror_client
from exam_core.centre.witness_http import MAX_ANSWER_BYTES as WITNESS_MAX_ANSWER_BYTES
from exam_core.centre.witness_http import (
    UnboundedAnswerError,
    WitnessTransport,
    WitnessUnreachableError,
    read_bounded,
)
from exam_core.log.checkpoint import MAX_CHECKPOINT_BYTES
from exam_core.log.tiles import TILE_MAX_BYTES, TilePath
from exam_core.monitoring.mirror_source import SourceRefusedError
from tests.api.client.hostile_centre import ENDLESS, Framing, HostileCentre, gzipped_zeros

ONCE = RetryPolicy(attempts=1)
LIE = 100
"""What a lying ``Content-Length`` declares (``HostileCentre``)."""
GZIP_BOMB = 256 << 20
"""Zeros that gzip (twice) to under a kilobyte: many times the largest bound, in any piece."""


def _centre(url: str) -> object:
    with CentreClient(url, retry=ONCE) as client:
        return client.health()


def _beacon(url: str) -> object:
    with HttpBeacon(url, 1, []) as beacon:
        return beacon.commitment_text


def _witness(url: str) -> object:
    transport = WitnessTransport(url)
    try:
        return transport.add_checkpoint(b"old 0\n\nnote\n").body
    finally:
        transport.close()


def _mirror_checkpoint(url: str) -> object:
    with mirror_client() as client:
        return HttpLogSource(client, url).checkpoint()


def _mirror_tile(url: str) -> object:
    # a tile read goes straight to the client's transport, past ``send``
    with mirror_client() as client:
        return HttpLogSource(client, url).tile(TilePath(0, 0))


@dataclass(frozen=True)
class Client:
    ask: Callable[[str], object]
    path: str
    limit: int
    error: type[Exception]


CLIENTS = {
    "centre": Client(_centre, "/health", CENTRE_MAX_ANSWER_BYTES, UnavailableError),
    "beacon": Client(_beacon, "/beacon/days/1/commitment", BEACON_MAX_ANSWER_BYTES, BeaconError),
    "witness": Client(
        _witness, "/add-checkpoint", WITNESS_MAX_ANSWER_BYTES, WitnessUnreachableError
    ),
    "mirror-checkpoint": Client(
        _mirror_checkpoint, "/checkpoint", MAX_CHECKPOINT_BYTES, SourceRefusedError
    ),
    "mirror-tile": Client(_mirror_tile, "/tile/0/000", TILE_MAX_BYTES, SourceRefusedError),
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileCentre]:
    gzipped_zeros(GZIP_BOMB)  # made once, before any memory is counted
    server = HostileCentre()
    yield server
    server.close()


def _asked(client: Client, url: str) -> tuple[object, int]:
    """What ``client`` made of the answer (its error, or what it read), and the most memory
    the asking took."""
    tracemalloc.start()
    try:
        try:
            got: object = client.ask(url)
        except client.error as e:
            got = e
        return got, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", CLIENTS)
@pytest.mark.parametrize("framing", ["honest", "chunked", "gzip"])
def test_an_answer_longer_than_the_bound_is_refused_in_bounded_memory(
    hostile: HostileCentre, name: str, framing: Framing
) -> None:
    client = CLIENTS[name]
    size = {"honest": client.limit + 1, "chunked": ENDLESS, "gzip": GZIP_BOMB}[framing]
    hostile.floods[client.path] = (framing, size)
    try:
        got, peak = _asked(client, hostile.url)
    finally:
        del hostile.floods[client.path]
    assert isinstance(got, client.error)
    assert any(why in str(got) for why in ("longer than", "declares", "compressed"))
    assert peak < 2 * client.limit + (1 << 20)


@pytest.mark.parametrize("name", CLIENTS)
def test_a_length_that_lies_is_read_no_further_than_it_says(
    hostile: HostileCentre, name: str
) -> None:
    client = CLIENTS[name]
    hostile.floods[client.path] = ("lying", ENDLESS)
    try:
        got, peak = _asked(client, hostile.url)
    finally:
        del hostile.floods[client.path]
    # The declared bytes are the answer; what follows them is never read.  A client that checks
    # what it read refuses it as it refuses any garbage; the others hand it on to be checked.
    assert isinstance(got, client.error) or got == b"x" * LIE
    assert peak < 2 * client.limit + (1 << 20)


@pytest.mark.parametrize(
    ("declared", "refused"),
    [
        ("9" * 5_000, "a length of 5000 digits"),  # past what int() reads
        ("0" * 40 + "17", "declares 17 bytes"),
        ("²", None),  # a digit to str.isdigit, not a length: the body is counted as it comes
        ("16", None),
    ],
)
def test_a_declared_length_is_read_as_a_number_only_when_it_is_one(
    declared: str, refused: str | None
) -> None:
    answer = httpx.Response(  # the header as the server sent it, not as httpx would count
        200,
        headers=[(b"content-length", declared.encode("latin-1"))],
        stream=httpx.ByteStream(b"x" * 16),
    )
    if refused is None:
        assert read_bounded(answer, 16) == b"x" * 16
    else:
        with pytest.raises(UnboundedAnswerError, match=refused):
            read_bounded(answer, 16)
