"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed statement of a tree head.

A checkpoint is what the log commits to and what witnesses cosign, so its body must be made in
exactly one place (``checkpoint_text``) and read back strictly (``parse_checkpoint_text``):

    <origin>\\n            the log's name; a schema-less URL, no space, no '+'
    <size>\\n              ASCII decimal, no leading zeros ("0" for the empty tree)
    <base64 root>\\n       standard base64 (padded) of the 32-byte RFC 6962 root

The standard allows opaque extension lines after the root.  Our logs emit none (DESIGN §3.3:
monitors cannot audit them, and ML-DSA cosignatures do not cover them), and this parser, which
reads only our own logs' checkpoints, refuses them rather than silently ignoring data that a
signature covers.  The log signs with Ed25519 under the key name = origin.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exam_core.errors import CheckpointError, KeyFormatError, NoteError
from exam_core.log.merkle import HASH_SIZE
from exam_core.log.note import Note, NoteSigner, NoteVerifier, check_key_name, open_note, sign_note

MAX_TREE_SIZE = 2**63 - 1
"""Sizes are uint64 on the wire elsewhere; we keep them within a signed 64-bit integer."""

MAX_CHECKPOINT_BYTES = 128 * 1024
"""A signed checkpoint note larger than this is refused before it is parsed."""

_DECIMAL = re.compile(rb"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, the number of leaves and the RFC 6962 root."""

    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        try:
            check_key_name(self.origin)
        except KeyFormatError as e:
            raise CheckpointError(f"invalid origin {self.origin!r}: {e}") from e
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in self.origin):
            raise CheckpointError(f"origin {self.origin!r} holds a control character")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size {self.size} is out of range")
        if len(self.root_hash) != HASH_SIZE:
            raise CheckpointError(f"root hash is {len(self.root_hash)} bytes, not {HASH_SIZE}")


def checkpoint_text(cp: Checkpoint) -> bytes:
    """The checkpoint body that gets signed: origin, size and base64 root, one per line."""
    root = base64.b64encode(cp.root_hash).decode()
    return f"{cp.origin}\n{cp.size}\n{root}\n".encode()


def parse_size(value: bytes) -> int:
    """A tree size in ASCII decimal without leading zeros.

    Raises:
        CheckpointError: ``value`` is not an ASCII decimal without leading zeros, or the size is
            above 2^63 − 1.
    """
    if not _DECIMAL.fullmatch(value):
        raise CheckpointError(f"tree size {value[:32]!r} is not a decimal without leading zeros")
    size = int(value)
    if size > MAX_TREE_SIZE:
        raise CheckpointError(f"tree size {size} is out of range")
    return size


def parse_hash(value: bytes, what: str = "root hash") -> bytes:
    """A 32-byte hash in standard, padded, canonical base64.

    Raises:
        CheckpointError: ``value`` is not valid base64, is not its canonical padded encoding, or
            does not decode to 32 bytes; the message starts with ``what``.
    """
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise CheckpointError(f"{what} is not base64") from e
    if len(raw) != HASH_SIZE:
        raise CheckpointError(f"{what} is {len(raw)} bytes, not {HASH_SIZE}")
    if base64.b64encode(raw) != value:
        raise CheckpointError(f"{what} is not canonical base64")
    return raw


def parse_checkpoint_text(text: bytes) -> Checkpoint:
    """Parse a checkpoint body strictly: exactly origin, size and root, each ended by '\\n'.

    Raises:
        CheckpointError: the body is malformed or carries extension lines.
    """
    cp, extensions = split_checkpoint_text(text)
    if extensions:
        raise CheckpointError("checkpoint carries extension lines, which our logs never emit")
    return cp


def split_checkpoint_text(text: bytes) -> tuple[Checkpoint, tuple[bytes, ...]]:
    """Parse a checkpoint body of any C2SP log: origin, size, root, then its extension lines.

    A witness serves any log, and tlog-checkpoint lets a log add opaque, non-empty extension
    lines that its signature (and a cosignature) covers; they are returned as they are.

    Raises:
        CheckpointError: the origin, size or root is malformed, or an extension line is empty.
    """
    if not text.endswith(b"\n"):
        raise CheckpointError("checkpoint text must end with a newline")
    lines = text[:-1].split(b"\n")
    if len(lines) < 3:
        raise CheckpointError(f"checkpoint has {len(lines)} lines; it needs origin, size, root")
    origin_raw, size_raw, root_raw, *extensions = lines
    if any(not line for line in extensions):
        raise CheckpointError("checkpoint has an empty extension line")
    try:
        origin = origin_raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError("checkpoint origin is not UTF-8") from e
    return Checkpoint(origin, parse_size(size_raw), parse_hash(root_raw)), tuple(extensions)


def sign_checkpoint(cp: Checkpoint, signers: Sequence[NoteSigner]) -> bytes:
    """Sign a checkpoint as a note; every log signer's key name must be the origin.

    Raises:
        RuntimeError: a signer's key name is not ``cp.origin``, or ``signers`` is empty (a caller
            bug: a log signs only under keys named after its origin).
    """
    for signer in signers:
        if signer.name != cp.origin:
            raise RuntimeError(f"a checkpoint of {cp.origin} is signed by keys of that name")
    return sign_note(checkpoint_text(cp), signers)


def open_checkpoint(
    data: bytes, verifiers: Iterable[NoteVerifier]
) -> tuple[Checkpoint, Note, tuple[str, ...]]:
    """Parse and verify a checkpoint note with any known keys; return what signed it.

    Raises:
        CheckpointError: the note is over ``MAX_CHECKPOINT_BYTES``; it does not parse, no key of
            ``verifiers`` signed it, or a known key's signature fails or appears twice; or its body
            is not a strict checkpoint (as ``parse_checkpoint_text``).
    """
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint note is over {MAX_CHECKPOINT_BYTES} bytes")
    try:
        note, signers = open_note(data, verifiers)
    except NoteError as e:
        raise CheckpointError(f"checkpoint signature: {e}") from e
    return parse_checkpoint_text(note.text), note, signers


def verify_checkpoint(
    data: bytes, log_verifier: NoteVerifier | Sequence[NoteVerifier]
) -> Checkpoint:
    """Verify a checkpoint note signed by the log and return the checkpoint.

    1. the note verifies with a log key (several during a key rotation, all named the origin);
    2. the body is a strict checkpoint whose origin is the log key's name.

    Raises:
        CheckpointError: the note is refused as by ``open_checkpoint`` (too large, malformed, not
            signed by a log key, or a log key's signature fails), or a key that signed it is not
            named after the checkpoint's origin.
        RuntimeError: ``log_verifier`` is an empty sequence (a caller bug).
    """
    logs = [log_verifier] if not isinstance(log_verifier, Sequence) else list(log_verifier)
    if not logs:
        raise RuntimeError("verify_checkpoint needs the log's key")
    # (1) signed-note rules: unknown lines ignored, a failing known key rejects the note.
    cp, _note, signers = open_checkpoint(data, logs)
    # (2) tlog-checkpoint: the log's key name is its origin.
    if any(name != cp.origin for name in signers):
        raise CheckpointError(f"checkpoint of {cp.origin!r} is signed by a key of another name")
    return cp
