"""The HTTP transport of witnessing: the one module of ``exam_core`` that speaks HTTP (httpx).

``exam_core.centre.witnessing`` decides what to send to a witness and what an answer means;
this module only POSTs the body to ``<submission prefix>/add-checkpoint`` and hands back the
status, content type and (bounded) body — the seam, like ``devices.transport`` for serial
lines.  One keep-alive client per witness, as tlog-witness recommends.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from exam_core.log.tlog_witness import ADD_CHECKPOINT_PATH

DEFAULT_TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 64 * 1024
"""A witness answers a few signature lines or a size; anything longer is not an answer."""


class WitnessUnreachableError(Exception):
    """The witness could not be asked: no connection, a timeout, or an oversized answer."""


@dataclass(frozen=True)
class WitnessAnswer:
    status: int
    content_type: str
    body: bytes


class WitnessTransport:
    """Posts ``add-checkpoint`` requests to one witness."""

    def __init__(self, url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url.rstrip("/") + "/" + ADD_CHECKPOINT_PATH
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def add_checkpoint(self, body: bytes) -> WitnessAnswer:
        """POST ``body``; the witness's answer, whatever its status.

        Raises:
            WitnessUnreachableError: no answer (connection, timeout, protocol) or one too long.
        """
        try:
            with self._client.stream(
                "POST", self.url, content=body, headers={"content-type": "text/plain"}
            ) as answer:
                data = bytearray()
                for chunk in answer.iter_bytes():
                    data += chunk
                    if len(data) > MAX_ANSWER_BYTES:
                        raise WitnessUnreachableError(f"{self.url} answered more than 64 KiB")
                return WitnessAnswer(
                    answer.status_code, answer.headers.get("content-type", ""), bytes(data)
                )
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError) as e:
            # InvalidURL (a host that is not IDNA) is no HTTPError, and httpx passes on the
            # resolver's UnicodeError (an empty label, one over 63 characters) as it is: a
            # witness URL such as http://a..b/ would otherwise end the witnessing thread.
            raise WitnessUnreachableError(f"{self.url}: {type(e).__name__}: {e}") from e

    def close(self) -> None:
        self._client.close()
