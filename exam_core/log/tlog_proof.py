"""C2SP tlog-proof (https://c2sp.org/tlog-proof): the receipt an actor keeps for its entry.

A tablet, a scorer or a candidate's file holds a receipt to show later, offline and without
trusting the centre, that its entry is in the log as witnessed (DESIGN §3.3):

    c2sp.org/tlog-proof@v1
    extra <base64>               optional, NOT authenticated
    index <n>                    decimal, no leading zeros
    <base64 hash>                inclusion path, leaf's sibling first, zero or more lines
    <blank line>
    <signed checkpoint note, verbatim, with its cosignatures>

``verify_receipt`` checks it against a tlog-policy: the log's signature and the witness quorum
on the checkpoint, then the inclusion of SHA-256(0x00 ‖ entry bytes) at the index.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from exam_core.errors import CheckpointError
from exam_core.log.checkpoint import MAX_CHECKPOINT_BYTES, Checkpoint, parse_hash
from exam_core.log.merkle import HASH_SIZE, leaf_hash, verify_inclusion
from exam_core.log.policy import Policy

HEADER = b"c2sp.org/tlog-proof@v1"
MAX_PROOF_LINES = 63
"""A tree of at most 2^63 − 1 leaves has inclusion paths of at most 63 hashes."""
MAX_EXTRA_BYTES = 16 * 1024
MAX_RECEIPT_BYTES = MAX_CHECKPOINT_BYTES + 4 * MAX_EXTRA_BYTES
_INDEX = re.compile(rb"index (0|[1-9][0-9]{0,18})")


@dataclass(frozen=True)
class Receipt:
    """A parsed receipt; nothing in it is verified yet."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: bytes
    extra: bytes | None = None


def make_receipt(
    index: int,
    inclusion_path: Sequence[bytes],
    checkpoint_note: bytes,
    extra: bytes | None = None,
) -> bytes:
    """Lay out a receipt; the checkpoint note is copied verbatim.

    Raises:
        ValueError: ``index`` is negative, ``extra`` is empty or too long, or the path is longer
            than 63 hashes or holds one that is not 32 bytes (a caller bug).
    """
    if index < 0:
        raise ValueError("entry index is never negative")
    if extra is not None and not 0 < len(extra) <= MAX_EXTRA_BYTES:
        raise ValueError(f"extra data is 1..{MAX_EXTRA_BYTES} bytes")
    if len(inclusion_path) > MAX_PROOF_LINES or any(len(h) != HASH_SIZE for h in inclusion_path):
        raise ValueError("an inclusion path is at most 63 hashes of 32 bytes")
    lines = [HEADER]
    if extra is not None:
        lines.append(b"extra " + base64.b64encode(extra))
    lines.append(b"index %d" % index)
    lines += [base64.b64encode(h) for h in inclusion_path]
    return b"\n".join(lines) + b"\n\n" + checkpoint_note


def parse_receipt(data: bytes) -> Receipt:
    """Parse a receipt strictly (header, extra, index, 32-byte hashes, blank line, note).

    Raises:
        CheckpointError: the receipt is too large, lacks its header, index line, blank line or
            checkpoint, its extra data is not canonical base64 of 1..``MAX_EXTRA_BYTES`` bytes, or
            it has too many proof lines or one that is not a base64 32-byte hash. The checkpoint
            itself is not parsed here.
    """
    if len(data) > MAX_RECEIPT_BYTES:
        raise CheckpointError(f"receipt is over {MAX_RECEIPT_BYTES} bytes")
    head, sep, note = data.partition(b"\n\n")
    if not sep:
        raise CheckpointError("receipt has no blank line before its checkpoint")
    if not note:
        raise CheckpointError("receipt carries no checkpoint")
    lines = head.split(b"\n")
    if lines[0] != HEADER:
        raise CheckpointError("receipt does not start with 'c2sp.org/tlog-proof@v1'")
    pos = 1
    extra = None
    if pos < len(lines) and lines[pos].startswith(b"extra "):
        encoded = lines[pos][len(b"extra ") :]
        try:
            extra = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as e:
            raise CheckpointError("receipt extra data is not base64") from e
        if not extra or base64.b64encode(extra) != encoded or len(extra) > MAX_EXTRA_BYTES:
            raise CheckpointError("receipt extra data is empty, not canonical or too large")
        pos += 1
    match = _INDEX.fullmatch(lines[pos]) if pos < len(lines) else None
    if match is None:
        raise CheckpointError("receipt has no 'index <decimal without leading zeros>' line")
    index = int(match.group(1))
    proof_lines = lines[pos + 1 :]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise CheckpointError(f"receipt has more than {MAX_PROOF_LINES} proof lines")
    proof = tuple(parse_hash(line, f"proof line {i + 1}") for i, line in enumerate(proof_lines))
    return Receipt(index, proof, note, extra)


def verify_receipt(receipt: bytes, entry: bytes, policy: Policy) -> Checkpoint:
    """Check that ``entry`` is in the log the policy trusts, as the receipt claims.

    1. the receipt parses;
    2. the checkpoint carries the log's signature and the witness quorum of ``policy``;
    3. the inclusion path leads from leaf_hash(entry) at the index to the checkpoint's root.

    Raises ``CheckpointError`` for (1)–(2) and ``ProofError`` for (3).
    """
    # (1)
    parsed = parse_receipt(receipt)
    # (2)
    cp, _witnesses = policy.verify_checkpoint(parsed.checkpoint)
    # (3) RFC 9162 §2.1.3.2 with the exact-length and index < size rules.
    verify_inclusion(leaf_hash(entry), parsed.index, cp.size, parsed.proof, cp.root_hash)
    return cp
