"""The receipt a candidate keeps for their result, verified offline and against today's log.

When a result is published the candidate gets a file that proves, without trusting the centre,
that the result (the scorer's ``exam.scored`` entry) is in the log as witnessed, and later that
it still is: an entry changed after the fact cannot keep both the receipt's checkpoint and a
consistent log of today.  Layout (text; lines end in ``\\n``)::

    exam-integrity/result-receipt@v1
    exam <the exam's pseudonymous id, 32 hex digits>
    entry <base64 of the exam.scored entry's exact bytes>
    policy <base64 of the log's C2SP tlog-policy>
    <blank line>
    <C2SP tlog-proof of the entry, verbatim (exam_core.log.tlog_proof)>

No personal data is in it: the exam is named by its pseudonymous id, the entry carries scores,
codes and hashes only.  The policy travels with the receipt so that it can be checked anywhere;
a verifier who holds the centre's published policy pins it instead (``--policy``), since a
receipt's own policy proves only that the receipt agrees with itself.

1. ``verify_result_receipt``: the receipt parses; the entry is an ``exam.scored`` of the exam it
   names; the tlog-proof's checkpoint carries the log's signature and the witness quorum, and
   the inclusion path leads from the entry to its root (``tlog_proof.verify_receipt``);
2. ``check_receipt_current``: today's checkpoint (from a ``LogSource``: an exported bundle, or
   the centre's read API) verifies under the same policy, is no smaller, and an RFC 9162
   consistency proof leads from the receipt's checkpoint to it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from exam_core.errors import CheckpointError, EntryError, EvidenceError, ProofError
from exam_core.evidence.bundle_log import BundleLog, LogSource
from exam_core.log.checkpoint import Checkpoint
from exam_core.log.entry import parse_entry
from exam_core.log.merkle import verify_consistency
from exam_core.log.policy import Policy, parse_policy, render_policy
from exam_core.log.schemas import validate_event
from exam_core.log.tlog_proof import (
    MAX_RECEIPT_BYTES,
    make_receipt,
    parse_receipt,
    verify_receipt,
)

HEADER = b"exam-integrity/result-receipt@v1"
RESULT_TYPE = "exam.scored"
MAX_ENTRY_BYTES = 65_535
MAX_POLICY_BYTES = 64 * 1024
MAX_RESULT_RECEIPT_BYTES = 4 * MAX_ENTRY_BYTES + 2 * MAX_POLICY_BYTES + MAX_RECEIPT_BYTES
_EXAM = re.compile(rb"exam ([0-9a-f]{32})")


@dataclass(frozen=True)
class ResultReceipt:
    """A parsed result receipt; nothing in it is verified yet."""

    exam: str
    entry: bytes
    policy: bytes
    proof: bytes
    """The C2SP tlog-proof, verbatim."""


@dataclass(frozen=True)
class VerifiedResult:
    """What a verified receipt proves: the result, where it is in the log, under which
    checkpoint, and whether the policy was the verifier's own (pinned) or the receipt's."""

    exam: str
    event: dict[str, Any]
    index: int
    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    pinned: bool


def _b64_line(line: bytes, name: str, limit: int) -> bytes:
    prefix = name.encode() + b" "
    if not line.startswith(prefix):
        raise EvidenceError(f"receipt: expected a line '{name} <base64>'")
    encoded = line[len(prefix) :]
    try:
        value = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as e:
        raise EvidenceError(f"receipt: {name} is not base64") from e
    if not value or len(value) > limit or base64.b64encode(value) != encoded:
        raise EvidenceError(f"receipt: {name} is empty, over {limit} bytes or not canonical")
    return value


def make_result_receipt(entry: bytes, tlog_proof: bytes, policy: bytes) -> bytes:
    """The receipt of the result ``entry``, from its tlog-proof and the log's policy text.

    Raises:
        EvidenceError: ``entry`` is not an ``exam.scored`` entry (or is too large).
    """
    exam = _result_exam(entry)
    if len(policy) > MAX_POLICY_BYTES:
        raise EvidenceError(f"the policy is over {MAX_POLICY_BYTES} bytes")
    return b"\n".join(
        [
            HEADER,
            b"exam " + exam.encode(),
            b"entry " + base64.b64encode(entry),
            b"policy " + base64.b64encode(policy),
            b"",
            tlog_proof,
        ]
    )


def receipt_from_bundle(log: BundleLog, exam: str, policy: bytes) -> bytes:
    """The receipt of ``exam``'s result under the bundle's newest checkpoint (the centre issues
    the same from its store when it publishes the result).

    Raises:
        EvidenceError: the bundle holds no result of that exam.
    """
    note = log.checkpoint_note()
    for index in range(len(log.entries) - 1, -1, -1):
        data = log.entries[index]
        if b'"exam.scored"' not in data:
            continue
        try:
            entry = parse_entry(data)
        except EntryError:
            continue
        if entry.type == RESULT_TYPE and entry.event.get("exam") == exam:
            path = log.inclusion_proof(index, len(log.entries))
            return make_result_receipt(data, make_receipt(index, path, note), policy)
    raise EvidenceError(f"the bundle holds no result of exam {exam}")


def _result_exam(entry: bytes) -> str:
    if len(entry) > MAX_ENTRY_BYTES:
        raise EvidenceError("the entry is larger than any entry of the log")
    try:
        parsed = parse_entry(entry)
        validate_event(parsed.event)
    except EntryError as e:
        raise EvidenceError(f"the receipt's entry is not a valid entry: {e}") from e
    if parsed.type != RESULT_TYPE:
        raise EvidenceError(f"the receipt's entry is a {parsed.type}, not a result ({RESULT_TYPE})")
    return str(parsed.event["exam"])


def parse_result_receipt(data: bytes) -> ResultReceipt:
    """Parse a result receipt strictly (header, exam, entry, policy, blank line, tlog-proof).

    Raises:
        EvidenceError: a line is missing, malformed, not canonical base64, or too large.
    """
    if len(data) > MAX_RESULT_RECEIPT_BYTES:
        raise EvidenceError(f"receipt is over {MAX_RESULT_RECEIPT_BYTES} bytes")
    parts = data.split(b"\n", 5)
    if len(parts) < 6 or parts[0] != HEADER:
        raise EvidenceError(f"receipt does not start with '{HEADER.decode()}' and its four lines")
    match = _EXAM.fullmatch(parts[1])
    if match is None:
        raise EvidenceError("receipt: expected a line 'exam <32 hex digits>'")
    entry = _b64_line(parts[2], "entry", MAX_ENTRY_BYTES)
    policy = _b64_line(parts[3], "policy", MAX_POLICY_BYTES)
    if parts[4] != b"":
        raise EvidenceError("receipt: expected a blank line before the tlog-proof")
    return ResultReceipt(match.group(1).decode(), entry, policy, parts[5])


def embedded_policy(receipt: ResultReceipt) -> Policy:
    """The policy the receipt carries, which must be in the one rendering ``render_policy``
    makes (so no byte of the receipt, not even a comment, can change unnoticed).

    Raises:
        CheckpointError: the policy does not parse.
        EvidenceError: it is not in canonical form.
    """
    policy = parse_policy(receipt.policy)
    if render_policy(policy) != receipt.policy:
        raise EvidenceError("the receipt's policy is not in canonical form")
    return policy


def verify_result_receipt(data: bytes, policy: Policy | None = None) -> VerifiedResult:
    """Step 1 of the module doc; ``policy`` pins the log's keys (else the receipt's own).

    Raises:
        EvidenceError: the receipt is malformed, or its entry is not the result of its exam.
        CheckpointError: the checkpoint is not signed by the log or lacks the witness quorum.
        ProofError: the inclusion path does not lead from the entry to the checkpoint's root.
    """
    receipt = parse_result_receipt(data)
    if _result_exam(receipt.entry) != receipt.exam:
        raise EvidenceError(
            f"the receipt's entry is the result of another exam than {receipt.exam}"
        )
    trusted = policy if policy is not None else embedded_policy(receipt)
    proof = parse_receipt(receipt.proof)
    _, witnesses = trusted.verify_checkpoint(proof.checkpoint)
    cp = verify_receipt(receipt.proof, receipt.entry, trusted)
    return VerifiedResult(
        receipt.exam,
        dict(parse_entry(receipt.entry).event),
        proof.index,
        cp,
        witnesses,
        pinned=policy is not None,
    )


@dataclass(frozen=True)
class CurrentResult:
    """A receipt that still holds: its result and the checkpoint of today it is consistent with."""

    result: VerifiedResult
    today: Checkpoint


def check_receipt_current(
    data: bytes, source: LogSource, policy: Policy | None = None
) -> CurrentResult:
    """Step 2 of the module doc: the receipt holds in the log ``source`` shows today.

    Raises:
        EvidenceError: the receipt does not verify (its reason), or today's log is not an
            extension of the log it was issued from ("consistency failure": an entry up to
            the receipt's checkpoint was changed or removed).
        CheckpointError: today's checkpoint does not verify under the policy.
    """
    try:
        result = verify_result_receipt(data, policy)
    except (CheckpointError, ProofError) as e:
        raise EvidenceError(f"the receipt does not verify: {e}") from e
    trusted = policy if policy is not None else embedded_policy(parse_result_receipt(data))
    today, _ = trusted.verify_checkpoint(source.checkpoint_note())
    old = result.checkpoint
    if today.size < old.size:
        raise EvidenceError(
            f"consistency failure: today's log has {today.size} entries, fewer than the "
            f"{old.size} of the receipt's checkpoint (truncated or forked)"
        )
    try:
        proof = source.consistency_proof(old.size, today.size) if today.size > old.size else []
        verify_consistency(old.size, today.size, proof, old.root_hash, today.root_hash)
    except ProofError as e:
        raise EvidenceError(
            f"consistency failure: today's log (size {today.size}) is not an extension of the "
            f"log the receipt was issued from (size {old.size}): an entry was changed or "
            f"removed ({e})"
        ) from e
    return CurrentResult(result, today)
