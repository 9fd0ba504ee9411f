"""The C2SP tlog-witness wire format (https://c2sp.org/tlog-witness): ``add-checkpoint`` bodies.

A log asks a witness to cosign its newest checkpoint by POSTing to
``<submission prefix>/add-checkpoint`` a body that the witness (``exam_core.monitoring``) and
every log that feeds one (``exam_core.centre``) must read and write identically, so the format
lives here, once:

    old <size>\\n                 the size the log believes the witness last cosigned
    <base64 hash>\\n              zero to 63 consistency-proof lines, old size → checkpoint size
    \\n                           an empty line
    <signed checkpoint note>     origin, size, root (and any extension lines), signatures

The answers: 200 with the witness's ``cosignature/v1`` line(s); 409 with the witness's size in
decimal and a newline (``Content-Type: text/x.tlog.size``); 400, 403, 404 and 422 refusals.
Parsing is strict (signed-note and tlog-checkpoint rules, canonical base64, sizes without leading
zeros) and raises ``WitnessRequestError`` (400); nothing here checks a signature or a proof.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass

from exam_core.errors import CheckpointError, WitnessRequestError
from exam_core.log.checkpoint import MAX_CHECKPOINT_BYTES, parse_hash, parse_size
from exam_core.log.merkle import HASH_SIZE

ADD_CHECKPOINT_PATH = "add-checkpoint"
SIZE_CONTENT_TYPE = "text/x.tlog.size"
MAX_PROOF_LINES = 63
"""The spec's limit: a consistency proof of a tree of at most 2^63 − 1 leaves."""
MAX_REQUEST_BYTES = MAX_CHECKPOINT_BYTES + 32 + MAX_PROOF_LINES * 45
"""The old line, 63 base64 hashes with their newlines, the blank line and the largest note."""
MAX_SIZE_BODY_BYTES = 32
_OLD_LINE = re.compile(rb"old ([0-9]+)")


@dataclass(frozen=True)
class AddCheckpointRequest:
    """A parsed request: the old size, the consistency proof and the checkpoint note, verbatim."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes


def add_checkpoint_body(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    """The body of an ``add-checkpoint`` request; the checkpoint note is copied verbatim.

    Raises:
        ValueError: a negative size, more than 63 proof hashes or a hash not of 32 bytes
            (a caller's bug: a log builds its own proofs).
    """
    if old_size < 0:
        raise ValueError("a tree size is never negative")
    if len(proof) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in proof):
        raise ValueError(f"a consistency proof is at most {MAX_PROOF_LINES} hashes of 32 bytes")
    lines = [b"old %d\n" % old_size, *(base64.b64encode(h) + b"\n" for h in proof), b"\n"]
    return b"".join(lines) + checkpoint


def parse_add_checkpoint_body(body: bytes) -> AddCheckpointRequest:
    """Split an ``add-checkpoint`` body into old size, proof hashes and checkpoint note.

    1. the body is at most ``MAX_REQUEST_BYTES``;
    2. the first line is ``old <decimal without leading zeros>``;
    3. up to 63 lines of canonical base64 32-byte hashes follow, then an empty line;
    4. the rest, non-empty, is the checkpoint note (its own parser checks it).

    Raises:
        WitnessRequestError: any of the above does not hold.
    """
    # (1)
    if len(body) > MAX_REQUEST_BYTES:
        raise WitnessRequestError(f"request body is over {MAX_REQUEST_BYTES} bytes")
    # (2)
    head, newline, rest = body.partition(b"\n")
    match = _OLD_LINE.fullmatch(head) if newline else None
    if match is None:
        raise WitnessRequestError("the body does not start with an 'old <size>' line")
    try:
        old_size = parse_size(match.group(1))
    except CheckpointError as e:
        raise WitnessRequestError(f"old size: {e}") from e
    # (3)
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition(b"\n")
        if not newline:
            raise WitnessRequestError("the proof lines are not followed by an empty line")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof.append(parse_hash(line, f"proof line {len(proof) + 1}"))
        except CheckpointError as e:
            raise WitnessRequestError(str(e)) from e
    # (4)
    if not rest:
        raise WitnessRequestError("the request carries no checkpoint")
    return AddCheckpointRequest(old_size, tuple(proof), rest)


def size_body(size: int) -> bytes:
    """The body of a 409 answer: the witness's size in decimal and a newline."""
    return b"%d\n" % size


def parse_size_body(body: bytes) -> int:
    """The witness's size from a 409 answer (``text/x.tlog.size``).

    Raises:
        WitnessRequestError: the body is not a decimal size and a newline.
    """
    if len(body) > MAX_SIZE_BODY_BYTES or not body.endswith(b"\n"):
        raise WitnessRequestError("a size answer is a decimal and a newline")
    try:
        return parse_size(body[:-1])
    except CheckpointError as e:
        raise WitnessRequestError(f"size answer: {e}") from e
