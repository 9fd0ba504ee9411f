"""Which registered key verified each entry: the order-free part of the audit's signature checks.

Re-verifying every actor's signature is most of an audit's cost, and it needs no order: which
key was the registered one at each point is decided later by the ordered registry pass
(``exam_core.audit.ordered_pass``).  These functions live apart from the audit so that a worker
process running them imports only the note and entry parsers, not the whole audit, and starts
fast.  ``SignatureCheck`` is the shape of the hook (``exam_core.audit.pool`` is the one that runs
in worker processes); ``start_signature_check`` starts it before the tree is rebuilt.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from exam_core.errors import EntryError, ExamCoreError, KeyFormatError, NoteError
from exam_core.log import ed25519
from exam_core.log.blob_refs import may_reference_blobs
from exam_core.log.entry import PlainEntry, parse_entry, parse_entry_parts
from exam_core.log.entry_shapes import EntryShapes, ShapedEntry
from exam_core.log.note import (
    SIGTYPE_ED25519,
    Ed25519Verifier,
    NoteSignature,
    parse_signature_line,
    parse_vkey,
)
from exam_core.log.registry import KEY_EVENT_TYPES
from exam_core.log.schemas import REGISTRY, validate_event

if TYPE_CHECKING:
    from exam_core.audit.log_entries import LogBundle, LogEntries
    from exam_core.log.tiles import TilePath

__all__ = [
    "KEY_EVENT_TYPES",
    "KEY_REGISTERED_TEXT",
    "PROVEN_TYPES",
    "EarlyProvingCheck",
    "LinedUp",
    "Proof",
    "ProvingCheck",
    "ProvingKeys",
    "ScannedEntries",
    "SignatureCheck",
    "SigningKeys",
    "begin_signature_check",
    "keys_by_name",
    "registered_key_pairs",
    "registered_keys",
    "signing_keys",
    "start_signature_check",
]

KEY_REGISTERED_TEXT = b'"type":"key.registered"'
"""What the canonical text of every key registration holds: the pre-scan's filter."""

PROVEN_TYPES: tuple[str, ...] = tuple(sorted(REGISTRY))
"""Every known event type, numbered by its place here (the same in every process)."""


class Proof(NamedTuple):
    """What a process proved of one entry, order-free: it parses (``parse_entry``), names the
    audited log, passes its type's schema (``validate_event``), is not a key event, references
    no blob, and its signature verifies under ``public_key``, a key registered as ``actor``.

    What is left for the ordered pass is what depends on the entries before it: that this key
    is the registered, unrevoked key of ``actor`` at this point, that its role may sign
    ``type``, and ``seq`` (``KeyRegistry.admit_proven``).
    """

    public_key: bytes
    actor: str
    seq: int
    ts: int
    type: str


_new_tuple = tuple.__new__
"""Builds a named tuple from its fields in order, as its class call does after parsing them in
Python: a proof is built per entry."""

Answer = bytes | Proof | None
"""Per entry: a ``Proof``; or only the registered key that verified its signature; or None
(verify it in the ordered pass, which also finds why it does not parse)."""

SignatureCheck = Callable[[Sequence[bytes], Mapping[str, frozenset[bytes]]], Iterator[bytes | None]]
"""``(entries, registered public keys by name) -> per entry, the key that verified it or None``."""


def registered_keys(entries: Iterable[bytes]) -> dict[str, frozenset[bytes]]:
    """Every Ed25519 public key any ``key.registered`` entry names, by key name.

    A cheap pre-scan for ``signing_keys``: only entries whose text holds the canonical
    ``"type":"key.registered"`` are parsed.  Nothing here is trusted; the ordered registry pass
    decides which key was registered when.
    """
    return keys_by_name(registered_key_pairs(entries))


def registered_key_pairs(entries: Iterable[bytes]) -> list[tuple[str, bytes]]:
    """``registered_keys`` as (key name, public key) pairs in the order the entries first
    name them: a list that only grows at its end as the log is read further."""
    pairs: dict[tuple[str, bytes], None] = {}
    for data in entries:
        if KEY_REGISTERED_TEXT not in data:
            continue
        try:
            event = parse_entry(data).event
            if event.get("type") != "key.registered":
                continue
            vkey = parse_vkey(str(event.get("vkey")))
        except ExamCoreError:
            continue
        if vkey.sigtype != SIGTYPE_ED25519:
            continue  # cannot verify an entry; the registry refuses it, and says why, in order
        pairs[vkey.name, vkey.public_key] = None
    return list(pairs)


def keys_by_name(pairs: Iterable[tuple[str, bytes]]) -> dict[str, frozenset[bytes]]:
    """(key name, public key) pairs as the public keys of each name."""
    keys: dict[str, set[bytes]] = defaultdict(set)
    for name, public_key in pairs:
        keys[name].add(public_key)
    return {name: frozenset(found) for name, found in keys.items()}


def _sole_signature(data: bytes) -> tuple[bytes, NoteSignature] | None:
    """(text, signature) of a note with exactly one signature line, or None.

    The split ``parse_note`` makes (the last blank line) and its line parser, without its
    checks of the text: the ordered pass parses every entry fully and uses a verified key only
    for an entry that parses, for which the two agree.
    """
    split = data.rfind(b"\n\n")
    line = data[split + 2 : -1]
    if split < 0 or not data.endswith(b"\n") or b"\n" in line:
        return None
    try:
        return data[: split + 1], parse_signature_line(line)
    except (NoteError, ValueError):  # a name that is not UTF-8 raises UnicodeDecodeError
        return None


class SigningKeys:
    """``signing_keys`` for one set of registered keys, loaded once for every chunk."""

    def __init__(self, keys: Mapping[str, frozenset[bytes]]) -> None:
        self._verifiers: dict[tuple[str, int], Ed25519Verifier] = {}
        for name, public_keys in keys.items():
            for public_key in public_keys:
                try:
                    verifier = Ed25519Verifier(name, public_key)
                except KeyFormatError:
                    continue  # no Ed25519 key: it verifies nothing (the registry says why)
                self._verifiers[(name, verifier.key_id)] = verifier

    def __call__(self, entries: Sequence[bytes]) -> list[bytes | None]:
        """For each entry, the registered public key of its signer that verifies it, else None."""
        verifiers = self._verifiers
        result: list[bytes | None] = []
        for data in entries:
            found: bytes | None = None
            signed = _sole_signature(data)
            if signed is not None:
                text, sig = signed
                verifier = verifiers.get((sig.name, sig.key_id))
                if verifier is not None and verifier.verify(text, sig.signature):
                    found = verifier.public_key
            result.append(found)
        return result


class ProvingKeys(SigningKeys):
    """``SigningKeys`` that also prove entries (``Proof``) of the log named ``origin``.

    Proving costs a strict parse, which the ordered pass would otherwise make itself: an entry
    is parsed once, in whichever process verifies its signature.  An entry in the compiled
    shape of its type (``exam_core.log.entry_shapes``) is proven by one match; any other by
    the full parse and schema check.
    """

    def __init__(self, keys: Mapping[str, frozenset[bytes]], origin: str | None) -> None:
        super().__init__(keys)
        self._origin = origin
        self._shapes = EntryShapes(origin) if origin is not None else None
        self._checked_keys = {at: v.public_key for at, v in self._verifiers.items()}
        """Each verifier's key, which it checked when made: ``prove`` calls the verification
        it would (``Ed25519Verifier.verify``) itself, a call less per entry."""

    def prove(self, entries: Sequence[bytes]) -> list[Answer]:
        """For each entry, its ``Proof``, else the registered key that verifies it, else None.

        A block of entries at a time, in three passes over it — parse, verify, then prove —
        rather than one pass doing all three per entry: the signatures are then verified one
        after the other, as in the benchmarks' raw loop, with libsodium's tables and code
        still in the processor's caches.  Verified between parses they cost some 2 us more
        each (a 2-process audit of 100,000 entries: 62.6-63.2 -> 60.3-62.5 CPU-us an entry).
        The answers are the same; a block bounds what is held.
        """
        result: list[Answer] = []
        for start in range(0, len(entries), _PROVING_BLOCK):
            result.extend(self._prove_block(entries[start : start + _PROVING_BLOCK]))
        return result

    def _prove_block(self, entries: Sequence[bytes]) -> list[Answer]:
        checked_keys, origin = self._checked_keys, self._origin
        is_valid = ed25519.is_valid_under_checked_key
        shaped = self._shapes.match if self._shapes is not None else _no_shape
        parsed: list[ShapedEntry | PlainEntry | None] = []
        keep = parsed.append
        for data in entries:
            parts: ShapedEntry | PlainEntry | None = shaped(data)  # parsed and checked at once
            if parts is None:
                try:
                    parts = parse_entry_parts(data)  # the common shape, else the full parse
                except EntryError:
                    parts = None  # the ordered pass says why
            keep(parts)
        verified: list[bytes | None] = []
        found = verified.append
        for parts in parsed:
            public_key = None
            if parts is not None:
                public_key = checked_keys.get((parts[1], parts[2]))
                if public_key is not None and not is_valid(public_key, parts[3], parts[4]):
                    public_key = None
            found(public_key)
        result: list[Answer] = []
        append = result.append
        event: Mapping[str, Any]
        for data, parts, public_key in zip(entries, parsed, verified, strict=True):
            if parts is None or public_key is None:
                append(None)
                continue
            if isinstance(parts, ShapedEntry):
                # its shape is its type's in this log: it parses and passes the type's schema
                kind, actor, seq, ts = parts.type, parts.actor, parts.seq, parts.ts
            else:
                event, actor = parts[0], parts[1]
                if origin is None or event.get("log") != origin:
                    append(public_key)
                    continue
                try:
                    kind = validate_event(event).type
                except EntryError:
                    append(public_key)  # refused, with its reason, by the ordered pass
                    continue
                seq, ts = event["seq"], event["ts"]
            if kind in KEY_EVENT_TYPES or may_reference_blobs(data):
                append(public_key)
            else:
                # Proof(...) parses its arguments
                append(_new_tuple(Proof, (public_key, actor, seq, ts, kind)))
        return result


def _no_shape(data: bytes) -> None:
    """No compiled shapes (no log named): every entry takes the full parse."""
    del data


_PROVING_BLOCK = 256
"""Entries ``ProvingKeys.prove`` parses before it verifies them: an entry bundle's width
(a few hundred KB of parsed entries held at most)."""


def signing_keys(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> list[bytes | None]:
    """For each entry, the registered public key of its signer that verifies it, else None.

    Pure and order-free, so it can run on chunks in several processes.
    """
    return SigningKeys(keys)(entries)


def _no_signature_check(
    entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]]
) -> Iterator[bytes | None]:
    """Verify nothing ahead: the registry verifies every signature in the ordered pass."""
    del entries, keys
    while True:
        yield None


@runtime_checkable
class ProvingCheck(Protocol):
    """A ``SignatureCheck`` that can also prove entries of one log (``Proof``)."""

    def prove(
        self, entries: Sequence[bytes], keys: Mapping[str, frozenset[bytes]], origin: str
    ) -> Iterator[Answer]: ...


@runtime_checkable
class ScannedEntries(Protocol):
    """Entries read from files that were scanned when first read: ``registration_candidates``
    gives, without reading the other files, every entry of the files whose text held
    ``KEY_REGISTERED_TEXT``."""

    def registration_candidates(self) -> Iterable[bytes]: ...


def start_signature_check(
    entries: Sequence[bytes], check: SignatureCheck | None, origin: str | None = None
) -> Iterator[Answer]:
    """Start ``check`` on ``entries`` with every key their registrations name (None: verify
    nothing ahead) and return its answers, one per entry, for the ordered pass to read; a
    ``ProvingCheck`` also proves the entries of the log ``origin``."""
    if check is None:
        return _no_signature_check(entries, {})
    scanned = entries.registration_candidates() if isinstance(entries, ScannedEntries) else entries
    keys = registered_keys(scanned)
    if origin is not None and isinstance(check, ProvingCheck):
        return check.prove(entries, keys, origin)
    return check(entries, keys)


class LinedUp(Protocol):
    """Signature checks started before the log was lined up (``EarlyProvingCheck.begin``)."""

    def line_up(self, bundle: LogBundle) -> None:
        """The log's next entry bundle, as ``assemble_entries`` lines it up."""
        ...

    def answers(self, entries: LogEntries) -> Iterator[Answer]:
        """The lined-up log's answers, one per entry, for the ordered pass to read."""
        ...


@runtime_checkable
class EarlyProvingCheck(Protocol):
    """A ``ProvingCheck`` that can start before the log is lined up, on its bundle files."""

    def begin(
        self, files: Mapping[TilePath, bytes], origin: str, cap: int | None
    ) -> LinedUp | None: ...


def begin_signature_check(
    check: SignatureCheck | None,
    files: Mapping[TilePath, bytes],
    origin: str | None,
    cap: int | None,
) -> LinedUp | None:
    """Start ``check`` on the entry bundle ``files`` of the log ``origin`` (up to ``cap``
    entries, the newest checkpoint's size) before they are lined up, if it can; None: start it
    once they are (``start_signature_check``)."""
    if origin is None or not isinstance(check, EarlyProvingCheck):
        return None
    return check.begin(files, origin, cap)
