"""The one client of the centre's HTTP service, on httpx; every other machine of the day uses it.

``CentreClient`` speaks the service's API: entries (signed elsewhere, see ``api.client.signing``),
blobs, the public log, tokens.  It retries what is safe to retry (``api.client.retry``): when
the link drops or the server restarts mid-request, the same bytes are sent again, and the centre
answers a resubmitted entry with the index it already has, so a retry never makes a second
entry.  A problem document (4xx) is never retried; it raises ``RefusedError`` with the problem.
No answer is read beyond ``MAX_ANSWER_BYTES`` (``read_bounded``): a hostile or broken "centre"
that answers without end makes the request unavailable, never fills the machine's memory.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from api.client.answer import json_object, member
from api.client.errors import RefusedError, UnavailableError
from api.client.retry import RETRYABLE_STATUS, RetryPolicy
from exam_core.centre.witness_http import (
    AS_SENT,
    UnboundedAnswerError,
    read_bounded,
    url_problem,
)
from exam_core.log.tiles import ENTRY_BUNDLE_MAX_BYTES

DEFAULT_TIMEOUT_S = 35.0
"""A little more than the centre's own wait for publication (30 s)."""
MAX_ANSWER_BYTES = ENTRY_BUNDLE_MAX_BYTES
"""The longest answer a centre's routes give this client: an entry bundle (``/tile/entries/<N>``,
256 entries of at most 65,535 bytes, each behind its 2-byte length; 16 MiB and 512 bytes).  It
also holds the largest blob an event references (16 MiB, a telemetry chunk; the service's
default blob bound); a checkpoint, receipt, policy, entry or JSON answer is far shorter."""


@dataclass(frozen=True)
class Appended:
    """The centre's answer to an entry: its index, whether it was already there, its receipt."""

    index: int
    duplicate: bool
    receipt: bytes | None = None


def _centre_url(base_url: str) -> httpx.URL:
    """``base_url`` parsed, once, into the URL every request of a client starts from.

    Raises:
        UnavailableError: it is no URL, or its host is no name a resolver takes.
    """
    problem = url_problem(base_url)
    if problem is not None:
        raise UnavailableError(f"{base_url!r} is not a URL a centre can be reached at: {problem}")
    return httpx.URL(base_url.rstrip("/"))


class CentreClient:
    """A connection pool to one centre, with a bearer token for reads (optional)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        verify: ssl.SSLContext | bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """A client of the centre at ``base_url``.

        Raises:
            UnavailableError: ``base_url`` is no URL a centre can be reached at.
        """
        headers = {**AS_SENT, **({"Authorization": f"Bearer {token}"} if token is not None else {})}
        self.retry = retry if retry is not None else RetryPolicy()
        self._http = httpx.Client(
            base_url=_centre_url(base_url),
            headers=headers,
            verify=verify,
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CentreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the one request loop --------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        retry: RetryPolicy | None = None,
        limit: int = MAX_ANSWER_BYTES,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request, retrying link and server failures; return a 2xx response, its body
        read (at most ``limit`` bytes).

        Raises:
            RefusedError: the centre answered 4xx (or a 5xx that retrying does not cure).
            UnavailableError: no useful answer after every attempt, or one longer than
                ``limit`` or compressed (not retried: a centre that answered so is broken or
                hostile).
        """
        policy = retry if retry is not None else self.retry
        delays = policy.delays()
        while True:
            try:
                response = self._send(method, path, limit, kwargs)
            except UnboundedAnswerError as e:
                raise UnavailableError(f"{method} {path}: the answer {e}") from e
            except httpx.TransportError as e:
                failure = f"{method} {path}: {type(e).__name__}: {e}"
            else:
                if response.is_success:
                    return response
                if response.status_code not in RETRYABLE_STATUS:
                    raise RefusedError(response.status_code, _problem(response))
                failure = f"{method} {path}: {response.status_code}"
            delay = next(delays, None)
            if delay is None:
                raise UnavailableError(failure)
            policy.sleep(delay)

    def _send(
        self, method: str, path: str, limit: int, kwargs: Mapping[str, Any]
    ) -> httpx.Response:
        """One attempt: the answer, its body read within ``limit`` bytes.

        Raises:
            UnboundedAnswerError: the answer is longer than ``limit``, or compressed.
            httpx.TransportError: no answer, or its body broke off.
        """
        streamed = self._http.send(self._http.build_request(method, path, **kwargs), stream=True)
        try:
            body = read_bounded(streamed, limit)
        finally:
            streamed.close()
        # The body is read already: the answer carries it without the headers of its framing.
        headers = [(k, v) for k, v in streamed.headers.multi_items() if k.lower() not in _FRAMING]
        return httpx.Response(
            streamed.status_code, headers=headers, content=body, request=streamed.request
        )

    # --- writing ---------------------------------------------------------------------------

    def append(
        self, entry: bytes, *, wait_published: bool = False, retry: RetryPolicy | None = None
    ) -> Appended:
        """Submit a signed entry; its index (the same index however often it is resubmitted).

        Raises:
            RefusedError: the centre refused the entry (the problem says why).
            UnavailableError: the centre could not be reached after every attempt.
        """
        params = {"wait": "published"} if wait_published else {}
        response = self.request(
            "POST",
            "/entries",
            content=entry,
            params=params,
            headers={"Content-Type": "application/octet-stream"},
            retry=retry,
        )
        return _appended(response, json_object(response))

    def append_bundle(
        self, entries: Sequence[bytes], *, retry: RetryPolicy | None = None
    ) -> list[Appended | RefusedError]:
        """Submit up to 256 signed entries in one request, in order; one answer per entry.

        Resubmitting the same bundle is safe: entries already in the log answer with their
        index (``duplicate``).

        Raises:
            RefusedError: the centre refused the request as a whole (not a bundle).
            UnavailableError: the centre could not be reached after every attempt.
        """
        body = b"".join(len(e).to_bytes(2, "big") + e for e in entries)
        response = self.request(
            "POST",
            "/entries/bundle",
            content=body,
            headers={"Content-Type": "application/octet-stream"},
            retry=retry,
        )
        results = member(response, json_object(response), "results", list)
        if len(results) != len(entries):
            # Fewer answers left the sender waiting on an entry forever; more, one it never sent.
            raise UnavailableError(
                f"POST /entries/bundle: {len(results)} answers to {len(entries)} entries"
            )
        answers: list[Appended | RefusedError] = []
        for item in results:
            if not isinstance(item, dict):
                raise UnavailableError("POST /entries/bundle: an answer is not a JSON object")
            problem = item.get("problem")
            if problem is None:
                answers.append(_appended(response, item))
            elif isinstance(problem, dict) and type(problem.get("status", 400)) is int:
                answers.append(RefusedError(problem.get("status", 400), problem))
            else:
                raise UnavailableError("POST /entries/bundle: a refusal is not a problem document")
        return answers

    def put_blob(self, data: bytes, *, retry: RetryPolicy | None = None) -> str:
        """Upload a blob (harmless if it is already there); return its SHA-256.

        Raises:
            RefusedError: refused (no permission, too large).
            UnavailableError: the centre could not be reached after every attempt.
        """
        sha = hashlib.sha256(data).hexdigest()
        self.request(
            "PUT",
            f"/blobs/{sha}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            retry=retry,
        )
        return sha

    # --- reading ---------------------------------------------------------------------------

    def get_blob(self, sha256: str, *, limit: int = MAX_ANSWER_BYTES) -> bytes:
        """A blob, checked against its hash; ``limit`` for a centre that raised its blob bound.

        Raises:
            RefusedError: no such blob, or no permission.
            UnavailableError: the centre could not be reached, or the bytes that came back do
                not match the hash.
        """
        data = self.request("GET", f"/blobs/{sha256}", limit=limit).content
        if hashlib.sha256(data).hexdigest() != sha256:
            raise UnavailableError(f"blob {sha256} came back altered")
        return data

    def next_seq(self, actor: str) -> int:
        """The seq the actor's next entry must carry, as the centre's log says.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        response = self.request("GET", "/seq", params={"actor": actor})
        next_seq: int = member(response, json_object(response), "next_seq", int)
        return next_seq

    def receipt(self, index: int) -> bytes:
        """The tlog-proof of a published entry.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", f"/receipt/{index}").content

    def entry(self, index: int) -> bytes:
        """The exact bytes of entry ``index``.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", f"/entries/{index}").content

    def checkpoint(self) -> bytes:
        """The newest checkpoint note.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", "/checkpoint").content

    def tile(self, path: str) -> bytes:
        """A tile or entry bundle by its tlog-tiles path (``tile/0/000.p/5``).

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", "/" + path.lstrip("/")).content

    def vkey(self) -> str:
        """The log's verifier key.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", "/vkey").text.strip()

    def policy(self) -> bytes:
        """The log's tlog-policy.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return self.request("GET", "/policy").content

    def health(self) -> Mapping[str, Any]:
        """The service's health: status, origin, published size.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return json_object(self.request("GET", "/health"))

    def origin(self) -> str:
        """The log's origin (the name of its key).

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        response = self.request("GET", "/health")
        origin: str = member(response, json_object(response), "origin", str)
        return origin

    def whoami(self) -> Mapping[str, Any]:
        """What the client's token is: id, role, actor, permissions.

        Raises:
            RefusedError, UnavailableError: as ``request``.
        """
        return json_object(self.request("GET", "/whoami"))


_FRAMING = frozenset({"content-length", "transfer-encoding"})


def _appended(response: httpx.Response, body: Mapping[str, Any]) -> Appended:
    """An entry's answer: its index, whether it was there already, its receipt if asked.

    Raises:
        UnavailableError: the answer lacks one of them or holds one of another type.
    """
    receipt = body.get("receipt")
    if receipt is not None and not isinstance(receipt, str):
        raise UnavailableError(
            f"{response.request.method} {response.request.url.path}: "
            "the answer's 'receipt' is not a str"
        )
    return Appended(
        member(response, body, "index", int),
        member(response, body, "duplicate", bool),
        None if receipt is None else receipt.encode(),
    )


def _problem(response: httpx.Response) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"type": "about:blank", "status": response.status_code, "detail": response.text[:200]}
