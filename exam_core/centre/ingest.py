"""Admission of entries before sequencing (DESIGN §3.1): nothing unverified enters the tree.

Ingest applies the log's admission rules (``KeyRegistry``, shared with the offline audit) in
log order, so that a ``key.registered`` entry takes effect for the very next entry and a reused
``seq`` is caught.  The one costly step, the Ed25519 check of the actor's signature, does not
depend on order once the key is known, so it can run ahead on other cores:

1. ``parse_submission`` — strict parse of untrusted bytes (size, note, canonical integer-only
   JSON, UTF-8, one signature by the actor);
2. ``Ingest.start_verification`` — with a worker pool, hand each submission to a worker with
   the key the registry holds for the name on its signature line; the worker parses it
   strictly and checks the signature (``parse_and_verify``), so neither costs the writer;
3. ``Ingest.admit`` — in order, the registry's full check, told which key the signature was
   verified under (an entry whose early check failed or could not run — e.g. signed by a key
   registered in the same batch — is verified again here, so the refusal carries the
   registry's precise reason), then the registry is advanced.

A refused entry changes nothing: the registry is advanced only by admitted entries, so it does
not consume a ``seq``.

A centre may add a guard (``exam_core.centre.guard``): a rule above the log, such as the exam
day's order of steps, checked after the registry admits an entry and told of every entry that
joins the log, in order.

Beside the registry, the admission state holds the **tree frontier** of the entries it has
seen (the O(log n) roots of the tree's perfect subtrees): the writer appends a batch to it
without reading the tree back from the database, and a centre that reopens compares it with
the checkpoint the log signed.  ``AdmissionState`` is the immutable copy of both that a
centre's snapshot saves and a writer restarts from (``ingest_factory``).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Executor, Future
from dataclasses import dataclass
from typing import Any

from exam_core.centre.guard import EntryGuard
from exam_core.errors import EntryError, KeyFormatError
from exam_core.log.entry import Entry, parse_entry, parse_entry_parts
from exam_core.log.merkle import MerkleFrontier, leaf_hash
from exam_core.log.note import EM_DASH_PREFIX, Ed25519Verifier, Note, NoteSignature
from exam_core.log.registry import KEY_EVENT_TYPES, KeyRegistry, RegistryState
from exam_core.log.schemas import REGISTRY, validate_event
from exam_core.log.schemas.types import EventSchema

SubmissionJob = tuple[bytes, bytes | None]
"""(entry bytes, public key registered for the signing key's name, if any)."""

EntryParts = tuple[dict[str, Any], int, bytes, int, str | None]
"""What a worker sends back of an entry that parses: its event, the key ID and signature of
its one signature line, the length of its signed text, and its type if the worker proved it
(``Proven``).  With the entry's bytes, which the writer still holds, that is the whole
``Entry`` (``entry_from_parts``) at a fraction of the pickling cost: the bytes do not travel
back, twice, and no tuple classes are rebuilt."""

Proven = str | None
"""The type of an entry whose order-free rules a worker checked: it parses, its signature
verifies under the key it was given, it names the log, passes its type's schema and is not a
key event (``KEY_EVENT_TYPES``).  The ordered pass then checks only what depends on the
entries before it (``KeyRegistry.check_proven``).  None: the ordered pass checks it in full."""

ParsedSubmission = tuple[EntryParts | None, tuple[str, str] | None, bool]
"""A worker's answer: the parsed entry's parts or why it does not parse (``EntryError`` code
and message, sent as plain values), and whether its signature verified under the key it was
given (False when no key was given)."""


def parse_submission(data: object) -> Entry:
    """Parse untrusted entry bytes; raise ``EntryError`` with a stable code on any defect.

    Raises:
        EntryError: ``data`` is not bytes (code ``malformed_note``) or is not a valid entry;
            the code says which defect, for the submitter to correct.
    """
    if not isinstance(data, bytes):
        raise EntryError("malformed_note", "an entry is submitted as bytes")
    return parse_entry(data)


def signer_name(data: bytes) -> str | None:
    """The key name on the last signature line, read without parsing the note (may be junk).

    Only used to pick the key a worker checks the signature with; the worker's strict parse
    decides whether the entry is well-formed and signed by its actor.
    """
    line = data.rstrip(b"\n").rpartition(b"\n")[2]
    if not line.startswith(EM_DASH_PREFIX):
        return None
    return line[len(EM_DASH_PREFIX) :].partition(b" ")[0].decode("utf-8", "replace")


VERIFIER_CACHE_SIZE = 16_384
"""Verifiers a worker process keeps between chunks (a few MB at most)."""

_verifiers: dict[tuple[str, bytes], Ed25519Verifier] = {}


def _verifier(name: str, public_key: bytes) -> Ed25519Verifier:
    """The verifier of key ``name`` with ``public_key``, made once per worker process.

    Making one checks the key by the Ed25519 rule (a point decompression in Python, about as
    costly as a signature check), so a worker keeps those it made across chunks: a centre's
    actors sign again and again.  Emptied when full, so a stream of new keys cannot grow it.

    Raises:
        KeyFormatError: ``public_key`` is not a key the rule accepts.
    """
    verifier = _verifiers.get((name, public_key))
    if verifier is None:
        if len(_verifiers) >= VERIFIER_CACHE_SIZE:
            _verifiers.clear()
        verifier = _verifiers[(name, public_key)] = Ed25519Verifier(name, public_key)
    return verifier


def parse_and_verify(
    jobs: Sequence[SubmissionJob], origin: str | None = None
) -> list[ParsedSubmission]:
    """Strictly parse entries and check each signature under the key given for it; with the
    log's ``origin``, also prove the order-free rules of each entry whose signature verified
    (``Proven``).

    A function that a process pool runs, so that the parse, the signature check and the
    schema of a submission cost the writer process nothing but unpickling the result; its only
    state is the worker's cache of verifiers (``_verifier``), which changes no answer.
    """
    results: list[ParsedSubmission] = []
    append = results.append
    for data, public_key in jobs:
        try:
            event, actor, key_id, signature, text = parse_entry_parts(data)
        except EntryError as e:
            append((None, (e.code, e.message), False))
            continue
        ok = False
        if public_key is not None:
            try:
                verifier = _verifier(actor, public_key)
            except KeyFormatError:
                pass  # the ordered pass verifies it again and names the reason
            else:
                # As ``verify_entry_signature``: the registered key's ID, then the signature.
                ok = key_id == verifier.key_id and verifier.verify(text, signature)
        proven = _proven_type(event, origin) if ok and origin is not None else None
        append(((event, key_id, signature, len(text), proven), None, ok))
    return results


def _proven_type(event: dict[str, Any], origin: str) -> Proven:
    """The type of a parsed, verified event if it names ``origin``, passes its schema and is
    not a key event; else None (the ordered pass checks it in full and says why)."""
    if event.get("log") != origin:
        return None
    try:
        kind = validate_event(event).type
    except EntryError:
        return None
    return None if kind in KEY_EVENT_TYPES else kind


def entry_from_parts(data: bytes, parts: EntryParts) -> Entry:
    """The ``Entry`` that ``parse_entry(data)`` gave the worker that sent ``parts`` of it: its
    text is the first ``text_length`` bytes and its one signature line is by its actor."""
    event, key_id, signature, text_length, _ = parts
    signed = NoteSignature(event["actor"], key_id, signature)
    return Entry(data, Note(data[:text_length], (signed,)), event)


@dataclass
class PendingVerification:
    """Submissions of one chunk being parsed and checked ahead of the ordered pass."""

    data: list[bytes]
    keys: list[bytes | None]
    """Per submission, the public key its signature is being checked against (None: none)."""
    result: Future[list[ParsedSubmission]] | None

    def outcomes(self) -> list[tuple[Entry | EntryError, bytes | None]]:
        """Per submission: the entry (or why it was refused) and the key it verified under."""
        return [(entry, key) for entry, key, _ in self.admissions()]

    def admissions(self) -> list[tuple[Entry | EntryError, bytes | None, Proven]]:
        """``outcomes``, each with the entry's type if a worker proved it (``Proven``)."""
        if self.result is not None:
            try:
                parsed = self.result.result()
            except (BrokenExecutor, CancelledError, OSError, pickle.PicklingError):
                parsed = None
            if parsed is not None:
                answers: list[tuple[Entry | EntryError, bytes | None, Proven]] = []
                for data, (parts, error, ok), key in zip(self.data, parsed, self.keys, strict=True):
                    if parts is None:
                        code, message = error or ("malformed_note", "unparsable")
                        answers.append((EntryError(code, message), None, None))
                    elif ok:
                        answers.append((entry_from_parts(data, parts), key, parts[4]))
                    else:
                        answers.append((entry_from_parts(data, parts), None, None))
                return answers
        # No pool, or the pool is gone: parse here; the ordered pass checks the signatures.
        local: list[tuple[Entry | EntryError, bytes | None, Proven]] = []
        for data in self.data:
            try:
                local.append((parse_entry(data), None, None))
            except EntryError as e:
                local.append((e, None, None))
        return local


@dataclass(frozen=True)
class AdmissionState:
    """The admission state of a log after ``size`` entries, as immutable values."""

    registry: RegistryState
    frontier: tuple[bytes, ...]
    """The roots of the tree's perfect subtrees, largest (leftmost) first."""

    @property
    def size(self) -> int:
        return self.registry.size


class Ingest:
    """The admission state of one log: its registry, advanced entry by entry, and its tree."""

    def __init__(
        self,
        registry: KeyRegistry,
        executor: Executor | None = None,
        frontier: MerkleFrontier | None = None,
        guard: EntryGuard | None = None,
    ) -> None:
        """An admission state over ``registry`` and the tree of the same entries; ``guard``
        (shared by every state of one log) checks entries after the registry.

        Raises:
            RuntimeError: ``frontier`` holds another number of entries than the registry.
        """
        self.registry = registry
        # The tree of the entries integrated so far: admitted entries join it at their commit.
        self.frontier = MerkleFrontier() if frontier is None else frontier
        if self.frontier.size != registry.size:
            raise RuntimeError("the registry and the tree must have seen the same entries")
        self._executor = executor
        self.guard = guard

    @property
    def size(self) -> int:
        """How many log entries the registry has seen."""
        return self.registry.size

    def state(self) -> AdmissionState:
        """An immutable copy of this state, taken between batches (registry and tree agree).

        Raises:
            RuntimeError: entries were admitted and not yet integrated (a caller bug).
        """
        if self.frontier.size != self.registry.size:
            raise RuntimeError("a state is taken between batches, not after an uncommitted admit")
        return AdmissionState(self.registry.state(), self.frontier.subtree_hashes)

    def integrated(self, frontier: MerkleFrontier) -> None:
        """The admitted entries were committed: ``frontier`` is the tree that now holds them.

        Raises:
            RuntimeError: ``frontier`` does not hold exactly the entries admitted so far.
        """
        if frontier.size != self.registry.size:
            raise RuntimeError("the committed tree must hold exactly the admitted entries")
        self.frontier = frontier

    def start_verification(self, data: Sequence[bytes]) -> PendingVerification:
        """Parse and verify submissions in the pool (if any) under the keys known now."""
        keys: list[bytes | None] = []
        for item in data:
            name = signer_name(item)
            verifier = None if name is None else self.registry.verifier_of(name)
            keys.append(None if verifier is None else verifier.public_key)
        if self._executor is None:
            return PendingVerification(list(data), keys, None)
        jobs = list(zip(data, keys, strict=True))
        origin = self.registry.origin
        return PendingVerification(
            list(data), keys, self._executor.submit(parse_and_verify, jobs, origin)
        )

    def admit(
        self,
        entry: Entry,
        now_ms: int | None,
        verified_key: bytes | None = None,
        proven: Proven = None,
    ) -> EventSchema:
        """Check ``entry`` as the next entry of the log and advance the registry (and the
        guard); or raise.  ``proven`` (with ``verified_key``, the key that proved it) is the
        entry's type if a worker proved its order-free rules: the registry then checks only
        the others, and falls back to its full check, which says why, if they fail.

        Raises:
            EntryError: the registry refuses the entry (or the guard does).
            ExamDayError: the guard refuses it.
            RuntimeError: the guard has not seen the log up to here (a caller bug).
        """
        registry = self.registry
        event = entry.event
        if (
            proven is not None
            and verified_key is not None
            and registry.check_proven(
                event["actor"], verified_key, proven, event["seq"], ts=event["ts"], now_ms=now_ms
            )
        ):
            schema = REGISTRY[proven]
        else:
            schema = registry.check(entry, now_ms, verified_public_key=verified_key)
            proven = None
        index = registry.size
        if self.guard is not None:
            if self.guard.size != index:
                raise RuntimeError(f"the guard has seen {self.guard.size} entries, not {index}")
            self.guard.check(index, entry)
        if proven is None:
            registry.apply(entry)
        else:
            registry.apply_proven(event["actor"], event["seq"])
        if self.guard is not None:
            self.guard.apply(index, entry)
        return schema

    def catch_up(self, entries: Sequence[bytes]) -> None:
        """Advance the registry and the tree over entries already in the log (any writer's).

        Raises:
            EntryError: a stored entry does not parse (the log's database was altered).
        """
        for data in entries:
            entry = parse_entry(data)
            index = self.registry.size
            self.registry.apply(entry)
            self.frontier.append(leaf_hash(data))
            if self.guard is not None and self.guard.size == index:
                self.guard.apply(index, entry)


IngestFactory = Callable[[AdmissionState | None], Ingest]
"""``make(state)``: the admission state of one log resumed from ``state`` (None: empty)."""


def ingest_factory(
    origin: str,
    pinned_admins: frozenset[str] | None,
    max_skew_ms: int,
    executor: Executor | None,
    guard: EntryGuard | None = None,
) -> IngestFactory:
    """A factory of admission states for one log: empty, or resumed from a saved state (a
    writer starts from the centre's snapshot, and rebuilds from its last state after a failed
    batch).  The factory raises ``ValueError`` for a state that contradicts itself
    (``KeyRegistry.from_state``), ``ProofError`` or ``ValueError`` for a frontier that does not
    fit its size."""

    def make(state: AdmissionState | None = None) -> Ingest:
        if state is None:
            return Ingest(KeyRegistry(origin, pinned_admins, max_skew_ms), executor, guard=guard)
        registry = KeyRegistry.from_state(origin, state.registry, pinned_admins, max_skew_ms)
        frontier = MerkleFrontier.from_subtree_hashes(state.size, state.frontier)
        return Ingest(registry, executor, frontier, guard)

    return make
