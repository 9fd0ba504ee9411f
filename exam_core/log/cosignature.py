"""C2SP tlog-cosignature ``cosignature/v1`` (https://c2sp.org/tlog-cosignature): witness lines.

A witness (the monitoring centre, a regulator) states "as of this time, this is the largest
tree I have seen for this origin, and it is consistent with what I saw before" by adding a
signature line to the log's checkpoint note.  An auditor trusts a checkpoint only when a quorum
of witnesses did so (DESIGN §3.3, §3.5), which is what stops a log from showing different
histories to different people.

Format (sigtype 0x04, Ed25519):

    key ID    = SHA-256(name ‖ "\\n" ‖ 0x04 ‖ public key)[:4]
    signature = u64 big-endian timestamp (POSIX seconds, ≤ 2^63−1) ‖ 64-byte Ed25519 signature
    message   = "cosignature/v1\\n" ‖ "time <timestamp>\\n" ‖ checkpoint body

The message does not name the cosigner, so one key must serve one cosigner role only (a witness
and a mirror run by the same centre have distinct keys).  ``CosignatureSigner`` and
``CosignatureVerifier`` fit ``note.NoteSigner`` / ``note.NoteVerifier``, so ``open_note`` checks
log and witness lines together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exam_core.errors import CheckpointError, KeyFormatError, NoteError
from exam_core.log import ed25519
from exam_core.log.checkpoint import Checkpoint, open_checkpoint, verify_checkpoint
from exam_core.log.note import (
    EM_DASH_PREFIX,
    SIGTYPE_COSIGNATURE_V1,
    SIGTYPE_ED25519,
    Ed25519NoteKey,
    Ed25519PublicNoteKey,
    Ed25519Verifier,
    NoteVerifier,
    parse_note,
    parse_vkey,
    private_key_from_seed,
    signature_line,
)

MAX_TIMESTAMP = 2**63 - 1
COSIGNATURE_LABEL = b"cosignature/v1\n"


def cosigned_message(text: bytes, timestamp: int) -> bytes:
    """The bytes a ``cosignature/v1`` signs: label, time line, then the checkpoint body.

    Raises:
        CheckpointError: ``timestamp`` is negative or above 2^63 − 1.
    """
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp} is out of range")
    return COSIGNATURE_LABEL + b"time %d\n" % timestamp + text


def _now_seconds() -> int:
    return int(time.time())


class CosignatureSigner(Ed25519NoteKey):
    """A witness key that cosigns checkpoint bodies; ``clock`` gives POSIX seconds."""

    sigtype: ClassVar[int] = SIGTYPE_COSIGNATURE_V1

    def __init__(
        self,
        name: str,
        private_key: Ed25519PrivateKey,
        clock: Callable[[], int] = _now_seconds,
    ) -> None:
        super().__init__(name, private_key)
        self._clock = clock

    @classmethod
    def from_seed(
        cls, name: str, seed: bytes, clock: Callable[[], int] = _now_seconds
    ) -> CosignatureSigner:
        return cls(name, private_key_from_seed(seed), clock)

    @classmethod
    def generate(cls, name: str, clock: Callable[[], int] = _now_seconds) -> CosignatureSigner:
        return cls(name, Ed25519PrivateKey.generate(), clock)

    @property
    def verifier(self) -> CosignatureVerifier:
        return CosignatureVerifier(self._name, self._public_key)

    def sign(self, text: bytes) -> bytes:
        """Timestamp ‖ Ed25519 signature over the cosigned message of ``text``, dated now."""
        return self.sign_at(text, self._clock())

    def sign_at(self, text: bytes, timestamp: int) -> bytes:
        """Timestamp ‖ Ed25519 signature over the cosigned message of ``text`` at ``timestamp``.

        Raises:
            CheckpointError: ``timestamp`` is negative or above 2^63 − 1.
        """
        signature = self._private_key.sign(cosigned_message(text, timestamp))
        return timestamp.to_bytes(8, "big") + signature

    def line(self, text: bytes, timestamp: int | None = None) -> bytes:
        """The note signature line of this key's cosignature on checkpoint body ``text``.

        Raises:
            CheckpointError: ``timestamp`` is out of range.
        """
        signed = self.sign(text) if timestamp is None else self.sign_at(text, timestamp)
        return signature_line(self.name, self.key_id, signed)


@dataclass(frozen=True)
class CosignatureVerifier(Ed25519PublicNoteKey):
    """A witness's ``cosignature/v1`` public key."""

    sigtype: ClassVar[int] = SIGTYPE_COSIGNATURE_V1

    def verify(self, text: bytes, signature: bytes) -> bool:
        if len(signature) != 72:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        return ed25519.is_valid(self.public_key, signature[8:], cosigned_message(text, timestamp))


def cosignature_verifier_from_vkey(vkey: str) -> CosignatureVerifier:
    """A witness verifier from its vkey; only sigtype 0x04 is accepted.

    Raises:
        KeyFormatError: the vkey is malformed (as ``parse_vkey``) or is not of signature type 0x04
            (``cosignature/v1``).
    """
    parsed = parse_vkey(vkey)
    if parsed.sigtype != SIGTYPE_COSIGNATURE_V1:
        raise KeyFormatError(f"vkey of {parsed.name} is of type {parsed.sigtype}, not 0x04")
    return CosignatureVerifier(parsed.name, parsed.public_key)


def verifier_from_vkey(vkey: str) -> NoteVerifier:
    """A note verifier for an Ed25519 (0x01) or ``cosignature/v1`` (0x04) vkey.

    Raises:
        KeyFormatError: the vkey is malformed (as ``parse_vkey``) or its signature type is neither
            0x01 nor 0x04.
    """
    parsed = parse_vkey(vkey)
    if parsed.sigtype == SIGTYPE_ED25519:
        return Ed25519Verifier(parsed.name, parsed.public_key)
    if parsed.sigtype == SIGTYPE_COSIGNATURE_V1:
        return CosignatureVerifier(parsed.name, parsed.public_key)
    raise KeyFormatError(f"vkey of {parsed.name} has unsupported signature type {parsed.sigtype}")


def cosignature_timestamp(signature: bytes) -> int:
    """The timestamp of a ``cosignature/v1`` signature (the bytes after the key ID).

    Raises:
        CheckpointError: ``signature`` is not 72 bytes, or its timestamp is above 2^63 − 1.
    """
    if len(signature) != 72:
        raise CheckpointError(f"a cosignature is 72 bytes after its key ID, not {len(signature)}")
    timestamp = int.from_bytes(signature[:8], "big")
    if timestamp > MAX_TIMESTAMP:
        raise CheckpointError(f"cosignature timestamp {timestamp} is out of range")
    return timestamp


def cosignature_timestamps(data: bytes, witnesses: Iterable[CosignatureVerifier]) -> dict[str, int]:
    """Timestamps of the lines of known witnesses in a note (signatures are not checked here).

    Raises:
        CheckpointError: ``data`` is not a well-formed signed note, or a known witness's line is not
            a well-formed ``cosignature/v1`` signature (72 bytes, timestamp ≤ 2^63 − 1).
    """
    try:
        note = parse_note(data)
    except NoteError as e:
        raise CheckpointError(f"checkpoint note: {e}") from e
    known = {(w.name, w.key_id) for w in witnesses}
    return {
        sig.name: cosignature_timestamp(sig.signature)
        for sig in note.signatures
        if (sig.name, sig.key_id) in known
    }


def add_cosignatures(data: bytes, lines: Iterable[bytes]) -> bytes:
    """Append witness signature lines (as a witness returns them) to a signed checkpoint note.

    Each line must be one well-formed signature line; a line whose key (name and ID) already
    signed the note is refused, since verifiers reject a note a known key signs twice.

    Raises:
        CheckpointError: ``data`` is not a well-formed signed note; a line is not exactly one
            well-formed '— <name> <base64>' signature line; or a line's key (name and ID) already
            signed the note or appears twice among ``lines``.
    """
    try:
        note = parse_note(data)
    except NoteError as e:
        raise CheckpointError(f"checkpoint note: {e}") from e
    seen = {(sig.name, sig.key_id) for sig in note.signatures}
    out = [data]
    for line in lines:
        if not line.endswith(b"\n") or b"\n" in line[:-1] or not line.startswith(EM_DASH_PREFIX):
            raise CheckpointError("a cosignature is one '— <name> <base64>' line")
        try:
            (sig,) = parse_note(note.text + b"\n" + line).signatures
        except NoteError as e:
            raise CheckpointError(f"malformed cosignature line: {e}") from e
        if (sig.name, sig.key_id) in seen:
            raise CheckpointError(f"key {sig.name} already signed this checkpoint")
        seen.add((sig.name, sig.key_id))
        out.append(line)
    return b"".join(out)


def cosign_checkpoint(data: bytes, log_verifier: NoteVerifier, signer: CosignatureSigner) -> bytes:
    """A witness's cosignature line for a checkpoint note it has verified the log signed.

    Whether the checkpoint is consistent with what the witness saw before is the witness's own
    state and is checked by its caller (tlog-witness ``add-checkpoint``).
    """
    verify_checkpoint(data, log_verifier)
    return signer.line(parse_note(data).text)


def verified_witnesses(
    data: bytes,
    log_verifier: NoteVerifier | Sequence[NoteVerifier],
    witnesses: Iterable[NoteVerifier],
) -> tuple[Checkpoint, tuple[str, ...]]:
    """Verify the log's signature and every known witness line; name the witnesses that signed.

    1. the log signed the checkpoint, under its origin;
    2. the note verifies with log and witness keys together: a known witness whose line fails
       rejects the whole checkpoint (signed-note rules), unknown lines are ignored.

    Raises:
        CheckpointError: the log did not sign the checkpoint under its origin (as
            ``verify_checkpoint``), or a known witness's signature fails or appears twice.
        RuntimeError: a witness key has the name of a log key, or ``log_verifier`` is an empty
            sequence (a caller bug).
    """
    logs = [log_verifier] if not isinstance(log_verifier, Sequence) else list(log_verifier)
    witness_list = list(witnesses)
    log_names = {v.name for v in logs}
    for w in witness_list:
        if w.name in log_names:
            raise RuntimeError(f"witness {w.name} has the log's name")
    # (1)
    cp = verify_checkpoint(data, logs)
    # (2)
    _cp, _note, signers = open_checkpoint(data, [*logs, *witness_list])
    witness_names = {w.name for w in witness_list}
    return cp, tuple(name for name in signers if name in witness_names)


def verify_witness_quorum(
    data: bytes,
    log_verifier: NoteVerifier | Sequence[NoteVerifier],
    witnesses: Iterable[NoteVerifier],
    quorum: int,
) -> tuple[Checkpoint, tuple[str, ...]]:
    """Verify a cosigned checkpoint and that at least ``quorum`` distinct witnesses signed it.

    Raises:
        CheckpointError: the checkpoint is refused as by ``verified_witnesses``, or fewer than
            ``quorum`` distinct witnesses cosigned it.
        RuntimeError: ``quorum`` is negative, a witness key has the name of a log key, or
            ``log_verifier`` is an empty sequence (a caller bug).
    """
    if quorum < 0:
        raise RuntimeError("a quorum is never negative")
    cp, signed = verified_witnesses(data, log_verifier, witnesses)
    if len(set(signed)) < quorum:
        raise CheckpointError(
            f"checkpoint of {cp.origin} at size {cp.size} has {len(set(signed))} witness"
            f" cosignatures; the quorum is {quorum}"
        )
    return cp, signed


def verify_cosignature_freshness(
    data: bytes,
    witnesses: Iterable[CosignatureVerifier],
    now: int,
    max_age: int,
    max_future: int = 30,
) -> dict[str, int]:
    """Check that every known witness cosigned within ``max_age`` seconds before ``now``.

    A timestamp more than ``max_future`` seconds ahead of ``now`` is refused too (a witness's
    clock may run a little fast; tlog-cosignature lets verifiers refuse future times).  Call it
    after the signatures verified; it returns the timestamps by witness name.

    Raises:
        CheckpointError: ``data`` is not a well-formed note or a known witness's cosignature is
            malformed, or a known witness's cosignature is dated more than ``max_future`` seconds
            after ``now`` or more than ``max_age`` seconds before it.
    """
    stamps = cosignature_timestamps(data, witnesses)
    for name, stamp in stamps.items():
        if stamp > now + max_future:
            raise CheckpointError(f"cosignature of {name} is dated {stamp - now} s in the future")
        if stamp < now - max_age:
            raise CheckpointError(f"cosignature of {name} is {now - stamp} s old; limit {max_age}")
    return stamps
