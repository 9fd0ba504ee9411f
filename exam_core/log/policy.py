"""C2SP tlog-policy (https://c2sp.org/tlog-policy): what an offline verifier trusts.

An auditor or a receipt holder trusts nobody but the keys written in a policy file, so the file
is parsed strictly (every error names its line) and evaluated purely.  The grammar, one item
per line, items separated by spaces or tabs, blank lines and ``#`` comments ignored:

    log <vkey> [<url>]                       a log key (Ed25519, key name = origin)
    witness <name> <vkey> [<url>]            a witness key (cosignature/v1, sigtype 0x04)
    group <name> <k|all|any> <member>...     k of the members (witnesses or earlier groups)
    quorum <name|none>                       exactly one; the rule a checkpoint must meet

Our extensions (DESIGN §3.5, §4.3), ignored by no one because unknown keywords are errors:

    admin <vkey>                             an administrator key the auditor pins; the log's
                                             first entries must register exactly such keys
    beacon <vkey>                            a randomness beacon key the auditor pins (Ed25519):
                                             a hash-chain beacon's commitment must be signed by
                                             one, or no allocation drawn on it verifies

Our policies describe one log: every ``log`` line names the same origin (several lines are a
key rotation window).  Names and groups follow the standard: one namespace, ``none`` reserved,
members defined on earlier lines and listed at most once, 1 ≤ k ≤ n, no duplicate keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from exam_core.errors import CheckpointError, KeyFormatError
from exam_core.log.checkpoint import Checkpoint, open_checkpoint
from exam_core.log.cosignature import CosignatureVerifier, cosignature_verifier_from_vkey
from exam_core.log.note import Ed25519Verifier, ed25519_verifier_from_vkey, parse_vkey

MAX_POLICY_BYTES = 64 * 1024
MAX_ITEMS = 256
"""Per kind (logs, witnesses, groups, admins); the standard asks for at least 32."""

_WHITESPACE = re.compile(rb"[ \t]+")
_THRESHOLD = re.compile(r"[1-9][0-9]{0,3}")


@dataclass(frozen=True)
class PolicyLog:
    vkey: str
    url: str | None = None


@dataclass(frozen=True)
class PolicyWitness:
    name: str
    vkey: str
    url: str | None = None


@dataclass(frozen=True)
class PolicyGroup:
    """``threshold`` is the text of the policy (``all``, ``any`` or a decimal k)."""

    name: str
    threshold: str
    members: tuple[str, ...]

    @property
    def k(self) -> int:
        if self.threshold == "all":
            return len(self.members)
        if self.threshold == "any":
            return 1
        return int(self.threshold)


@dataclass(frozen=True)
class Policy:
    """A parsed policy; build one with ``parse_policy`` or ``Policy.build``."""

    logs: tuple[PolicyLog, ...]
    witnesses: tuple[PolicyWitness, ...]
    groups: tuple[PolicyGroup, ...]
    quorum: str
    admin_vkeys: tuple[str, ...] = ()
    beacon_vkeys: tuple[str, ...] = ()
    _log_verifiers: tuple[Ed25519Verifier, ...] = field(init=False, repr=False, compare=False)
    _witness_verifiers: tuple[CosignatureVerifier, ...] = field(
        init=False, repr=False, compare=False
    )
    _beacon_verifiers: tuple[Ed25519Verifier, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check(self)
        object.__setattr__(
            self, "_log_verifiers", tuple(ed25519_verifier_from_vkey(x.vkey) for x in self.logs)
        )
        object.__setattr__(
            self,
            "_witness_verifiers",
            tuple(cosignature_verifier_from_vkey(w.vkey) for w in self.witnesses),
        )
        object.__setattr__(
            self,
            "_beacon_verifiers",
            tuple(ed25519_verifier_from_vkey(v) for v in self.beacon_vkeys),
        )

    @classmethod
    def build(
        cls,
        *,
        log: str | Sequence[str],
        witnesses: Sequence[str] = (),
        quorum: int = 0,
        admins: Sequence[str] = (),
        beacons: Sequence[str] = (),
        witness_urls: Sequence[str | None] = (),
    ) -> Policy:
        """A policy for one log: witnesses named by their key names, ``quorum`` of them needed.

        ``quorum`` 0 writes ``quorum none``; otherwise a group ``witnesses`` of threshold
        ``quorum`` over every witness.  ``admins`` and ``beacons`` are the pinned
        administrator and beacon vkeys; ``witness_urls``, when given, holds one submission
        prefix (or None) per witness, in the same order.

        Raises:
            CheckpointError: a key is malformed, a witness is named twice, or the quorum is
                more than the witnesses named.
            RuntimeError: ``witness_urls`` is given but not one per witness.
        """
        logs = [log] if isinstance(log, str) else list(log)
        urls = list(witness_urls) if witness_urls else [None] * len(witnesses)
        if len(urls) != len(witnesses):
            raise RuntimeError("one URL (or None) per witness")
        try:
            names = [parse_vkey(v).name for v in witnesses]
        except KeyFormatError as e:
            raise CheckpointError(f"policy key: {e}") from e
        entries = tuple(
            PolicyWitness(n, v, u) for n, v, u in zip(names, witnesses, urls, strict=True)
        )
        groups: tuple[PolicyGroup, ...] = ()
        rule = "none"
        if quorum:
            groups = (PolicyGroup("witnesses", str(quorum), tuple(w.name for w in entries)),)
            rule = "witnesses"
        return cls(
            tuple(PolicyLog(v) for v in logs),
            entries,
            groups,
            rule,
            tuple(admins),
            tuple(beacons),
        )

    @property
    def origin(self) -> str:
        """The log's origin: the key name of its log keys."""
        return self._log_verifiers[0].name

    @property
    def log_verifiers(self) -> tuple[Ed25519Verifier, ...]:
        return self._log_verifiers

    @property
    def witness_verifiers(self) -> dict[str, CosignatureVerifier]:
        """Verifier of each witness by its policy name."""
        return {w.name: v for w, v in zip(self.witnesses, self._witness_verifiers, strict=True)}

    @property
    def beacon_verifiers(self) -> tuple[Ed25519Verifier, ...]:
        """The pinned beacon keys: what a hash-chain beacon commitment must be signed by."""
        return self._beacon_verifiers

    @property
    def admins(self) -> frozenset[str]:
        """The pinned administrator vkeys (``KeyRegistry(pinned_admins=...)``)."""
        return frozenset(self.admin_vkeys)

    def quorum_met(self, witnessed: Iterable[str]) -> bool:
        """Whether witnesses with these policy names satisfy the quorum rule."""
        seen = set(witnessed)
        groups = {g.name: g for g in self.groups}

        def met(name: str) -> bool:
            group = groups.get(name)
            if group is None:
                return name in seen
            return sum(met(member) for member in group.members) >= group.k

        return self.quorum == "none" or met(self.quorum)

    def verify_checkpoint(self, data: bytes) -> tuple[Checkpoint, tuple[str, ...]]:
        """Verify a cosigned checkpoint under this policy; return it and the witnesses that signed.

        1. a log key of the policy signed it, under the policy's origin;
        2. every known witness line verifies (signed-note rules: a failing known key rejects);
        3. the witnesses that signed meet the quorum.

        Raises:
            CheckpointError: the note is malformed or too large, a known log or witness signature
                fails, the checkpoint's origin is not the policy's log, no log key of the policy
                signed it, or the witnesses that signed do not meet the quorum.
        """
        logs = self._log_verifiers
        # (1) and (2) in one pass over the note.
        cp, note, signers = open_checkpoint(data, [*logs, *self._witness_verifiers])
        if cp.origin != self.origin:
            raise CheckpointError(f"checkpoint of {cp.origin!r} is not of the policy's log")
        log_ids = {(v.name, v.key_id) for v in logs}
        lines = {(s.name, s.key_id) for s in note.signatures}
        if not log_ids & lines or self.origin not in signers:
            raise CheckpointError(f"checkpoint is not signed by the log key of {self.origin}")
        witnessed = tuple(
            w.name
            for w, v in zip(self.witnesses, self._witness_verifiers, strict=True)
            if (v.name, v.key_id) in lines
        )
        # (3)
        if not self.quorum_met(witnessed):
            raise CheckpointError(
                f"checkpoint of size {cp.size} is cosigned by {len(witnessed)} witness(es)"
                f" {list(witnessed)}, which does not meet the policy's quorum {self.quorum!r}"
            )
        return cp, witnessed


def _check(policy: Policy) -> None:
    # The rules of tlog-policy §"Policy file syntax", for policies built in code as well as
    # parsed ones; ``parse_policy`` adds line numbers.
    if not policy.logs:
        raise CheckpointError("policy names no log")
    for kind, items in (
        ("log", policy.logs),
        ("witness", policy.witnesses),
        ("group", policy.groups),
        ("admin", policy.admin_vkeys),
        ("beacon", policy.beacon_vkeys),
    ):
        if len(items) > MAX_ITEMS:
            raise CheckpointError(f"policy has more than {MAX_ITEMS} {kind} lines")
    try:
        log_keys = [parse_vkey(x.vkey) for x in policy.logs]
        witness_keys = [parse_vkey(w.vkey) for w in policy.witnesses]
        admin_keys = [parse_vkey(a) for a in policy.admin_vkeys]
        beacon_keys = [parse_vkey(b) for b in policy.beacon_vkeys]
    except KeyFormatError as e:
        raise CheckpointError(f"policy key: {e}") from e
    if len({k.name for k in log_keys}) != 1:
        raise CheckpointError("policy log keys name different origins; it describes one log")
    for kind, keys in (
        ("log", log_keys),
        ("witness", witness_keys),
        ("admin", admin_keys),
        ("beacon", beacon_keys),
    ):
        if len({k.public_key for k in keys}) != len(keys):
            raise CheckpointError(f"policy lists the same {kind} key twice")
    defined: set[str] = set()
    for w in policy.witnesses:
        _define(w.name, defined)
    for g in policy.groups:
        _check_group(g, defined)
    if policy.quorum != "none" and policy.quorum not in defined:
        raise CheckpointError(f"quorum {policy.quorum!r} is not a witness or group defined")


def _check_group(g: PolicyGroup, defined: set[str]) -> None:
    if not g.members:
        raise CheckpointError(f"group {g.name} has no members")
    if len(set(g.members)) != len(g.members):
        raise CheckpointError(f"group {g.name} lists a member twice")
    for member in g.members:
        if member not in defined:
            raise CheckpointError(f"group {g.name} names {member!r}, not defined before it")
    if g.threshold not in ("all", "any") and not (
        _THRESHOLD.fullmatch(g.threshold) and int(g.threshold) <= len(g.members)
    ):
        raise CheckpointError(
            f"group {g.name} threshold {g.threshold!r} is not all, any or 1..{len(g.members)}"
        )
    _define(g.name, defined)


def _define(name: str, defined: set[str]) -> None:
    if not name or name == "none" or any(ch in name for ch in " \t\n#"):
        raise CheckpointError(f"{name!r} cannot name a witness or group")
    if name in defined:
        raise CheckpointError(f"{name!r} is defined twice")
    defined.add(name)


def parse_policy(data: bytes) -> Policy:
    """Parse a tlog-policy file strictly; errors name the offending line.

    Raises:
        CheckpointError: the file is over ``MAX_POLICY_BYTES``, its last line has no newline, a line
            holds a control character, is not UTF-8, has an unknown keyword, the wrong number of
            items or a malformed vkey, a name is reused or used before it is defined, there is no
            quorum line or a second one, or the policy as a whole breaks a tlog-policy rule (no log,
            for one); the message names the offending line where there is one.
    """
    if len(data) > MAX_POLICY_BYTES:
        raise CheckpointError(f"policy is over {MAX_POLICY_BYTES} bytes")
    if data and not data.endswith(b"\n"):
        raise CheckpointError("policy: the last line is not ended by a newline")
    logs: list[PolicyLog] = []
    witnesses: list[PolicyWitness] = []
    groups: list[PolicyGroup] = []
    admins: list[str] = []
    beacons: list[str] = []
    quorum: str | None = None
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        bad = next((b for b in raw if b != 0x09 and (b < 0x20 or b == 0x7F)), None)
        if bad is not None:
            raise CheckpointError(f"policy line {number}: control character 0x{bad:02x}")
        tokens = [t for t in _WHITESPACE.split(raw) if t]
        if not tokens or tokens[0].startswith(b"#"):
            continue
        try:
            words = [t.decode("utf-8") for t in tokens]
        except UnicodeDecodeError as e:
            raise CheckpointError(f"policy line {number}: not UTF-8") from e
        keyword, args = words[0], words[1:]
        try:
            if keyword == "log" and len(args) in (1, 2):
                logs.append(PolicyLog(args[0], args[1] if len(args) == 2 else None))
                ed25519_verifier_from_vkey(args[0])
            elif keyword == "witness" and len(args) in (2, 3):
                witnesses.append(
                    PolicyWitness(args[0], args[1], args[2] if len(args) == 3 else None)
                )
                cosignature_verifier_from_vkey(args[1])
            elif keyword == "group" and len(args) >= 3:
                groups.append(PolicyGroup(args[0], args[1], tuple(args[2:])))
            elif keyword == "quorum" and len(args) == 1:
                if quorum is not None:
                    raise CheckpointError("a second quorum line")
                quorum = args[0]
            elif keyword == "admin" and len(args) == 1:
                admins.append(args[0])
                ed25519_verifier_from_vkey(args[0])
            elif keyword == "beacon" and len(args) == 1:
                beacons.append(args[0])
                ed25519_verifier_from_vkey(args[0])
            elif keyword in ("log", "witness", "group", "quorum", "admin", "beacon"):
                raise CheckpointError(f"wrong number of items for {keyword!r}")
            else:
                raise CheckpointError(f"unknown keyword {keyword!r}")
            if keyword in ("group", "quorum"):
                # Order matters: a group or the quorum names only what is defined above it.
                _check_partial(witnesses, groups, quorum)
        except (CheckpointError, KeyFormatError) as e:
            raise CheckpointError(f"policy line {number}: {e}") from e
    if quorum is None:
        raise CheckpointError("policy has no quorum line")
    return Policy(
        tuple(logs), tuple(witnesses), tuple(groups), quorum, tuple(admins), tuple(beacons)
    )


def _check_partial(
    witnesses: list[PolicyWitness], groups: list[PolicyGroup], quorum: str | None
) -> None:
    defined: set[str] = set()
    for w in witnesses:
        _define(w.name, defined)
    for g in groups:
        _check_group(g, defined)
    if quorum is not None and quorum != "none" and quorum not in defined:
        raise CheckpointError(f"quorum {quorum!r} is not a witness or group defined before it")


def render_policy(policy: Policy) -> bytes:
    """The policy as text: logs, witnesses, groups, the quorum, then pinned admin and beacon
    keys."""
    extensions = (
        "'admin' extension" if not policy.beacon_vkeys else "'admin' and 'beacon' extensions"
    )
    lines = [f"# tlog-policy (c2sp.org/tlog-policy) with the exam-integrity {extensions}"]
    lines += [" ".join(filter(None, ["log", x.vkey, x.url])) for x in policy.logs]
    lines += [" ".join(filter(None, ["witness", w.name, w.vkey, w.url])) for w in policy.witnesses]
    lines += [" ".join(["group", g.name, g.threshold, *g.members]) for g in policy.groups]
    lines.append(f"quorum {policy.quorum}")
    lines += [f"admin {a}" for a in policy.admin_vkeys]
    lines += [f"beacon {b}" for b in policy.beacon_vkeys]
    return ("\n".join(lines) + "\n").encode()
