"""The monitoring centre's C2SP tlog-witness (https://c2sp.org/tlog-witness): ``add-checkpoint``.

A centre's log key alone could sign two histories and show each to a different party; the
witness makes that visible.  For every log it watches it remembers the newest checkpoint it
cosigned, and it cosigns a new one only with a consistency proof from that one: so it never
cosigns two inconsistent checkpoints of one origin, and a checkpoint that carries its
cosignature is one everybody who asks this witness sees (DESIGN §3.4, §10).  Its cosignature
timestamps are also the evidence, independent of the allocator, that an entry was in the log by
a given time (an allocation committed before its beacon round, DESIGN §4).

It follows the spec, not our own centres: any C2SP log with an Ed25519 key can use it, and a
checkpoint may carry extension lines.  The checks, in the spec's order, each refusal raising
the ``WitnessError`` whose ``status`` the spec gives it:

1. the body is ``old <size>``, ≤ 63 base64 hashes, an empty line and a checkpoint note (400);
2. the checkpoint's origin is a log this witness watches (404);
3. the log's key signed it, and no line of that key fails (403) — the log key is checked with
   the project's one Ed25519 rule, the note verifier of ``exam_core.log.note``;
4. the old size is at most the checkpoint's size (400);
5. the old size is the size this witness last cosigned for the origin, 0 if never (409, with
   that size);
6. a size-0 checkpoint has the empty tree's root; a proof from size 0 is empty; equal sizes
   have equal roots; otherwise the RFC 6962 consistency proof verifies from the stored root
   (422);
7. the cosignature is made, and the new state is committed by compare-and-swap on the state
   checked in 5–6 before the line is returned.  A lost race is checked again from 5.

Nothing is written unless every check passed, so hostile input changes no state.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from exam_core.errors import (
    CheckpointError,
    InconsistentTreeError,
    KeyFormatError,
    LogSignatureError,
    NoteError,
    ProofError,
    SizeConflictError,
    StoreError,
    UnknownLogError,
    WitnessRequestError,
)
from exam_core.log.checkpoint import Checkpoint, split_checkpoint_text
from exam_core.log.cosignature import CosignatureSigner
from exam_core.log.merkle import EMPTY_ROOT, verify_consistency
from exam_core.log.note import (
    Ed25519Verifier,
    Note,
    ed25519_verifier_from_vkey,
    open_note,
    parse_note,
    signature_line,
)
from exam_core.log.tlog_witness import AddCheckpointRequest, parse_add_checkpoint_body
from exam_core.monitoring.store import MonitorStore, WitnessRecord

__all__ = ["Witness"]

CAS_ATTEMPTS = 4
"""A lost compare-and-swap is checked again; each retry sees a newer state, so few suffice."""


def _now_seconds() -> int:
    return int(time.time())


class Witness:
    """A tlog-witness over the logs a ``MonitorStore`` watches, cosigning with ``signer``."""

    def __init__(
        self,
        signer: CosignatureSigner,
        store: MonitorStore,
        clock: Callable[[], int] = _now_seconds,
    ) -> None:
        self._signer = signer
        self._store = store
        self._clock = clock

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def vkey(self) -> str:
        """The witness's ``cosignature/v1`` vkey, which centres name in their policies."""
        return self._signer.vkey

    def add_checkpoint(self, body: bytes) -> bytes:
        """Check an ``add-checkpoint`` request and return the witness's cosignature line.

        Raises:
            WitnessRequestError: the body or the checkpoint is malformed, or the old size is
                larger than the checkpoint's (400).
            LogSignatureError: the log's key did not sign it, or its line fails (403).
            UnknownLogError: the origin is not watched (404).
            SizeConflictError: the old size is not the witness's size, given in ``size`` (409).
            InconsistentTreeError: the checkpoint is not consistent with the cosigned one (422).
            StoreError: the state cannot be read or written (nothing was cosigned).
        """
        # (1) the request and the checkpoint parse.
        request = parse_add_checkpoint_body(body)
        note, cp = _parse_checkpoint(request.checkpoint)
        # (2) a watched origin.
        known = self._store.log(cp.origin)
        if known is None:
            raise UnknownLogError(f"{cp.origin} is not a log this witness watches")
        # (3) the log signed it (unknown lines ignored; a failing line of the log key refuses).
        log_key = _log_verifier(known.vkey)
        try:
            open_note(request.checkpoint, [log_key])
        except NoteError as e:
            raise LogSignatureError(f"checkpoint of {cp.origin}: {e}") from e
        log_lines = b"".join(
            signature_line(s.name, s.key_id, s.signature)
            for s in note.signatures
            if (s.name, s.key_id) == (log_key.name, log_key.key_id)
        )
        # (4)
        if request.old_size > cp.size:
            raise WitnessRequestError(
                f"old size {request.old_size} is larger than the checkpoint's {cp.size}"
            )
        for _ in range(CAS_ATTEMPTS):
            state = self._store.witness_state(cp.origin)
            # (5) and (6) against the state as read now.
            _check_against(state, request, cp)
            # (7) cosign, never dated before this log's previous cosignature, and commit first.
            stamp = max(self._clock(), state.cosigned_at if state else 0, 1)
            line = self._signer.line(note.text, stamp)
            record = WitnessRecord(
                cp.size, cp.root_hash, stamp, note.text + b"\n" + log_lines + line
            )
            if self._store.advance_witness(cp.origin, state, record):
                return line
        raise StoreError(f"the witness state of {cp.origin} kept changing; try again")

    def cosigned_checkpoint(self, origin: str) -> bytes | None:
        """The newest checkpoint cosigned for ``origin``, with the log's lines and the witness's.

        Raises:
            StoreError: the state cannot be read.
        """
        state = self._store.witness_state(origin)
        return None if state is None else state.checkpoint


def _parse_checkpoint(data: bytes) -> tuple[Note, Checkpoint]:
    try:
        note = parse_note(data)
        cp, _extensions = split_checkpoint_text(note.text)
    except (NoteError, CheckpointError) as e:
        raise WitnessRequestError(f"checkpoint: {e}") from e
    return note, cp


def _log_verifier(vkey: str) -> Ed25519Verifier:
    try:
        return ed25519_verifier_from_vkey(vkey)
    except KeyFormatError as e:
        raise StoreError(f"the watched log's vkey is unusable: {e}") from e


def _check_against(
    state: WitnessRecord | None, request: AddCheckpointRequest, cp: Checkpoint
) -> None:
    """Steps (5) and (6): the old size is the witness's, and the checkpoint extends its tree.

    Raises:
        SizeConflictError: the request's old size is not the size this witness cosigned.
        InconsistentTreeError: the proof does not take the cosigned tree to the checkpoint's.
        RuntimeError: a non-zero old size matched no stored state (a bug in the caller).
    """
    held = 0 if state is None else state.size
    # (5)
    if request.old_size != held:
        raise SizeConflictError(
            held, f"this witness last cosigned {cp.origin} at size {held}, not {request.old_size}"
        )
    # (6) RFC 6962 §2.1: the empty tree's root is SHA-256 of the empty string.
    if cp.size == 0 and cp.root_hash != EMPTY_ROOT:
        raise InconsistentTreeError("a checkpoint of size 0 must carry the empty tree's root")
    if request.old_size == 0:
        if request.proof:
            raise InconsistentTreeError("a consistency proof from size 0 must be empty")
        return
    if state is None:
        raise RuntimeError("a non-zero old size matched a witness that holds no state")
    if cp.size == held:
        if request.proof:
            raise InconsistentTreeError("a checkpoint of the cosigned size needs an empty proof")
        if cp.root_hash != state.root_hash:
            raise InconsistentTreeError(
                f"{cp.origin} at size {held} has another root than the one cosigned"
            )
        return
    try:
        verify_consistency(held, cp.size, request.proof, state.root_hash, cp.root_hash)
    except ProofError as e:
        raise InconsistentTreeError(f"consistency proof {held} → {cp.size}: {e}") from e
