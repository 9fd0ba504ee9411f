"""Allocation's beacon, fetched over HTTP from a monitoring centre (DESIGN §4 step 3).

``HttpBeacon`` is an ``allocation.beacon.BeaconSource`` for one day's chain: it fetches the
day's signed commitment once and checks it with the beacon key the caller pinned (never a key
the server names), and each ``reveal`` fetches a round and checks it against that commitment
(hashing it back to the committed anchor) before anyone uses it.  So a monitoring centre that
lies, or anything between it and the allocator, can only make a draw fail, never steer it.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from allocation.beacon import BeaconReading, HashChainCommitment, parse_commitment
from allocation.errors import BeaconError
from exam_core.centre.witness_http import AS_SENT, NO_ANSWER, UnboundedAnswerError, read_bounded
from exam_core.log.note import NoteVerifier

DEFAULT_TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 16 * 1024
"""A commitment is a signed note of a few lines, a round a little JSON: anything longer is not
an answer of a beacon."""


class HttpBeacon:
    """The hash-chain beacon of day ``day`` served under ``url`` (the monitor's base URL)."""

    kind = "hashchain"

    def __init__(
        self,
        url: str,
        day: int,
        trusted: Sequence[NoteVerifier],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        """Fetch and check the day's commitment.

        Raises:
            BeaconError: the commitment cannot be fetched or is not signed by a trusted key.
        """
        self._base = f"{url.rstrip('/')}/beacon/days/{day}"
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False, headers=AS_SENT)
        self.day = day
        try:
            self._text = self._get("commitment").decode("utf-8", "replace")
            commitment = parse_commitment("hashchain", self._text, trusted)
        except BaseException:
            self._client.close()
            raise
        if not isinstance(commitment, HashChainCommitment):
            self._client.close()
            raise BeaconError("the monitor's commitment is not a hash chain")
        self.commitment = commitment

    @property
    def commitment_text(self) -> str:
        """The signed commitment, verbatim: what a manifest names."""
        return self._text

    def reveal(self, round_number: int) -> BeaconReading:
        """The value of ``round_number``, checked against the commitment.

        Raises:
            BeaconError: the round is not public yet, the monitor cannot be reached, or the
                value does not hash back to the committed anchor.
        """
        body = self._get(f"rounds/{round_number}")
        try:
            answer = httpx.Response(200, content=body).json()
            value = bytes.fromhex(answer["value"])
            if answer["round"] != round_number:
                raise BeaconError(f"asked for round {round_number}, got {answer['round']}")
        except (ValueError, KeyError, TypeError) as e:
            raise BeaconError(f"round {round_number}: the answer is not a beacon value") from e
        reading = BeaconReading(round_number, value)
        self.commitment.verify(reading)
        return reading

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpBeacon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str) -> bytes:
        url = f"{self._base}/{path}"
        try:
            with self._client.stream("GET", url) as answer:
                data = read_bounded(answer, MAX_ANSWER_BYTES)
                if answer.status_code != 200:
                    detail = bytes(data[:300]).decode("utf-8", "replace")
                    raise BeaconError(f"{url} answered {answer.status_code}: {detail}")
                return data
        except UnboundedAnswerError as e:
            raise BeaconError(f"{url}: the answer {e}") from e
        except NO_ANSWER as e:
            raise BeaconError(f"{url}: {type(e).__name__}: {e}") from e
