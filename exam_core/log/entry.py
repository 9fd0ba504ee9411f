"""Log entries: an actor-signed C2SP note over the canonical JSON of one event (DESIGN §3.1).

``make_entry`` is the one function that makes entry bytes; those bytes are the Merkle leaf
input and are stored and served as they are.  ``parse_entry`` is its strict inverse for
untrusted bytes: size, note layout, canonical integer-only JSON, common fields and the rule that
the signing key's name is the event's ``actor``.  Whether that key is registered, may sign this
type and is at the right ``seq`` is decided by ingest (``exam_core.centre.ingest``) and the audit.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from exam_core.errors import CanonicalError, EntryError, NoteError
from exam_core.log.canonical import FLAT_ASCII_OBJECT, canonical_json, flat_object, parse_canonical
from exam_core.log.note import (
    EM_DASH_PREFIX,
    Note,
    NoteSigner,
    NoteVerifier,
    parse_note,
    sign_note,
)

MAX_ENTRY_BYTES = 65_535
"""tlog-tiles entry bundles length-prefix entries with a uint16."""


class Entry(NamedTuple):
    """A parsed entry: its exact bytes, the signed note and the decoded event.

    An immutable tuple rather than a frozen dataclass: the audit builds one per entry, and a
    tuple is built in a third of the time.
    """

    data: bytes
    note: Note
    event: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def actor(self) -> str:
        return str(self.event["actor"])

    @property
    def seq(self) -> int:
        return int(self.event["seq"])

    @property
    def ts(self) -> int:
        return int(self.event["ts"])


def make_entry(signer: NoteSigner, event: Mapping[str, object]) -> bytes:
    """Sign ``event`` as an entry: JCS bytes, a newline, a blank line, the actor's signature.

    Raises:
        RuntimeError: ``event``'s ``actor`` is not the signer's name (a caller bug).
        EntryError: the signed entry exceeds ``MAX_ENTRY_BYTES`` (code ``too_large``).
    """
    if event.get("actor") != signer.name:
        raise RuntimeError("an entry is signed by the key its 'actor' field names")

    data = sign_note(canonical_json(event) + b"\n", [signer])
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError("too_large", f"entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}")
    return data


def parse_entry(data: bytes) -> Entry:
    """Parse untrusted entry bytes; raise ``EntryError`` with a stable code on any defect.

    Raises:
        EntryError: with code ``too_large`` (over ``MAX_ENTRY_BYTES``), ``malformed_note``,
            ``malformed_event`` (not one line of canonical JSON, or not an object), ``schema`` (no
            string ``actor``) or ``bad_signature`` (not exactly one signature, by the actor).
    """
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryError("too_large", f"entry is {len(data)} bytes; the limit is {MAX_ENTRY_BYTES}")
    try:
        note = parse_note(data)
    except NoteError as e:
        raise EntryError("malformed_note", str(e)) from e
    body = note.text[:-1]
    if b"\n" in body:
        raise EntryError("malformed_event", "event text must be a single line of JSON")
    try:
        event = parse_canonical(body)
    except CanonicalError as e:
        raise EntryError("malformed_event", str(e)) from e
    if not isinstance(event, dict):
        raise EntryError("malformed_event", "event must be a JSON object")
    actor = event.get("actor")
    if not isinstance(actor, str):
        raise EntryError("schema", "actor: missing or not a string")
    if len(note.signatures) != 1 or note.signatures[0].name != actor:
        raise EntryError("bad_signature", "an entry carries exactly one signature, by its actor")
    return Entry(data, note, event)


PLAIN_SIGNATURE_LINE = (
    b"\n\n"
    + re.escape(EM_DASH_PREFIX)
    + rb"(?P<signer>[!-*,-~]++) (?P<signature>[A-Za-z0-9+/]{91}=)\n"
)
"""A regular expression (its source): after an entry's text, its blank line and its one
Ed25519 signature line, by a key whose name is printable ASCII (no space, no ``+``): the name
is its group ``signer``, the base64 of key ID and signature (``key_id_and_signature``) its
group ``signature``."""

_PLAIN_ENTRY = re.compile(b"(" + FLAT_ASCII_OBJECT + b")" + PLAIN_SIGNATURE_LINE)
"""The common shape of an entry: a flat object of printable ASCII in canonical form, one line,
then one Ed25519 signature line by a key whose name is printable ASCII (no space, no ``+``)."""


class PlainEntry(NamedTuple):
    """What ``parse_plain_entry`` gives: what ``parse_entry`` would, without building it."""

    event: dict[str, Any]
    actor: str
    key_id: int
    signature: bytes
    text: bytes
    """The signed text: the event's line and its newline."""


def parse_plain_entry(data: bytes) -> PlainEntry | None:
    """Parse an entry of the common shape (``_PLAIN_ENTRY``) in one match; None for any other
    bytes, valid or not, which ``parse_entry`` must then decide.

    For bytes of that shape ``parse_entry`` would return this event, a note whose text is
    ``text`` and whose one signature line is ``actor``'s with this key ID and signature: the
    shape holds no byte its note or canonical-JSON checks refuse, and ``flat_object`` checks
    the key order.  Made for the audit's workers, which prove every entry of a log
    (``exam_core.audit.signatures``); the tests hold it to ``parse_entry`` on mutated entries.
    """
    if len(data) > MAX_ENTRY_BYTES:
        return None
    match = _PLAIN_ENTRY.fullmatch(data)
    if match is None:
        return None
    body, name, encoded = match.groups()
    event = flat_object(body)
    if event is None:
        return None
    actor = event.get("actor")
    if actor != name.decode("ascii"):
        return None
    key_id, signature = key_id_and_signature(encoded)
    # built as the tuple it is: PlainEntry(...) parses its arguments in Python, per entry
    return _new_tuple(PlainEntry, (event, actor, key_id, signature, data[: len(body) + 1]))


def key_id_and_signature(encoded: bytes) -> tuple[int, bytes]:
    """The key ID and signature of a signature line's base64, as ``PLAIN_SIGNATURE_LINE``
    matched it (92 characters: 68 bytes, whatever they are)."""
    blob = binascii.a2b_base64(encoded)
    return int.from_bytes(blob[:4], "big"), blob[4:]


_new_tuple = tuple.__new__


def parse_entry_parts(data: bytes) -> PlainEntry:
    """The parts of an entry that a verifier needs: ``parse_plain_entry``'s in one match for
    the common shape, else ``parse_entry``'s, the same parts either way.

    Raises:
        EntryError: as ``parse_entry``, for bytes that are not an entry.
    """
    plain = parse_plain_entry(data)
    if plain is not None:
        return plain
    entry = parse_entry(data)
    actor, key_id, signature = entry.note.signatures[0]
    return PlainEntry(dict(entry.event), actor, key_id, signature, entry.note.text)


def verify_entry_signature(entry: Entry, verifier: NoteVerifier) -> None:
    """Check the actor's signature with the registered key; raise ``EntryError`` if it fails.

    Raises:
        EntryError: code ``bad_signature``: the entry is not signed by ``verifier``'s key, or the
            signature does not verify.
    """
    sig = entry.note.signatures[0]
    if sig.name != verifier.name or sig.key_id != verifier.key_id:
        raise EntryError(
            "bad_signature", f"entry is not signed by the registered key of {sig.name}"
        )
    if not verifier.verify(entry.note.text, sig.signature):
        raise EntryError("bad_signature", f"signature of {sig.name} does not verify")
