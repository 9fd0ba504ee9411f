"""Every Ed25519 verifier of the project gives the strict rule's answer on every case (DESIGN §3.2).

A log whose ingest accepts a signature its auditor refuses disagrees with itself, so each door
a signature or a key comes through is tested here against the speccheck cases and the
Wycheproof vectors (``tests/ed25519_cases.py``): verbatim where the verifier takes any message,
forged again over the verifier's own message (an entry, a checkpoint, a cosigned checkpoint, a
beacon commitment, a telemetry chunk) where it does not.  The forged speccheck cases split
``cryptography`` from libsodium exactly as the published ones do (``test_ed25519.py``), so any
verifier that used a library's default instead of the rule would fail here.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from allocation.beacon import parse_commitment
from allocation.errors import BeaconError
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import bundle_from_files
from exam_core.audit.signatures import SigningKeys, registered_keys
from exam_core.centre.centre import Centre
from exam_core.centre.ingest import parse_and_verify
from exam_core.errors import CheckpointError, EntryError, ExamCoreError, KeyFormatError
from exam_core.log import ed25519
from exam_core.log.canonical import canonical_json
from exam_core.log.checkpoint import Checkpoint, checkpoint_text, sign_checkpoint
from exam_core.log.checkpoint import verify_checkpoint as verify_log_checkpoint
from exam_core.log.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignatures,
    cosign_checkpoint,
    cosignature_verifier_from_vkey,
    cosigned_message,
    verifier_from_vkey,
    verify_witness_quorum,
)
from exam_core.log.entry import make_entry, parse_entry, verify_entry_signature
from exam_core.log.note import (
    EM_DASH_PREFIX,
    SIGTYPE_COSIGNATURE_V1,
    SIGTYPE_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    ed25519_verifier_from_vkey,
    encode_vkey,
    key_id,
    open_note,
    parse_vkey,
    sign_note,
)
from exam_core.log.policy import Policy
from exam_core.log.registry import KeyRegistry
from exam_core.log.schemas.types import ADMIN, DEMO
from exam_core.scoring.telemetry import (
    SIGNATURE_BYTES,
    Frame,
    TelemetryError,
    make_chunk,
    parse_chunk,
    verify_chunk_signature,
)
from tests import ed25519_reference as ref
from tests.ed25519_cases import (
    SPECCHECK_VALID,
    Case,
    public_keys,
    transplanted,
    transplanted_wycheproof,
    vectors,
)
from tests.ed25519_reference import forge_speccheck
from tests.exam_core.audit.bundle_factory import ORIGIN, TS, LogBuilder

CASES = vectors()


@dataclass(frozen=True)
class Forged:
    """A note signer that writes the given signature bytes on its line, as a forger would."""

    name: str
    public_key: bytes
    signature: bytes
    sigtype: int = SIGTYPE_ED25519

    @property
    def key_id(self) -> int:
        return key_id(self.name, self.sigtype, self.public_key)

    def sign(self, text: bytes) -> bytes:
        return self.signature


def expected(cases: list[Case]) -> dict[str, bool]:
    return {c.label: c.valid for c in cases}


def accepted(check: Callable[[], object], *refusals: type[Exception]) -> bool:
    """Whether ``check`` returns; False when it raises one of ``refusals`` (anything else is a
    defect of the verifier and fails the test)."""
    try:
        check()
    except refusals:
        return False
    return True


def answers(
    check: Callable[[Case], object], cases: list[Case], *refusals: type[Exception]
) -> dict[str, bool]:
    """Per case, whether ``check`` accepted it."""
    return {c.label: accepted(partial(check, c), *refusals) for c in cases}


def key_refused(public_key: bytes) -> bool:
    """The rule's answer for a key, from its definition (``ed25519_reference``)."""
    point = ref.decode(public_key)
    return point is None or ref.has_small_order(point)


# --- verifiers that take any message: the vectors as published -------------------------------


def test_the_raw_verifiers_follow_the_rule_on_every_published_case() -> None:
    def note_key(case: Case) -> bool:
        try:
            verifier = Ed25519Verifier("k", case.public_key)
        except KeyFormatError:
            return False
        return verifier.verify(case.message, case.signature)

    assert {c.label: ed25519.is_valid(*c[1:4]) for c in CASES} == expected(CASES)
    assert {c.label: note_key(c) for c in CASES} == expected(CASES)


@pytest.mark.parametrize(("label", "key"), public_keys(), ids=[x for x, _ in public_keys()])
def test_every_door_a_key_comes_through_gives_the_same_answer(label: str, key: bytes) -> None:
    # Key registration, policy files, witness and beacon keys, the audit's pre-scan and every
    # verifier's constructor: a key is refused at all of them or at none.
    name = f"{ORIGIN}/demo/k"
    vkey, cosigning_vkey = encode_vkey(name, 1, key), encode_vkey(name, 4, key)
    doors: dict[str, Callable[[], object]] = {
        "verify_public_key": lambda: ed25519.verify_public_key(key),
        "parse_vkey": lambda: parse_vkey(vkey),
        "parse_vkey 0x04": lambda: parse_vkey(cosigning_vkey),
        "ed25519_verifier_from_vkey": lambda: ed25519_verifier_from_vkey(vkey),
        "cosignature_verifier_from_vkey": lambda: cosignature_verifier_from_vkey(cosigning_vkey),
        "verifier_from_vkey": lambda: verifier_from_vkey(vkey),
        "Ed25519Verifier": lambda: Ed25519Verifier(name, key),
        "CosignatureVerifier": lambda: CosignatureVerifier(name, key),
        "Policy log": lambda: Policy.build(log=encode_vkey(ORIGIN, 1, key)),
        "Policy admin": lambda: Policy.build(log=HONEST_LOG.vkey, admins=[vkey]),
        "Policy witness": lambda: Policy.build(
            log=HONEST_LOG.vkey, witnesses=[cosigning_vkey], quorum=1
        ),
    }
    # a policy says "policy key: Ed25519 public key ..." (CheckpointError)
    given = {
        door: accepted(check, KeyFormatError, CheckpointError) for door, check in doors.items()
    }
    assert given == dict.fromkeys(doors, not key_refused(key))
    registry = KeyRegistry(ORIGIN)
    registry.admit(parse_entry(_registration(ADMIN_SIGNER, ADMIN_SIGNER.vkey, 1, ADMIN)))
    registration = parse_entry(_registration(ADMIN_SIGNER, vkey, 2, DEMO, name))
    if key_refused(key):
        with pytest.raises(EntryError, match="schema: vkey: Ed25519 public key"):
            registry.check(registration)
    else:
        registry.check(registration)
    scanned = registered_keys([_registration(ADMIN_SIGNER, vkey, 2, DEMO, name)])
    assert (name in scanned) is not key_refused(key)


# --- entries: ingest, key registration, the audit ---------------------------------------------

ADMIN_SIGNER = LogBuilder().admin
HONEST_LOG = Ed25519Signer.from_seed(ORIGIN, bytes(32))


def _registration(
    admin: Ed25519Signer, vkey: str, seq: int, role: str, name: str | None = None
) -> bytes:
    return make_entry(
        admin,
        {
            "v": 1,
            "log": ORIGIN,
            "type": "key.registered",
            "ts": TS,
            "actor": admin.name,
            "seq": seq,
            "name": name or admin.name,
            "vkey": vkey,
            "role": role,
        },
    )


def _entry_text(actor: str) -> bytes:
    event = {"v": 1, "log": ORIGIN, "type": "demo.event", "ts": TS, "actor": actor, "seq": 1}
    return canonical_json(event | {"n": 0}) + b"\n"


@dataclass(frozen=True)
class ForgedEntry:
    case: Case
    actor: str
    data: bytes


def forged_entries() -> list[ForgedEntry]:
    """One entry per case: each speccheck case by an actor of its own, then the Wycheproof
    defects by one honest actor, its valid entry last (the others do not take its ``seq``)."""
    out = []
    for i in range(12):
        actor = f"{ORIGIN}/demo/speccheck{i}"
        text = _entry_text(actor)
        case = Case(f"speccheck {i}", *forge_speccheck(i, text), text, i in SPECCHECK_VALID)
        out.append(ForgedEntry(case, actor, sign_note(text, [Forged(actor, *case[1:3])])))
    actor = f"{ORIGIN}/demo/honest"
    text = _entry_text(actor)
    for case in sorted(transplanted_wycheproof(text), key=lambda c: c.valid):
        out.append(ForgedEntry(case, actor, sign_note(text, [Forged(actor, *case[1:3])])))
    return out


ENTRIES = forged_entries()
ENTRY_CASES = [e.case for e in ENTRIES]
ACTOR_KEYS = {e.actor: e.case.public_key for e in ENTRIES}


def registrations(admin: Ed25519Signer, first_seq: int) -> Iterator[tuple[str, bytes]]:
    """(actor, key.registered entry) per actor; ``seq`` advances past refused keys only when
    the caller's log admits them, so a refused key's registration reuses its ``seq``."""
    seq = first_seq
    for actor, public_key in ACTOR_KEYS.items():
        yield actor, _registration(admin, encode_vkey(actor, 1, public_key), seq, DEMO, actor)
        if not key_refused(public_key):
            seq += 1


def test_entry_signature_checks_follow_the_rule() -> None:
    actors = {e.case.label: e for e in ENTRIES}

    def check(c: Case) -> None:
        entry = actors[c.label]
        verify_entry_signature(parse_entry(entry.data), Ed25519Verifier(entry.actor, c.public_key))

    assert answers(check, ENTRY_CASES, EntryError, KeyFormatError) == expected(ENTRY_CASES)


def test_the_key_registry_follows_the_rule() -> None:
    # The ordered pass of ingest and of the audit: registration, then the entry's signature.
    registry = KeyRegistry(ORIGIN, pinned_admins=frozenset({ADMIN_SIGNER.vkey}))
    registry.admit(parse_entry(_registration(ADMIN_SIGNER, ADMIN_SIGNER.vkey, 1, ADMIN)))

    def admit(data: bytes) -> object:
        return registry.admit(parse_entry(data))

    for actor, data in registrations(ADMIN_SIGNER, 2):
        refused = not accepted(partial(admit, data), EntryError)
        assert refused is key_refused(ACTOR_KEYS[actor]), actor
    codes: dict[str, str] = {}
    for e in ENTRIES:
        try:
            registry.check(parse_entry(e.data))
        except EntryError as error:
            codes[e.case.label] = error.code
    assert {c.label: c.label not in codes for c in ENTRY_CASES} == expected(ENTRY_CASES)
    # each refusal is the signature's or its key's, not the format's: the forged lines parse
    for e in ENTRIES:
        if e.case.label in codes and e.case.signature:
            refused_key = key_refused(e.case.public_key)
            assert codes[e.case.label] == ("unknown_key" if refused_key else "bad_signature")


def test_ingest_workers_follow_the_rule() -> None:
    results = parse_and_verify([(e.data, e.case.public_key) for e in ENTRIES])
    given = {e.case.label: ok for e, (_entry, _error, ok) in zip(ENTRIES, results, strict=True)}
    assert given == expected(ENTRY_CASES)


@pytest.mark.parametrize("workers", [0, 1])
def test_a_centre_admits_exactly_the_entries_the_rule_accepts(tmp_path: Path, workers: int) -> None:
    root = tmp_path / "centre"
    Centre.create(root, ORIGIN, clock_ms=lambda: TS, max_age_ms=5).close()
    with Centre.open(root, clock_ms=lambda: TS, verify_workers=workers, max_age_ms=5) as centre:

        def register(fields: Mapping[str, object]) -> int:
            return centre.append(centre.admin(), "key.registered", fields)

        for actor, public_key in ACTOR_KEYS.items():
            fields = {"name": actor, "vkey": encode_vkey(actor, 1, public_key), "role": DEMO}
            refused = not accepted(partial(register, fields), EntryError)
            assert refused is key_refused(public_key), actor
        given: dict[str, bool] = {}
        futures = {}
        for e in ENTRIES:
            try:  # without workers a malformed entry is refused at once, with them by its future
                futures[e.case.label] = centre.submit_entry(e.data)
            except EntryError:
                given[e.case.label] = False
        given |= {label: accepted(f.result, EntryError) for label, f in futures.items()}
    assert given == expected(ENTRY_CASES)


def _bundle() -> tuple[LogBuilder, dict[str, int]]:
    """A bundle holding every registration and every forged entry; entry index by label."""
    log = LogBuilder()
    for _actor, data in registrations(log.admin, 2):
        log.append_bytes(data)
    index = {e.case.label: log.append_bytes(e.data) for e in ENTRIES}
    log.checkpoint()
    return log, index


def _audit_answers(report: AuditReport, index: dict[str, int]) -> dict[str, bool]:
    refused = {f.index for f in report.errors}
    return {label: i not in refused for label, i in index.items()}


def test_the_audit_follows_the_rule_in_one_process_and_with_workers() -> None:
    log, index = _bundle()
    files = log.files()
    report = check_bundle(bundle_from_files(files))
    assert _audit_answers(report, index) == expected(ENTRY_CASES)
    with ProcessSignatureCheck(workers=1, chunk=4) as pool:
        pooled = check_bundle(bundle_from_files(files), signature_check=pool)
    assert _audit_answers(pooled, index) == expected(ENTRY_CASES)
    # the refused registrations are the audit's findings too, and nothing else is
    registrations_refused = {
        f.index for f in report.errors if f.code == "schema" and "Ed25519 public key" in f.message
    }
    assert len(registrations_refused) == sum(map(key_refused, ACTOR_KEYS.values()))


def test_the_audits_order_free_signature_pass_follows_the_rule() -> None:
    log, _ = _bundle()
    keys = registered_keys(log.entries)
    datas = [e.data for e in ENTRIES]
    found = SigningKeys(keys)(datas)
    assert {e.case.label: k is not None for e, k in zip(ENTRIES, found, strict=True)} == expected(
        ENTRY_CASES
    )
    with ProcessSignatureCheck(workers=1, chunk=4) as pool:
        pooled = list(pool(datas, keys))
    # the pool leaves chunks it took itself to the ordered pass (None), so compare what it found
    assert all(k is None or e.case.valid for e, k in zip(ENTRIES, pooled, strict=True))


# --- notes of other formats: checkpoints, cosignatures, beacon, telemetry ---------------------

CP = Checkpoint(ORIGIN, 5, bytes(range(32)))
CP_TEXT = checkpoint_text(CP)


def test_notes_follow_the_rule() -> None:
    text = b'{"kind":"any note"}\n'
    cases = transplanted(text)

    def check(c: Case) -> object:
        note = sign_note(text, [Forged("k", *c[1:3])])
        return open_note(note, [Ed25519Verifier("k", c.public_key)])

    assert answers(check, cases, ExamCoreError) == expected(cases)


def test_checkpoint_signatures_follow_the_rule() -> None:
    cases = transplanted(CP_TEXT)

    def notes(c: Case) -> bytes:
        return sign_note(CP_TEXT, [Forged(ORIGIN, *c[1:3])])

    def by_log_key(c: Case) -> object:
        return verify_log_checkpoint(notes(c), Ed25519Verifier(ORIGIN, c.public_key))

    def by_policy(c: Case) -> object:
        return Policy.build(log=encode_vkey(ORIGIN, 1, c.public_key)).verify_checkpoint(notes(c))

    def by_witness(c: Case) -> object:  # a witness checks the log's signature before cosigning
        witness = CosignatureSigner.from_seed("witness.example/w", bytes(32), clock=lambda: 1)
        return cosign_checkpoint(notes(c), Ed25519Verifier(ORIGIN, c.public_key), witness)

    for path in (by_log_key, by_policy, by_witness):
        assert answers(path, cases, ExamCoreError) == expected(cases), path.__name__


def test_cosignatures_follow_the_rule() -> None:
    timestamp = 1_790_000_000
    message = cosigned_message(CP_TEXT, timestamp)
    cases = transplanted(message)
    note = sign_checkpoint(CP, [HONEST_LOG])
    name = "witness.example/w"

    def cosigned(c: Case) -> bytes:
        blob = key_id(name, SIGTYPE_COSIGNATURE_V1, c.public_key).to_bytes(4, "big")
        blob += timestamp.to_bytes(8, "big") + c.signature
        line = EM_DASH_PREFIX + name.encode() + b" " + base64.b64encode(blob) + b"\n"
        return add_cosignatures(note, [line])

    def by_quorum(c: Case) -> object:
        witness = CosignatureVerifier(name, c.public_key)
        return verify_witness_quorum(cosigned(c), HONEST_LOG.verifier, [witness], 1)

    def by_policy(c: Case) -> object:
        vkey = encode_vkey(name, SIGTYPE_COSIGNATURE_V1, c.public_key)
        policy = Policy.build(log=HONEST_LOG.vkey, witnesses=[vkey], quorum=1)
        return policy.verify_checkpoint(cosigned(c))

    for path in (by_quorum, by_policy):
        assert answers(path, cases, ExamCoreError) == expected(cases), path.__name__


def test_the_beacon_commitment_follows_the_rule() -> None:
    name = "beacon.example/b"
    body = {
        "kind": "hashchain",
        "name": name,
        "anchor": "00" * 32,
        "genesis_ms": 0,
        "period_ms": 1000,
        "rounds": 10,
    }
    text = canonical_json(body) + b"\n"
    cases = transplanted(text)

    def check(c: Case) -> object:
        note = sign_note(text, [Forged(name, *c[1:3])]).decode()
        trusted = ed25519_verifier_from_vkey(encode_vkey(name, 1, c.public_key))
        return parse_commitment("hashchain", note, [trusted])

    assert answers(check, cases, BeaconError, KeyFormatError) == expected(cases)


def test_telemetry_chunk_signatures_follow_the_rule() -> None:
    vehicle = Ed25519Signer.from_seed("v", bytes(32))
    frame = Frame(t=0, x=0, y=0, odo=0, heading=0, speed=0, gear=0, rpm=800, signals=0)
    signed = make_chunk(vehicle, bytes(16), 1, 0, [frame])
    body = signed[:-SIGNATURE_BYTES]
    cases = transplanted(parse_chunk(signed).signed_bytes)

    def check(c: Case) -> None:
        chunk = parse_chunk(body + c.signature)
        verify_chunk_signature(chunk, Ed25519Verifier("v", c.public_key))

    assert answers(check, cases, TelemetryError, KeyFormatError) == expected(cases)
