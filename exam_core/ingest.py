"""Admission of entries before sequencing (DESIGN §3.1): nothing unverified enters the tree.

Ingest applies the log's admission rules (``KeyRegistry``, shared with the offline audit) in
log order, so that a ``key.registered`` entry takes effect for the very next entry and a reused
``seq`` is caught.  The one costly step, the Ed25519 check of the actor's signature, does not
depend on order once the key is known, so it can run ahead on other cores:

1. ``parse_submission`` — strict parse of untrusted bytes (size, note, canonical integer-only
   JSON, UTF-8, one signature by the actor);
2. ``Ingest.start_verification`` — look up each actor's registered key (or, for the genesis
   administrator, the key it registers) and verify the signatures in a worker pool;
3. ``Ingest.admit`` — in order, the registry's full check with the key the signature was
   verified under (an entry whose early check failed or could not run is verified again here,
   so the refusal carries the registry's precise reason), then the registry is advanced.

A refused entry changes nothing: the registry is advanced only by admitted entries, so it does
not consume a ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Executor, Future
from dataclasses import dataclass

from exam_core.entry import Entry, parse_entry
from exam_core.errors import EntryError, KeyFormatError
from exam_core.note import Ed25519Verifier, ed25519_verifier_from_vkey
from exam_core.registry import KeyRegistry
from exam_core.schemas.types import ADMIN, EventSchema

SignatureJob = tuple[bytes, bytes, bytes]
"""(signed text, signature, Ed25519 public key): what a pool worker needs to check one entry."""


def parse_submission(data: object) -> Entry:
    """Parse untrusted entry bytes; raise ``EntryError`` with a stable code on any defect."""
    if not isinstance(data, bytes):
        raise EntryError("malformed_note", "an entry is submitted as bytes")
    return parse_entry(data)


def verify_signatures(jobs: Sequence[SignatureJob]) -> list[bool]:
    """Check Ed25519 signatures; a pure function that a process pool can run."""
    results = []
    for text, signature, public_key in jobs:
        try:
            ok = Ed25519Verifier("k", public_key).verify(text, signature)
        except KeyFormatError:
            ok = False
        results.append(ok)
    return results


@dataclass
class PendingVerification:
    """Signatures of a run of entries being checked ahead of the ordered pass."""

    keys: list[bytes | None]
    """Per entry, the public key its signature is being checked against (None: not checked)."""
    result: Future[list[bool]] | None

    def verified_keys(self) -> list[bytes | None]:
        """Per entry, the key its signature verified under, or None (check it in order)."""
        if self.result is None:
            return [None] * len(self.keys)
        try:
            outcome = iter(self.result.result())
        except (BrokenExecutor, CancelledError, OSError):
            # The pool is gone; the ordered pass verifies every signature itself.
            return [None] * len(self.keys)
        return [k if k is not None and next(outcome) else None for k in self.keys]


class Ingest:
    """The admission state of one log: its registry, advanced entry by entry."""

    def __init__(self, registry: KeyRegistry, executor: Executor | None = None) -> None:
        self.registry = registry
        self._executor = executor

    @property
    def size(self) -> int:
        """How many log entries the registry has seen."""
        return self.registry.size

    def _expected_key(self, entry: Entry) -> Ed25519Verifier | None:
        verifier = self.registry.verifier_of(entry.actor)
        if verifier is not None:
            return verifier
        event = entry.event
        # The genesis administrator signs its own registration with the key it registers.
        if (
            event.get("type") == "key.registered"
            and event.get("role") == ADMIN
            and event.get("name") == entry.actor
        ):
            try:
                return ed25519_verifier_from_vkey(str(event.get("vkey")))
            except KeyFormatError:
                return None
        return None

    def start_verification(self, entries: Sequence[Entry]) -> PendingVerification:
        """Verify signatures of ``entries`` in the pool (if any) under the keys known now."""
        if self._executor is None:
            return PendingVerification([None] * len(entries), None)
        keys: list[bytes | None] = []
        jobs: list[SignatureJob] = []
        for entry in entries:
            verifier = self._expected_key(entry)
            sig = entry.note.signatures[0]
            if verifier is None or sig.key_id != verifier.key_id:
                keys.append(None)
                continue
            keys.append(verifier.public_key)
            jobs.append((entry.note.text, sig.signature, verifier.public_key))
        if not jobs:
            return PendingVerification(keys, None)
        return PendingVerification(keys, self._executor.submit(verify_signatures, jobs))

    def admit(
        self, entry: Entry, now_ms: int | None, verified_key: bytes | None = None
    ) -> EventSchema:
        """Check ``entry`` as the next entry of the log and advance the registry; or raise."""
        schema = self.registry.check(entry, now_ms, verified_public_key=verified_key)
        self.registry.apply(entry)
        return schema

    def catch_up(self, entries: Sequence[bytes]) -> None:
        """Advance the registry over entries already in the log (sequenced by any writer)."""
        for data in entries:
            self.registry.apply(parse_entry(data))


def fresh_ingest(
    origin: str,
    pinned_admins: frozenset[str] | None,
    max_skew_ms: int,
    executor: Executor | None,
) -> Callable[[], Ingest]:
    """A factory of empty admission states for one log (a writer rebuilds after a failure)."""

    def make() -> Ingest:
        return Ingest(KeyRegistry(origin, pinned_admins, max_skew_ms), executor)

    return make
