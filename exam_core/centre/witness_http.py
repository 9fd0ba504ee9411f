"""The HTTP transport of witnessing: the one module of ``exam_core`` that speaks HTTP (httpx).

``exam_core.centre.witnessing`` decides what to send to a witness and what an answer means;
this module only POSTs the body to ``<submission prefix>/add-checkpoint`` and hands back the
status, content type and (bounded) body — the seam, like ``devices.transport`` for serial
lines.  One keep-alive client per witness, as tlog-witness recommends.

It also holds what every HTTP client of the project (witnessing here; the monitor's mirror and
beacon, the machines' centre client in ``api``) agrees on with httpx: which exceptions mean no
answer came (``NO_ANSWER``), which URLs no request can be sent to (``url_problem``), and how an
answer is read within a bound (``read_bounded``, ``AS_SENT``): a server is hostile until its
answer is checked, and one that answers without end must not fill the reader's memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import httpx

from exam_core.log.tlog_witness import ADD_CHECKPOINT_PATH

DEFAULT_TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 64 * 1024
"""A witness answers a few signature lines or a size; anything longer is not an answer."""


NO_ANSWER: tuple[type[Exception], ...] = (httpx.HTTPError, httpx.InvalidURL, UnicodeError)
"""What an httpx request raises when no answer comes: its own errors; ``InvalidURL``, which is
no ``HTTPError``, for a host that is not IDNA; and the resolver's ``UnicodeError`` (an empty
label, one over 63 characters), which httpx passes on as it is."""


def url_problem(url: str) -> str | None:
    """Why no request can be sent to ``url`` — not an http(s) URL, blanks in it, or a host that
    is no name a resolver takes (``http://a..b/``) — or None when one can."""
    if not url.startswith(("http://", "https://")) or any(ch.isspace() for ch in url):
        return "not an http(s) URL"
    try:
        # the resolver encodes the name as IDNA before it looks it up, at the first request
        httpx.URL(url).host.encode("idna")
    except (httpx.InvalidURL, UnicodeError) as e:
        return f"its host is no name a resolver takes ({e})"
    return None


AS_SENT: Mapping[str, str] = MappingProxyType({"Accept-Encoding": "identity"})
"""Headers of every request: an answer is bounded as it is read (``read_bounded``), so it must
come as it was made, not compressed (httpx asks for gzip by default)."""


class UnboundedAnswerError(Exception):
    """An answer its reader cannot read within its bound: longer, declared or sent, or
    compressed (its length unknown until it is decoded)."""


_MAX_LENGTH_DIGITS = 18
"""The most digits of a declared length read as a number: more is over any bound."""


def read_bounded(answer: httpx.Response, limit: int) -> bytes:
    """The body of the streamed ``answer``, which must be at most ``limit`` bytes.

    1. A compressed answer is refused unread: decoding one chunk of a few kilobytes can make
       gigabytes (gzip within gzip), before any count sees them.  Requests ask for none
       (``AS_SENT``).
    2. A ``Content-Length`` over ``limit`` is refused before any of the body is read.
    3. Otherwise the body is read as it comes and refused as soon as it passes ``limit``: a
       declared length is never trusted to stop the read (chunked, absent, or a lie; httpx
       reads no further than a declared length).

    Raises:
        UnboundedAnswerError: the answer is compressed, or declares or sends more than
            ``limit`` bytes.
        httpx.HTTPError: the body could not be read (one of ``NO_ANSWER``).
    """
    encoding = answer.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):  # (1)
        raise UnboundedAnswerError(f"is compressed ({encoding})")
    declared = answer.headers.get("content-length", "").lstrip("0")
    # (2), read as a number only when it is ASCII digits of a size int() takes: "²" is a digit
    # to str.isdigit, and int() refuses more than 4,300 digits
    if declared.isascii() and declared.isdigit():
        if len(declared) > _MAX_LENGTH_DIGITS:
            raise UnboundedAnswerError(f"declares a length of {len(declared)} digits")
        if int(declared) > limit:
            raise UnboundedAnswerError(f"declares {declared} bytes; at most {limit} are read")
    data = bytearray()
    for chunk in answer.iter_bytes():  # (3): as it came, since it is not compressed
        data += chunk
        if len(data) > limit:
            raise UnboundedAnswerError(f"is longer than {limit} bytes")
    return bytes(data)


class WitnessUnreachableError(Exception):
    """The witness could not be asked: no connection, a timeout, a long or compressed answer."""


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: bytes


class WitnessTransport:
    """Posts ``add-checkpoint`` requests to one witness."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/") + "/" + ADD_CHECKPOINT_PATH
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False, headers=AS_SENT)

    def add_checkpoint(self, body: bytes) -> WitnessAnswer:
        """POST ``body``; the witness's answer, whatever its status.

        Raises:
            WitnessUnreachableError: no answer (connection, timeout, protocol) or one too long.
        """
        try:
            with self._client.stream(
                "POST", self.url, content=body, headers={"content-type": "text/plain"}
            ) as answer:
                data = read_bounded(answer, MAX_ANSWER_BYTES)
                return WitnessAnswer(
                    answer.status_code, answer.headers.get("content-type", ""), data
                )
        except UnboundedAnswerError as e:
            raise WitnessUnreachableError(f"{self.url}: the answer {e}") from e
        except NO_ANSWER as e:  # a witness named before its URL was checked ends no thread
            raise WitnessUnreachableError(f"{self.url}: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._client.close()
