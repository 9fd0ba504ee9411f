"""The admission rules: every refusal has its own code, and refused entries change nothing."""

from __future__ import annotations

import pytest

from exam_core.errors import EntryError
from exam_core.log.entry import Entry, make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.registry import KeyRegistry

ORIGIN = "exam.example/c/370100-01"
NOW = 1_790_000_000_000


def _event(signer: Ed25519Signer, seq: int, type_: str, **fields: object) -> dict[str, object]:
    common = {"v": 1, "log": ORIGIN, "type": type_, "ts": NOW, "actor": signer.name, "seq": seq}
    return common | fields


def _entry(signer: Ed25519Signer, seq: int, type_: str, **fields: object) -> Entry:
    return parse_entry(make_entry(signer, _event(signer, seq, type_, **fields)))


class Log:
    """A registry with an administrator and a demo key, as a fresh centre has."""

    def __init__(self, pinned: bool = False) -> None:
        self.admin = Ed25519Signer.generate(f"{ORIGIN}/admin")
        self.demo = Ed25519Signer.generate(f"{ORIGIN}/demo/d1")
        pins = frozenset({self.admin.vkey}) if pinned else None
        self.registry = KeyRegistry(ORIGIN, pinned_admins=pins)
        self.registry.admit(self.register(self.admin, "admin"), NOW)
        self.registry.admit(self.register(self.demo, "demo"), NOW)

    def register(self, key: Ed25519Signer, role: str) -> Entry:
        seq = self.registry.next_seq(self.admin.name)
        return _entry(self.admin, seq, "key.registered", name=key.name, vkey=key.vkey, role=role)

    def demo_entry(self, seq: int | None = None, **fields: object) -> Entry:
        seq = self.registry.next_seq(self.demo.name) if seq is None else seq
        return _entry(self.demo, seq, "demo.event", **({"n": 1} | fields))


def test_accepts_registered_key_and_advances_seq() -> None:
    log = Log()
    log.registry.admit(log.demo_entry(), NOW)
    log.registry.admit(log.demo_entry(), NOW)
    assert log.registry.next_seq(log.demo.name) == 3
    assert log.registry.size == 4


def _expect(code: str, log: Log, entry: Entry, now: int | None = NOW) -> None:
    size, seq = log.registry.size, log.registry.next_seq(entry.actor)
    with pytest.raises(EntryError) as caught:
        log.registry.check(entry, now)
    assert caught.value.code == code
    assert (log.registry.size, log.registry.next_seq(entry.actor)) == (size, seq)


def test_refuses_unknown_key() -> None:
    log = Log()
    stranger = Ed25519Signer.generate(f"{ORIGIN}/demo/d9")
    _expect("unknown_key", log, _entry(stranger, 1, "demo.event", n=1))


def test_refuses_bad_signature_by_an_impostor_with_the_same_name() -> None:
    log = Log()
    impostor = Ed25519Signer.generate(log.demo.name)
    _expect("bad_signature", log, _entry(impostor, 1, "demo.event", n=1))


def test_refuses_revoked_key() -> None:
    log = Log()
    seq = log.registry.next_seq(log.admin.name)
    revoke = _entry(log.admin, seq, "key.revoked", name=log.demo.name, reason="lost tablet")
    log.registry.admit(revoke, NOW)
    _expect("revoked_key", log, log.demo_entry())


def test_refuses_role_not_allowed_for_type() -> None:
    log = Log()
    _expect(
        "role_forbidden",
        log,
        _entry(
            log.demo,
            1,
            "key.registered",
            name=f"{ORIGIN}/x",
            vkey=Ed25519Signer.generate(f"{ORIGIN}/x").vkey,
            role="admin",
        ),
    )


@pytest.mark.parametrize("seq", [0, 2, 5])
def test_refuses_wrong_seq(seq: int) -> None:
    log = Log()
    if seq == 0:
        with pytest.raises(EntryError) as caught:
            log.registry.check(log.demo_entry(seq=seq), NOW)
        assert caught.value.code == "schema"  # seq starts at 1: 0 is not a valid value
        return
    _expect("bad_seq", log, log.demo_entry(seq=seq))


def test_refuses_a_replayed_entry() -> None:
    log = Log()
    entry = log.demo_entry()
    log.registry.admit(entry, NOW)
    _expect("bad_seq", log, entry)


def test_refuses_clock_skew_beyond_the_bound_only_when_a_clock_is_given() -> None:
    log = Log()
    entry = log.demo_entry()
    _expect("clock_skew", log, entry, now=NOW + 300_001)
    log.registry.check(entry, NOW + 300_000)
    log.registry.check(entry, None)


def test_refuses_entry_of_another_log() -> None:
    log = Log()
    event = _event(log.demo, 1, "demo.event", n=1) | {"log": "exam.example/c/other"}
    _expect("wrong_log", log, parse_entry(make_entry(log.demo, event)))


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"n": -1}, "schema"),
        ({"n": 1, "extra": 1}, "schema"),
        ({"note": "x"}, "schema"),
        ({"n": 1, "note": "x" * 1025}, "schema"),
    ],
)
def test_refuses_schema_violations(fields: dict[str, object], code: str) -> None:
    log = Log()
    entry = _entry(log.demo, 1, "demo.event", **fields)
    _expect(code, log, entry)


def test_refuses_unknown_type() -> None:
    log = Log()
    _expect("unknown_type", log, _entry(log.demo, 1, "demo.unheard_of"))


def test_refuses_registering_a_name_twice_and_names_outside_the_origin() -> None:
    log = Log()
    again = Ed25519Signer.generate(log.demo.name)
    _expect("key_exists", log, log.register(again, "demo"))
    outside = Ed25519Signer.generate("exam.example/c/other/demo/d1")
    _expect("schema", log, log.register(outside, "demo"))


def test_genesis_self_registration_closes_after_the_first_other_entry() -> None:
    log = Log()
    log.registry.admit(log.demo_entry(), NOW)
    late_admin = Ed25519Signer.generate(f"{ORIGIN}/admin2")
    entry = _entry(
        late_admin, 1, "key.registered", name=late_admin.name, vkey=late_admin.vkey, role="admin"
    )
    _expect("unknown_key", log, entry)


def test_pinned_policy_refuses_an_unpinned_genesis_admin() -> None:
    log = Log(pinned=True)
    rogue = Ed25519Signer.generate(f"{ORIGIN}/admin-rogue")
    fresh = KeyRegistry(ORIGIN, pinned_admins=frozenset({log.admin.vkey}))
    entry = _entry(rogue, 1, "key.registered", name=rogue.name, vkey=rogue.vkey, role="admin")
    with pytest.raises(EntryError) as caught:
        fresh.check(entry)
    assert caught.value.code == "unknown_key"


def test_pre_verified_key_must_be_the_registered_one() -> None:
    log = Log()
    entry = log.demo_entry()
    log.registry.check(entry, verified_public_key=log.demo.public_key)
    with pytest.raises(EntryError) as caught:
        log.registry.check(entry, verified_public_key=log.admin.public_key)
    assert caught.value.code == "bad_signature"
