"""A centre's log as its public HTTP endpoints show it: the ``LogSource`` a verifier asks.

Why it exists: a candidate checks that their receipt still holds against the log of today
(``examctl receipt check FILE --url CENTRE``) without an exported bundle.  Nothing the centre
answers is trusted: the checkpoint is verified against the pinned (or the receipt's) policy
and the consistency proof against both roots by ``exam_core.evidence.check_receipt_current``.
This module only fetches, and refuses answers that are not the shape of a proof: a hash that
is not 32 bytes of base64, more hashes than any tree of 2^63 entries needs, or a proof for
sizes other than the ones asked.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from api.client.centre_client import CentreClient
from exam_core.errors import ProofError

HASH_BYTES = 32
MAX_PROOF_HASHES = 128
"""A consistency proof has at most about 2·log2(size) hashes; 2^63 entries need fewer than 128."""


def _hash(item: object) -> bytes:
    if not isinstance(item, str):
        raise ProofError("the centre's proof holds a hash that is not a string")
    try:
        value = base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ProofError("the centre's proof holds a hash that is not base64") from e
    if len(value) != HASH_BYTES:
        raise ProofError(f"the centre's proof holds a hash of {len(value)} bytes, not 32")
    return value


def parse_consistency_answer(body: Any, first: int, second: int) -> list[bytes]:
    """The hashes of a ``GET /proof/consistency`` answer for sizes ``first`` → ``second``.

    Raises:
        ProofError: the answer is not a proof for those sizes.
    """
    if not isinstance(body, dict):
        raise ProofError("the centre's consistency answer is not a JSON object")
    if body.get("first") != first or body.get("second") != second:
        raise ProofError(
            f"the centre answered a proof for {body.get('first')!r} → {body.get('second')!r}, "
            f"not {first} → {second}"
        )
    hashes = body.get("hashes")
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF_HASHES:
        raise ProofError("the centre's consistency proof is not a list of at most 128 hashes")
    return [_hash(h) for h in hashes]


class CentreLog:
    """A ``LogSource`` (``exam_core.evidence``) over a centre's public log endpoints."""

    def __init__(self, client: CentreClient) -> None:
        self._client = client

    def checkpoint_note(self) -> bytes:
        """The centre's newest cosigned checkpoint (verified by the caller).

        Raises:
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        return self._client.checkpoint()

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """RFC 9162 PROOF(old_size, D[new_size]) as the centre serves it.

        Raises:
            ProofError: the answer is not a proof for those sizes.
            RefusedError, UnavailableError: as ``CentreClient.request``.
        """
        response = self._client.request(
            "GET", "/proof/consistency", params={"from": old_size, "to": new_size}
        )
        try:
            body = response.json()
        except ValueError as e:
            raise ProofError("the centre's consistency answer is not JSON") from e
        return parse_consistency_answer(body, old_size, new_size)


__all__ = ["CentreLog", "parse_consistency_answer"]
