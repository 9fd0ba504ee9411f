"""The rules that decide whether an entry may join the log (DESIGN §3.1, §3.2).

``KeyRegistry`` is a pure state machine over the entries of one log, in order.  Ingest runs it
before sequencing and the offline audit runs the very same rules over a bundle, so a log that
ingest accepted is a log the audit accepts, and nothing else is.

For each entry, ``check`` establishes, in this order:

1. the event names this log as its ``log``;
2. the event matches the common fields and its type's schema;
3. the signing key is registered and not revoked — or the entry is the genesis
   self-registration of an administrator key (only before any other entry, and only for a key
   the policy pins when a policy pins any);
4. the actor's signature verifies under the registered key;
5. the key's role may sign this event type;
6. ``seq`` is exactly one more than the actor's previous entry (a replay fails here);
7. ``ts`` is within the allowed clock skew of ``now_ms`` (ingest only; the audit passes None).

``apply`` then records the entry's effects: the actor's ``seq``, and new or revoked keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from exam_core.errors import EntryError, KeyFormatError
from exam_core.log.entry import Entry, verify_entry_signature
from exam_core.log.note import Ed25519Verifier, ed25519_verifier_from_vkey
from exam_core.log.schemas import REGISTRY, validate_event
from exam_core.log.schemas.types import ADMIN, EventSchema, Role

KEY_EVENT_TYPES = frozenset({"key.registered", "key.revoked"})
"""The types whose admission depends on more than the entry and its signer's record: they
change the registry, so they are always checked in full (``check``), never as proven."""

DEFAULT_MAX_SKEW_MS = 300_000
"""Five minutes: a tablet's clock may drift, but an entry dated far off is refused."""


@dataclass(frozen=True)
class KeyRecord:
    """A registered key: its role, its verifier, and whether it has been revoked."""

    name: str
    role: Role
    verifier: Ed25519Verifier
    revoked: bool = False


@dataclass(frozen=True)
class RegistryState:
    """All a registry remembers after ``size`` entries, as plain immutable values.

    A centre saves it in its snapshot (``exam_core.centre.snapshot``) so that it can resume
    admission without replaying the log; ``KeyRegistry.from_state`` is its inverse.
    """

    size: int
    genesis_open: bool
    keys: tuple[KeyRecord, ...]
    """Every key ever registered, revoked ones included, sorted by name."""
    last_seq: tuple[tuple[str, int], ...]
    """(actor, the ``seq`` of its newest entry), sorted by actor."""


class KeyRegistry:
    """Key registry and per-actor sequence numbers of one log, advanced entry by entry."""

    def __init__(
        self,
        origin: str,
        pinned_admins: frozenset[str] | None = None,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    ) -> None:
        self.origin = origin
        self._pinned_admins = pinned_admins
        self._max_skew_ms = max_skew_ms
        self._keys: dict[str, KeyRecord] = {}
        self._last_seq: dict[str, int] = {}
        self._size = 0
        self._genesis_open = True

    @classmethod
    def from_state(
        cls,
        origin: str,
        state: RegistryState,
        pinned_admins: frozenset[str] | None = None,
        max_skew_ms: int = DEFAULT_MAX_SKEW_MS,
    ) -> KeyRegistry:
        """A registry that continues from ``state`` as if it had applied those entries.

        Raises:
            ValueError: ``state`` contradicts itself (a negative size, a key or an actor
                twice, a record whose verifier names another key, a ``seq`` below 1).
        """
        if state.size < 0:
            raise ValueError("a registry has applied a non-negative number of entries")
        registry = cls(origin, pinned_admins, max_skew_ms)
        for record in state.keys:
            if record.name in registry._keys or record.verifier.name != record.name:
                raise ValueError(f"key {record.name} is listed twice or under another name")
            registry._keys[record.name] = record
        for actor, seq in state.last_seq:
            if actor in registry._last_seq or seq < 1:
                raise ValueError(f"actor {actor} is listed twice or with seq {seq} < 1")
            registry._last_seq[actor] = seq
        registry._size = state.size
        registry._genesis_open = state.genesis_open
        return registry

    def state(self) -> RegistryState:
        """What this registry remembers, for ``from_state``; equal registries, equal states."""
        return RegistryState(
            size=self._size,
            genesis_open=self._genesis_open,
            keys=tuple(self._keys[name] for name in sorted(self._keys)),
            last_seq=tuple(sorted(self._last_seq.items())),
        )

    @property
    def size(self) -> int:
        """How many entries have been applied."""
        return self._size

    @property
    def keys(self) -> Mapping[str, KeyRecord]:
        return self._keys

    def verifier_of(self, name: str) -> Ed25519Verifier | None:
        record = self._keys.get(name)
        return None if record is None or record.revoked else record.verifier

    def next_seq(self, actor: str) -> int:
        return self._last_seq.get(actor, 0) + 1

    def _genesis_verifier(self, entry: Entry) -> Ed25519Verifier | None:
        """The key of a genesis admin self-registration, or None if this is not one.

        Raises:
            EntryError: code ``unknown_key``: admin keys are pinned and this one is not; code
                ``schema``: the registered vkey is malformed or names another key than ``name``.
        """
        event = entry.event
        if not (
            self._genesis_open
            and event.get("type") == "key.registered"
            and event.get("role") == ADMIN
            and event.get("name") == entry.actor
        ):
            return None
        vkey = str(event["vkey"])
        if self._pinned_admins is not None and vkey not in self._pinned_admins:
            raise EntryError("unknown_key", f"administrator key {entry.actor} is not pinned")
        return self._parse_registered_vkey(event)

    @staticmethod
    def _parse_registered_vkey(event: Mapping[str, object]) -> Ed25519Verifier:
        try:
            verifier = ed25519_verifier_from_vkey(str(event["vkey"]))
        except KeyFormatError as e:
            raise EntryError("schema", f"vkey: {e}") from e
        if verifier.name != event["name"]:
            raise EntryError("schema", "vkey names another key than 'name'")
        return verifier

    def check(
        self,
        entry: Entry,
        now_ms: int | None = None,
        verified_public_key: bytes | None = None,
    ) -> EventSchema:
        """Decide whether ``entry`` may be the next entry; raise ``EntryError`` if not.

        ``verified_public_key`` lets a caller that has already checked the signature (the
        audit verifies signatures on both cores ahead of this ordered pass) say with which key;
        the registry then only confirms that it is the registered one.

        Raises:
            EntryError: the entry may not be next; ``code`` says why: ``wrong_log``, ``schema`` or
                ``unknown_type`` (as ``validate_event``, or a registered vkey is malformed or
                outside the log's namespace), ``unknown_key``, ``revoked_key``, ``bad_signature``,
                ``role_forbidden``, ``bad_seq`` (a replay or a gap), ``clock_skew`` or
                ``key_exists``.
        """
        event = entry.event
        # (1) the entry belongs to this log
        if event.get("log") != self.origin:
            raise EntryError(
                "wrong_log", f"entry names log {event.get('log')!r}, not {self.origin}"
            )
        # (2) common fields and the type's own schema
        schema = validate_event(event)
        # (3) a registered, unrevoked key, or the genesis registration of an admin
        actor = entry.actor
        verifier = self._genesis_verifier(entry)
        if verifier is None:
            record = self._keys.get(actor)
            if record is None:
                raise EntryError("unknown_key", f"key {actor} is not registered")
            if record.revoked:
                raise EntryError("revoked_key", f"key {actor} has been revoked")
            verifier = record.verifier
            role = record.role
        else:
            role = ADMIN
        # (4) the actor's signature under that key
        if verified_public_key is None:
            verify_entry_signature(entry, verifier)
        elif verified_public_key != verifier.public_key:
            # verified under another key of that name (a refused registration of it): say why
            # as a check without the hint says it, so workers or none, the finding is the same
            verify_entry_signature(entry, verifier)
            raise EntryError(
                "bad_signature", f"entry is not signed by the registered key of {actor}"
            )
        # (5) the role may sign this type
        if role not in schema.roles:
            raise EntryError("role_forbidden", f"role {role} may not sign {schema.type}")
        # (6) per-actor sequence, which also refuses replays
        expected = self.next_seq(actor)
        if entry.seq != expected:
            raise EntryError("bad_seq", f"seq of {actor} is {entry.seq}, expected {expected}")
        # (7) bounded clock skew
        if now_ms is not None and abs(entry.ts - now_ms) > self._max_skew_ms:
            raise EntryError(
                "clock_skew", f"ts {entry.ts} is more than {self._max_skew_ms} ms from {now_ms}"
            )
        self._check_key_event(entry)
        return schema

    def _check_key_event(self, entry: Entry) -> None:
        event = entry.event
        kind = entry.type
        if kind == "key.registered":
            name = str(event["name"])
            if name in self._keys:
                raise EntryError("key_exists", f"key {name} is already registered")
            if not name.startswith(self.origin + "/"):
                raise EntryError("schema", f"key name {name} is not under {self.origin}/")
            self._parse_registered_vkey(event)
        elif kind == "key.revoked":
            name = str(event["name"])
            record = self._keys.get(name)
            if record is None or record.revoked:
                raise EntryError("unknown_key", f"key {name} is not registered or already revoked")

    def apply(self, entry: Entry) -> None:
        """Record the effects of an entry that has been sequenced (after ``check``)."""
        event = entry.event
        kind = entry.type
        if kind == "key.registered":
            name = str(event["name"])
            self._keys[name] = KeyRecord(
                name=name,
                role=Role(str(event["role"])),
                verifier=self._parse_registered_vkey(event),
            )
        elif kind == "key.revoked":
            name = str(event["name"])
            self._keys[name] = replace(self._keys[name], revoked=True)
        is_genesis = (
            kind == "key.registered"
            and event.get("role") == ADMIN
            and event.get("name") == entry.actor
        )
        if not is_genesis:
            self._genesis_open = False
        self._last_seq[entry.actor] = entry.seq
        self._size += 1

    def check_proven(
        self,
        actor: str,
        public_key: bytes,
        kind: str,
        seq: int,
        *,
        ts: int = 0,
        now_ms: int | None = None,
    ) -> bool:
        """``check`` for an entry whose order-free rules were proven before: it parses, names
        this log, passes the schema of ``kind``, which is not a key event (``KEY_EVENT_TYPES``),
        and ``public_key``, a key named ``actor``, verifies its signature.  True if the rules
        that depend on the entries before it hold too (steps 3 to 6, and 7 when ``now_ms`` is
        given); False for the caller to ``check`` the entry and learn why.  Changes nothing.
        """
        record = self._keys.get(actor)
        return not (
            record is None
            or record.revoked
            or record.verifier.public_key != public_key
            or record.role not in REGISTRY[kind].roles
            or self._last_seq.get(actor, 0) + 1 != seq
            or (now_ms is not None and abs(ts - now_ms) > self._max_skew_ms)
        )

    def apply_proven(self, actor: str, seq: int) -> None:
        """``apply`` for an entry that ``check_proven`` admitted (it is not a key event)."""
        self._genesis_open = False  # only a key registration keeps it open
        self._last_seq[actor] = seq
        self._size += 1

    def admit_proven(self, actor: str, public_key: bytes, kind: str, seq: int) -> bool:
        """``check_proven`` then ``apply_proven`` (the audit's ordered pass, which has no
        clock): True if the entry was admitted; else nothing changed."""
        if not self.check_proven(actor, public_key, kind, seq):
            return False
        self.apply_proven(actor, seq)
        return True

    def admit(self, entry: Entry, now_ms: int | None = None) -> EventSchema:
        """``check`` then ``apply``: the path of a single writer."""
        schema = self.check(entry, now_ms)
        self.apply(entry)
        return schema
