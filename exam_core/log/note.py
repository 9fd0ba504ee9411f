"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and their vkeys.

Every log entry, checkpoint and receipt in exam-integrity is a signed note, so this module is
the single place that lays out and checks the format:

    text (UTF-8, ends in "\\n", no control characters but "\\n")
    "\\n"                                   (the last blank line separates text from signatures)
    "— <key name> <base64(key ID[4] ‖ signature)>\\n"   one or more lines

Key ID = SHA-256(name ‖ "\\n" ‖ sigtype ‖ public key)[:4]; sigtype 0x01 is Ed25519.
Verifier rules (signed-note.md): unknown keys are ignored, a known key (name *and* ID match)
whose signature fails rejects the whole note, at least one known key must verify, a verifier
accepts at least 16 signatures, and a repeated line of a known key is refused.  An Ed25519
signature is checked by the project's one rule (``exam_core.log.ed25519``), and a vkey or key
that no signature could be valid under (small order, non-canonical) is refused when it is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from exam_core.errors import KeyFormatError, NoteError
from exam_core.log import ed25519

SIGTYPE_ED25519 = 0x01
SIGTYPE_COSIGNATURE_V1 = 0x04
EM_DASH_PREFIX = "— ".encode()
MAX_SIGNATURES = 100
"""More signature lines than this are refused outright (the spec asks verifiers for ≥ 16)."""


_SPACE = re.compile(r"\s")
"""Unicode whitespace: the same characters as ``str.isspace``, found in one scan."""


def check_key_name(name: str) -> None:
    """Key names are non-empty and contain no Unicode space and no ``+`` (signed-note.md).

    Raises:
        KeyFormatError: the name is empty, holds a space or ``+``, or is not Unicode text (a
            lone surrogate, as a command-line argument that is not UTF-8 decodes to).
    """
    if not name or "+" in name or _SPACE.search(name):
        raise KeyFormatError(f"invalid key name {name!r}: empty, or contains a space or '+'")
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError as e:
            raise KeyFormatError(f"invalid key name {name!r}: not UTF-8 text") from e


def key_id(name: str, sigtype: int, public_key: bytes) -> int:
    """The 4-byte key ID of a note key, as a big-endian integer."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([sigtype]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


class NoteSignature(NamedTuple):
    """One signature line: the key name, the key ID and the raw signature bytes after the ID.

    Immutable tuples rather than frozen dataclasses: an audit makes two of these per entry,
    and a tuple is built in a third of the time.
    """

    name: str
    key_id: int
    signature: bytes


class Note(NamedTuple):
    """A parsed, not yet verified note: the exact signed text and its signature lines."""

    text: bytes
    signatures: tuple[NoteSignature, ...]


class NoteVerifier(Protocol):
    """What ``open_note`` needs of a key: its name, its ID and a check of one signature."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def verify(self, text: bytes, signature: bytes) -> bool: ...


class NoteSigner(Protocol):
    """What ``sign_note`` needs of a key: its name, its ID and a signature over the text."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, text: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519PublicNoteKey:
    """The public half of an Ed25519 note key of one signature type: name, key, ID and vkey.

    Plain note keys (0x01) and witness cosignature keys (0x04) differ only in their type byte
    and in what ``verify`` checks; subclasses set ``sigtype`` and define ``verify``.
    """

    sigtype: ClassVar[int] = SIGTYPE_ED25519
    name: str
    public_key: bytes
    key_id: int = field(init=False, repr=False, compare=False)
    """Derived from the name and key once: every entry a verifier checks compares it."""

    def __post_init__(self) -> None:
        """Check the name and the key, then derive the key ID.

        Raises:
            KeyFormatError: the name is not a key name, or the public key is one the Ed25519
                rule refuses (``ed25519.verify_public_key``).
        """
        check_key_name(self.name)
        ed25519.verify_public_key(self.public_key)
        object.__setattr__(self, "key_id", key_id(self.name, self.sigtype, self.public_key))

    @property
    def vkey(self) -> str:
        return encode_vkey(self.name, self.sigtype, self.public_key)


@dataclass(frozen=True)
class Ed25519Verifier(Ed25519PublicNoteKey):
    """An Ed25519 (sigtype 0x01) note key."""

    def verify(self, text: bytes, signature: bytes) -> bool:
        # the key passed ed25519.verify_public_key when this verifier was made
        return ed25519.is_valid_under_checked_key(self.public_key, signature, text)


def private_key_from_seed(seed: bytes) -> Ed25519PrivateKey:
    """The Ed25519 private key of a 32-byte RFC 8032 seed.

    Raises:
        KeyFormatError: ``seed`` is not 32 bytes.
    """
    if len(seed) != 32:
        raise KeyFormatError("an Ed25519 seed is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


class Ed25519NoteKey:
    """The private half of an Ed25519 note key of one signature type (see
    ``Ed25519PublicNoteKey``); subclasses set ``sigtype`` and define ``sign``."""

    sigtype: ClassVar[int] = SIGTYPE_ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        check_key_name(name)
        self._name = name
        self._private_key = private_key
        self._public_key = private_key.public_key().public_bytes_raw()
        self._key_id = key_id(name, self.sigtype, self._public_key)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public_key

    @property
    def private_key(self) -> Ed25519PrivateKey:
        return self._private_key

    @property
    def vkey(self) -> str:
        return encode_vkey(self._name, self.sigtype, self._public_key)


class Ed25519Signer(Ed25519NoteKey):
    """An Ed25519 private key with its note key name (sigtype 0x01)."""

    @classmethod
    def generate(cls, name: str) -> Ed25519Signer:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, name: str, seed: bytes) -> Ed25519Signer:
        return cls(name, private_key_from_seed(seed))

    @property
    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self._name, self._public_key)

    def sign(self, text: bytes) -> bytes:
        return self._private_key.sign(text)


def encode_vkey(name: str, sigtype: int, public_key: bytes) -> str:
    """``<name>+<hex key ID>+<base64(sigtype ‖ public key)>``."""
    check_key_name(name)
    encoded = base64.b64encode(bytes([sigtype]) + public_key).decode()
    return f"{name}+{key_id(name, sigtype, public_key):08x}+{encoded}"


@dataclass(frozen=True)
class VKey:
    """A parsed vkey: name, signature type, raw public key and the key ID it declared."""

    name: str
    sigtype: int
    public_key: bytes
    key_id: int


def parse_vkey(vkey: str) -> VKey:
    """Parse a vkey, checking that the declared key ID matches the key (split on two '+').

    Raises:
        KeyFormatError: the vkey is malformed, its key ID does not match, or it holds an
            Ed25519 key (type 0x01 or 0x04) that the Ed25519 rule refuses: not 32 bytes, not a
            canonical point of the curve, or of small order.
    """
    parts = vkey.split("+", 2)
    if len(parts) != 3:
        raise KeyFormatError("a vkey is <name>+<hex key id>+<base64 key>")
    name, hex_id, encoded = parts
    check_key_name(name)
    if len(hex_id) != 8 or hex_id != hex_id.lower():
        raise KeyFormatError("vkey key ID must be 8 lowercase hex digits")
    try:
        declared = int(hex_id, 16)
        raw = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as e:
        raise KeyFormatError(f"vkey is not well encoded: {e}") from e
    if len(raw) < 2:
        raise KeyFormatError("vkey carries no key")
    sigtype, public_key = raw[0], raw[1:]
    if sigtype in (SIGTYPE_ED25519, SIGTYPE_COSIGNATURE_V1):
        ed25519.verify_public_key(public_key)
    if key_id(name, sigtype, public_key) != declared:
        raise KeyFormatError(f"vkey key ID {hex_id} does not match the key")
    return VKey(name, sigtype, public_key, declared)


def ed25519_verifier_from_vkey(vkey: str) -> Ed25519Verifier:
    """An Ed25519 note verifier from its vkey; other signature types are refused.

    Raises:
        KeyFormatError: the vkey is malformed, or it is not of the Ed25519 type.
    """
    parsed = parse_vkey(vkey)
    if parsed.sigtype != SIGTYPE_ED25519:
        raise KeyFormatError(f"vkey of {parsed.name} is of type {parsed.sigtype}, not Ed25519")
    return Ed25519Verifier(parsed.name, parsed.public_key)


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
"""Control characters (C0 but newline, DEL, C1); one regex scan instead of a loop per character."""


_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\n"
"""Printable ASCII and newline: what most of a note is made of."""
_MAYBE_CONTROL = re.compile(rb"[\x00-\x1f\x7f\xc2]")
"""Bytes that start a control character in valid UTF-8 (C1 controls are ``C2 80``–``C2 9F``)."""


def _check_text(text: bytes) -> None:
    if not text.endswith(b"\n"):
        raise NoteError("note text must end with a newline")
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise NoteError(f"note is not valid UTF-8 (byte {e.start})") from e
    if _MAYBE_CONTROL.search(text.translate(None, _PLAIN_BYTES)) is None:
        return  # the few bytes left after deleting plain ones cannot start a control character
    control = _CONTROL.search(decoded)
    if control is not None:
        raise NoteError(f"note holds control character U+{ord(control.group()):04X}")


def sign_note(text: bytes, signers: Sequence[NoteSigner]) -> bytes:
    """Make a signed note: ``text`` (which must end in a newline), a blank line, one line a key.

    Raises:
        NoteError: ``text`` does not end in a newline, is not UTF-8 or holds a control character.
        RuntimeError: ``signers`` is empty (a caller bug).
    """
    _check_text(text)
    if not signers:
        raise RuntimeError("sign_note needs at least one signer")
    lines = [text, b"\n"]
    lines += [signature_line(s.name, s.key_id, s.sign(text)) for s in signers]
    return b"".join(lines)


def signature_line(name: str, key_id: int, signature: bytes) -> bytes:
    """One signature line, ``— <name> <base64(key ID ‖ signature)>\\n``: the one place it is laid
    out (notes, witness cosignatures, the lines a witness keeps)."""
    blob = key_id.to_bytes(4, "big") + signature
    return EM_DASH_PREFIX + name.encode() + b" " + base64.b64encode(blob) + b"\n"


def parse_note(data: bytes) -> Note:
    """Split a note into its text and signature lines without checking any signature.

    Raises:
        NoteError: the text does not end in a newline, is not UTF-8 or holds a control character;
            there is no blank line before the signatures or no signature line; a signature line is
            malformed; or there are more than ``MAX_SIGNATURES``.
    """
    _check_text(data)
    split = data.rfind(b"\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    block = data[split + 2 :]
    if not block:
        raise NoteError("note has no signature lines")
    lines = block.split(b"\n")
    lines.pop()  # the text ends in a newline, so the last piece is empty
    signatures = tuple(map(parse_signature_line, lines))
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return Note(data[: split + 1], signatures)


_CHECKED_NAMES: dict[bytes, str] = {}
"""Key names that passed ``check_key_name``, by their bytes: a log repeats a few signers."""
_CHECKED_NAMES_LIMIT = 4096


_SIGNATURE_LINE = re.compile(re.escape(EM_DASH_PREFIX) + rb"([^ ]+) ([A-Za-z0-9+/]*={0,2})")
"""``— <name> <base64>``: the layout, checked in one match; ``_line_defect`` says what is off."""


def parse_signature_line(line: bytes) -> NoteSignature:
    """One signature line ``— <name> <base64(key ID ‖ signature)>`` without its newline.

    Raises:
        NoteError: the line is not ``— <name> <base64>``, the name is not a valid key name
            (``KeyFormatError``), or the signature is not base64 or is shorter than a key ID
            and one byte.
        UnicodeDecodeError: the name is not UTF-8; ``parse_note`` has ruled that out before it
            calls this.
    """  # noqa: DOC501 - _line_defect builds a NoteError
    match = _SIGNATURE_LINE.fullmatch(line)
    if match is None:
        raise _line_defect(line)
    raw_name, encoded = match.groups()
    name = _CHECKED_NAMES.get(raw_name)
    if name is None:
        name = raw_name.decode()  # parse_note: the whole note is valid UTF-8
        check_key_name(name)
        if len(_CHECKED_NAMES) < _CHECKED_NAMES_LIMIT:
            _CHECKED_NAMES[raw_name] = name
    try:
        blob = binascii.a2b_base64(encoded)
    except binascii.Error as e:
        raise NoteError(f"signature of {name} is not base64") from e
    if len(blob) < 5:
        raise NoteError(f"signature of {name} is too short")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def _line_defect(line: bytes) -> NoteError:
    """Why ``line`` is not a signature line, checked in the order a reader would."""
    if not line.startswith(EM_DASH_PREFIX):
        return NoteError("signature line does not start with an em dash and a space")
    fields = line[len(EM_DASH_PREFIX) :].split(b" ")
    if len(fields) != 2:
        return NoteError("signature line is not '— <name> <base64>'")
    name = fields[0].decode()
    check_key_name(name)  # an empty name raises here
    return NoteError(f"signature of {name} is not base64")


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> tuple[Note, tuple[str, ...]]:
    """Parse and verify a note; return it with the names of the known keys that signed it.

    Raises:
        NoteError: the note does not parse (as ``parse_note``), a known key's signature fails,
            a known key signs twice, or no known key signed at all.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    signed: list[str] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        ident = (sig.name, sig.key_id)
        verifier = known.get(ident)
        if verifier is None:
            continue
        if ident in seen:
            raise NoteError(f"key {sig.name} signs the note twice")
        seen.add(ident)
        if not verifier.verify(note.text, sig.signature):
            raise NoteError(f"signature of {sig.name} does not verify")
        signed.append(sig.name)
    if not signed:
        raise NoteError("no known key signed the note")
    return note, tuple(signed)
