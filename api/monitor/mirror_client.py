"""The mirror's reads of a centre's log over HTTP (httpx): checkpoint, tiles, entry bundles.

A ``LogSource`` (``exam_core.monitoring.mirror_source``) for a centre that serves the C2SP
tlog-tiles layout under a URL prefix (``/checkpoint``, ``/tile/<L>/<N>``,
``/tile/entries/<N>``; ours do, ``api.http.routes.public_log``).  A centre is hostile until
verified, so an answer is never held beyond the largest valid one of its kind — a checkpoint
note, 256 hashes, 256 entries — and a longer one is refused as soon as it is seen, declared or
not.  No answer, a timeout, a 5xx or a 429 is the centre being unavailable; any other status is
a refusal: a centre's own checkpoint implies every tile the mirror asks for.

A pull makes two requests per 256 entries (the level-0 tile and the entry bundle), and
``httpx.Client.send`` costs about 0.6 ms of CPU a request on loopback, most of it in the layers
around the transport (auth and redirect flows, event hooks, cookie extraction): as much as
the rest of the mirror's own work on those entries.  A ``MirrorClient`` (``mirror_client``)
keeps its transport, and a source over one sends tile and bundle requests, built by the
client (``build_request``: its headers and timeouts), straight to that transport: about 0.25 ms
less a request.  The mirror uses no cookies, auth flow or hooks, follows no redirect (a 3xx
is refused either way); with a proxy configured in the environment every request goes through
``send``, as it would through any other ``httpx.Client``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.request import getproxies

import httpx

from exam_core.centre.witness_http import AS_SENT, NO_ANSWER, UnboundedAnswerError, read_bounded
from exam_core.log.checkpoint import MAX_CHECKPOINT_BYTES
from exam_core.log.tiles import ENTRY_BUNDLE_MAX_BYTES, TILE_MAX_BYTES, TilePath
from exam_core.monitoring.mirror_source import (
    LogSource,
    SourceRefusedError,
    SourceUnavailableError,
)
from exam_core.monitoring.store import KnownLog

__all__ = ["DEFAULT_TIMEOUT_S", "HttpLogSource", "MirrorClient", "http_sources", "mirror_client"]

DEFAULT_TIMEOUT_S = 10.0


class MirrorClient(httpx.Client):
    """An httpx client for the mirror, whose transport tile reads use directly (see above)."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.transport = httpx.HTTPTransport()
        """Where this client sends every request it does not send through a proxy."""
        self.direct = not getproxies()
        """No proxy is configured in the environment (the same variables httpx reads), so every
        request goes to ``transport``: tile reads may skip ``send``."""
        super().__init__(
            timeout=timeout_s, follow_redirects=False, transport=self.transport, headers=AS_SENT
        )


class HttpLogSource:
    """The log served under ``url`` (no trailing slash), read with ``client``."""

    def __init__(self, client: httpx.Client, url: str, token: str | None = None) -> None:
        self._client = client
        self._url = url.rstrip("/")
        # every request asks for the answer as sent, whatever client it goes through
        self._blob_headers = (
            AS_SENT if token is None else {**AS_SENT, "Authorization": f"Bearer {token}"}
        )

    def checkpoint(self) -> bytes:
        """The newest checkpoint note, unverified.

        Raises:
            SourceUnavailableError: no answer, a timeout, a 5xx or 429.
            SourceRefusedError: another status, a note longer than any valid one, or compressed.
        """
        return self._get("checkpoint", MAX_CHECKPOINT_BYTES, AS_SENT)

    def tile(self, tile: TilePath) -> bytes:
        """A Merkle tile or entry bundle, unverified.

        Raises:
            SourceUnavailableError: no answer, a timeout, a 5xx or 429.
            SourceRefusedError: another status, or more bytes than 256 hashes or entries.
        """
        limit = ENTRY_BUNDLE_MAX_BYTES if tile.is_entries else TILE_MAX_BYTES
        if isinstance(self._client, MirrorClient) and self._client.direct:
            return self._get_direct(self._client, tile.path, limit)
        return self._get(tile.path, limit, AS_SENT)

    def blob(self, sha256_hex: str, limit: int) -> bytes:
        """The blob of that hash (``GET /blobs/<sha256>`` with the monitor's bearer token),
        unverified.

        Raises:
            SourceUnavailableError: no answer, a timeout, a 5xx or 429.
            SourceRefusedError: another status, more than ``limit`` bytes, or a compressed answer.
        """
        return self._get(f"blobs/{sha256_hex}", limit, self._blob_headers)

    def _get(self, path: str, limit: int, headers: Mapping[str, str]) -> bytes:
        url = f"{self._url}/{path}"
        try:
            with self._client.stream("GET", url, headers=headers) as answer:
                return _body(answer, url, path, limit)
        except NO_ANSWER as e:
            raise SourceUnavailableError(f"{url}: {type(e).__name__}: {e}") from e

    def _get_direct(self, client: MirrorClient, path: str, limit: int) -> bytes:
        """``_get`` through ``client``'s transport, the request built by ``client``.

        Raises:
            SourceUnavailableError: no answer, a timeout, a 5xx or 429.
            SourceRefusedError: another status, more than ``limit`` bytes, or a compressed answer.
        """
        url = f"{self._url}/{path}"
        try:
            answer = client.transport.handle_request(client.build_request("GET", url))
            try:
                return _body(answer, url, path, limit)
            finally:
                answer.close()
        except NO_ANSWER as e:
            raise SourceUnavailableError(f"{url}: {type(e).__name__}: {e}") from e


def _body(answer: httpx.Response, url: str, path: str, limit: int) -> bytes:
    """The body of ``answer`` to a GET of ``url``, if it is one the mirror reads.

    Raises:
        SourceUnavailableError: a 5xx or 429.
        SourceRefusedError: another status than 200, more than ``limit`` bytes, or compressed.
        httpx.HTTPError: the body could not be read.
    """
    status = answer.status_code
    if status >= 500 or status == 429:
        raise SourceUnavailableError(f"{url} answered {status}")
    if status != 200:
        raise SourceRefusedError(path, f"answered {status}", status=status)
    try:
        return read_bounded(answer, limit)
    except UnboundedAnswerError as e:
        raise SourceRefusedError(path, str(e)) from e


def http_sources(
    client: httpx.Client, tokens: Mapping[str, str] | None = None
) -> Callable[[KnownLog], LogSource]:
    """The mirror's ``open_source``: each log read over ``client`` from its URL, its blobs with
    the log's token in ``tokens`` (by origin) if there is one.

    Raises:
        ValueError: a log has no URL (the mirror only schedules logs that have one).
    """

    def open_source(log: KnownLog) -> LogSource:
        if log.url is None:
            raise ValueError(f"{log.origin} has no URL to mirror it from")
        return HttpLogSource(client, log.url, (tokens or {}).get(log.origin))

    return open_source


def mirror_client(timeout_s: float = DEFAULT_TIMEOUT_S) -> MirrorClient:
    """An httpx client for the mirror: no redirects followed, bounded time for every read, tile
    reads straight to its transport."""
    return MirrorClient(timeout_s)
