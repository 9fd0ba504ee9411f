"""Admission before sequencing: every refusal is precise and leaves no trace in the tree."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from exam_core.centre.centre import Centre
from exam_core.centre.ingest import (
    Ingest,
    entry_from_parts,
    parse_and_verify,
    parse_submission,
    signer_name,
)
from exam_core.errors import EntryError
from exam_core.log.entry import Entry, make_entry, parse_entry
from exam_core.log.merkle import leaf_hash, root_from_leaf_hashes
from exam_core.log.note import Ed25519Signer, sign_note
from exam_core.log.registry import KeyRegistry
from exam_core.log.schemas.types import DEMO, TABLET
from tests.conftest import ORIGIN


def event(signer: Ed25519Signer, seq: int, ts: int, **fields: object) -> dict[str, object]:
    return {
        "v": 1,
        "log": ORIGIN,
        "type": "demo.event",
        "ts": ts,
        "actor": signer.name,
        "seq": seq,
        **fields,
    }


def raw_entry(signer: Ed25519Signer, text: bytes) -> bytes:
    """An entry signed over arbitrary text (bypasses the canonical encoder on purpose)."""
    return sign_note(text, [signer])


def tree_state(centre: Centre) -> tuple[int, list[bytes], list[bytes], bytes]:
    store = centre.store
    size = store.size()
    return size, store.entries(0, size + 10), store.checkpoints(), store.frontier(size).root()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


Case = Callable[[Centre, Ed25519Signer], bytes]


def forge(data: bytes) -> bytes:
    """Flip one bit of the Ed25519 signature, keeping the signature line well-formed."""
    head, _, line = data[:-1].rpartition(b"\n")
    prefix, _, b64 = line.rpartition(b" ")
    blob = bytearray(base64.b64decode(b64))
    blob[-1] ^= 0x01
    return head + b"\n" + prefix + b" " + base64.b64encode(bytes(blob)) + b"\n"


def bad_signature(c: Centre, s: Ed25519Signer) -> bytes:
    return forge(make_entry(s, event(s, 1, now_ms(), n=1)))


def unknown_key(c: Centre, s: Ed25519Signer) -> bytes:
    stranger = Ed25519Signer.generate(f"{ORIGIN}/demo/stranger")
    return make_entry(stranger, event(stranger, 1, now_ms(), n=1))


def impostor_key(c: Centre, s: Ed25519Signer) -> bytes:
    impostor = Ed25519Signer.generate(s.name)  # same name, another key
    return make_entry(impostor, event(impostor, 1, now_ms(), n=1))


def revoked_key(c: Centre, s: Ed25519Signer) -> bytes:
    c.revoke_key(s.name, "tablet lost")
    return make_entry(s, event(s, 1, now_ms(), n=1))


def role_forbidden(c: Centre, s: Ed25519Signer) -> bytes:
    tablet = c.register_key("tablet/T017", TABLET)
    return make_entry(tablet, event(tablet, 1, now_ms(), n=1))


def reused_seq(c: Centre, s: Ed25519Signer) -> bytes:
    c.append_entry(make_entry(s, event(s, 1, now_ms(), n=1)))
    return make_entry(s, event(s, 1, now_ms(), n=2))


def skipped_seq(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 2, now_ms(), n=1))


def float_value(c: Centre, s: Ed25519Signer) -> bytes:
    body = json.dumps(event(s, 1, now_ms(), n=1), sort_keys=True, separators=(",", ":"))
    return raw_entry(s, body.replace('"n":1', '"n":1.5').encode() + b"\n")


def field_too_long(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 1, now_ms(), n=1, note="x" * 1025))


def entry_too_large(c: Centre, s: Ed25519Signer) -> bytes:
    body = json.dumps(event(s, 1, now_ms(), n=1, note="x" * 70_000), separators=(",", ":"))
    return raw_entry(s, body.encode() + b"\n")


def invalid_utf8(c: Centre, s: Ed25519Signer) -> bytes:
    good = make_entry(s, event(s, 1, now_ms(), n=1, note="ok"))
    return good.replace(b'"ok"', b'"\xff\xfe"')


def wrong_log(c: Centre, s: Ed25519Signer) -> bytes:
    ev = event(s, 1, now_ms(), n=1)
    ev["log"] = "exam.example/c/other"
    return make_entry(s, ev)


def clock_skew(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 1, now_ms() - 3_600_000, n=1))


def unknown_type(c: Centre, s: Ed25519Signer) -> bytes:
    ev = event(s, 1, now_ms(), n=1)
    ev["type"] = "demo.unheard_of"
    return make_entry(s, ev)


def unknown_field(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 1, now_ms(), n=1, extra=1))


def non_canonical(c: Centre, s: Ed25519Signer) -> bytes:
    body = json.dumps(event(s, 1, now_ms(), n=1), indent=1).replace("\n", "")
    return raw_entry(s, body.encode() + b"\n")


def trailing_bytes(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 1, now_ms(), n=1)) + b"junk"


def truncated(c: Centre, s: Ed25519Signer) -> bytes:
    return make_entry(s, event(s, 1, now_ms(), n=1))[:-20]


def cosigned_by_other(c: Centre, s: Ed25519Signer) -> bytes:
    text = make_entry(s, event(s, 1, now_ms(), n=1)).split(b"\n\n")[0] + b"\n"
    return sign_note(text, [s, c.admin()])


def huge_integer(c: Centre, s: Ed25519Signer) -> bytes:
    body = json.dumps(event(s, 1, now_ms(), n=1), sort_keys=True, separators=(",", ":"))
    return raw_entry(s, body.replace('"n":1', '"n":9007199254740992').encode() + b"\n")


def integer_of_5000_digits(c: Centre, s: Ed25519Signer) -> bytes:
    body = json.dumps(event(s, 1, now_ms(), n=1), sort_keys=True, separators=(",", ":"))
    return raw_entry(s, body.replace('"n":1', '"n":' + "1" * 5_000).encode() + b"\n")


CASES: list[tuple[Case, str]] = [
    (bad_signature, "bad_signature"),
    (unknown_key, "unknown_key"),
    (impostor_key, "bad_signature"),
    (revoked_key, "revoked_key"),
    (role_forbidden, "role_forbidden"),
    (reused_seq, "bad_seq"),
    (skipped_seq, "bad_seq"),
    (float_value, "malformed_event"),
    (field_too_long, "schema"),
    (entry_too_large, "too_large"),
    (invalid_utf8, "malformed_note"),
    (wrong_log, "wrong_log"),
    (clock_skew, "clock_skew"),
    (unknown_type, "unknown_type"),
    (unknown_field, "schema"),
    (non_canonical, "malformed_event"),
    (trailing_bytes, "malformed_note"),
    (truncated, "malformed_note"),
    (cosigned_by_other, "bad_signature"),
    (huge_integer, "malformed_event"),
    (integer_of_5000_digits, "malformed_event"),
]


@pytest.mark.parametrize(("make", "code"), CASES, ids=[c[0].__name__ for c in CASES])
def test_refused_entry_leaves_no_trace(centre: Centre, make: Case, code: str) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    data = make(centre, demo)
    before = tree_state(centre)
    with pytest.raises(EntryError) as refused:
        centre.append_entry(data)
    assert refused.value.code == code
    assert tree_state(centre) == before
    size = before[0]
    assert centre.store.node_hashes([(0, size)]) == {}


def test_refusal_does_not_consume_the_seq(centre: Centre) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    with pytest.raises(EntryError, match="schema"):
        centre.append(demo, "demo.event", {"n": -1})
    index = centre.append(demo, "demo.event", {"n": 1})
    entry = parse_entry(centre.store.entry(index))
    assert entry.seq == 1
    assert centre.next_seq(demo.name) == 2


def test_refusals_within_a_batch_keep_the_accepted_ones(centre: Centre) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    good = [make_entry(demo, event(demo, seq, now_ms(), n=seq)) for seq in (1, 2, 3)]
    replay = good[1]
    futures = [centre.submit_entry(d) for d in (good[0], good[1], replay, good[2])]
    indices: list[int | str] = []
    for f in futures:
        error = f.exception(timeout=30)
        indices.append(error.code if isinstance(error, EntryError) else f.result())
    base = indices[0]
    assert isinstance(base, int), base
    assert indices == [base, base + 1, "bad_seq", base + 2]
    size = centre.store.size()
    leaves = [leaf_hash(d) for d in centre.store.entries(0, size)]
    assert centre.store.entries(base, size) == good
    assert centre.store.frontier(size).root() == root_from_leaf_hashes(leaves)


def test_submission_must_be_bytes() -> None:
    with pytest.raises(EntryError, match="bytes"):
        parse_submission("not bytes")


def test_workers_parse_and_verify_and_failures_are_rechecked_in_order() -> None:
    admin = Ed25519Signer.generate(f"{ORIGIN}/admin")
    registry = KeyRegistry(ORIGIN)
    with ThreadPoolExecutor(1) as pool:
        ingest = Ingest(registry, pool)
        genesis = make_entry(
            admin,
            {
                "v": 1,
                "log": ORIGIN,
                "type": "key.registered",
                "ts": 1,
                "actor": admin.name,
                "seq": 1,
                "name": admin.name,
                "vkey": admin.vkey,
                "role": "admin",
            },
        )
        good = make_entry(admin, event(admin, 2, 1, n=1))
        forged = forge(make_entry(admin, event(admin, 2, 1, n=2)))
        # The genesis key is not registered yet: parsed by the worker, verified in order.
        [(entry, key)] = ingest.start_verification([genesis]).outcomes()
        assert isinstance(entry, Entry)
        assert key is None
        ingest.admit(entry, None, key)
        outcomes = ingest.start_verification([good, forged, b"junk", genesis[:-5]]).outcomes()
        assert [k for _, k in outcomes] == [admin.public_key, None, None, None]
        assert [o.code for o, _ in outcomes[2:] if isinstance(o, EntryError)] == [
            "malformed_note",
            "malformed_note",
        ]
        forged_entry = outcomes[1][0]
        assert isinstance(forged_entry, Entry)
        # The forged entry was not verified ahead; the ordered pass finds the precise reason.
        with pytest.raises(EntryError, match="bad_signature"):
            ingest.admit(forged_entry, None, None)
        good_entry = outcomes[0][0]
        assert isinstance(good_entry, Entry)
        ingest.admit(good_entry, None, admin.public_key)
        assert ingest.size == 2


def test_without_a_pool_submissions_are_parsed_in_place() -> None:
    ingest = Ingest(KeyRegistry(ORIGIN))
    [(outcome, key)] = ingest.start_verification([b"junk"]).outcomes()
    assert isinstance(outcome, EntryError)
    assert key is None


def test_parse_and_verify_reports_plain_values() -> None:
    signer = Ed25519Signer.generate(f"{ORIGIN}/x")
    data = make_entry(signer, event(signer, 1, 1, n=1))
    other = Ed25519Signer.generate(f"{ORIGIN}/x")
    results = parse_and_verify([(data, signer.public_key), (data, other.public_key), (b"x", None)])
    assert [ok for _, _, ok in results] == [True, False, False]
    assert results[2][0] is None
    assert results[2][1] is not None
    assert results[2][1][0] == "malformed_note"
    assert signer_name(data) == signer.name
    assert signer_name(b"no signature line") is None


def test_parse_and_verify_in_a_worker_is_a_real_check() -> None:
    signer = Ed25519Signer.generate(f"{ORIGIN}/x")
    data = make_entry(signer, event(signer, 1, 1, n=1))
    results = parse_and_verify(
        [
            (data, signer.public_key),
            (forge(data), signer.public_key),
            (data, b"short"),
        ]
    )
    assert [ok for _, _, ok in results] == [True, False, False]
    assert all(entry is not None and error is None for entry, error, _ in results)


def test_a_workers_parts_rebuild_the_entry_parse_entry_makes() -> None:
    signer = Ed25519Signer.generate(f"{ORIGIN}/x")
    entries = [
        make_entry(signer, event(signer, 1, 1, n=1)),  # the common shape, matched at once
        make_entry(signer, event(signer, 2, 1, note="épreuve")),  # not ASCII: parsed in full
        make_entry(signer, event(signer, 3, 1, items=[1, {"a": None}])),  # not flat
    ]
    results = parse_and_verify([(data, signer.public_key) for data in entries])
    for data, (parts, error, ok) in zip(entries, results, strict=True):
        assert parts is not None
        assert error is None
        assert ok
        rebuilt = entry_from_parts(data, parts)
        assert rebuilt == parse_entry(data)
        assert rebuilt.note.signatures[0].name == signer.name


def test_a_worker_checks_the_key_id_of_the_signature_line() -> None:
    signer = Ed25519Signer.generate(f"{ORIGIN}/x")
    data = make_entry(signer, event(signer, 1, 1, n=1))
    # Same name, same signature bytes, another key ID: refused as verify_entry_signature does.
    head, _, line = data.rstrip(b"\n").rpartition(b"\n")
    name, blob = line.rsplit(b" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[0] ^= 1
    other_id = head + b"\n" + name + b" " + base64.b64encode(bytes(raw)) + b"\n"
    [(parts, error, ok)] = parse_and_verify([(other_id, signer.public_key)])
    assert parts is not None
    assert error is None
    assert not ok


def _key_event(admin: Ed25519Signer, seq: int, kind: str, **fields: object) -> bytes:
    body = {"v": 1, "log": ORIGIN, "type": kind, "ts": 1_000_000, "actor": admin.name, "seq": seq}
    return make_entry(admin, body | fields)


def _admit_all(ingest: Ingest, entries: list[bytes], now: int) -> list[str | None]:
    """Each entry through a worker (here a thread) and the ordered pass; the refusal codes."""
    codes: list[str | None] = []
    for data in entries:  # one at a time: each worker sees the keys registered before it
        [(entry, key, proven)] = ingest.start_verification([data]).admissions()
        if isinstance(entry, EntryError):
            codes.append(entry.code)
            continue
        try:
            ingest.admit(entry, now, key, proven)
        except EntryError as e:
            codes.append(e.code)
        else:
            codes.append(None)
    return codes


def test_proven_entries_are_refused_and_admitted_as_the_full_check_does() -> None:
    admin = Ed25519Signer.generate(f"{ORIGIN}/admin")
    tablet = Ed25519Signer.generate(f"{ORIGIN}/t")
    gone = Ed25519Signer.generate(f"{ORIGIN}/gone")
    now = 1_000_000
    entries = [
        _key_event(admin, 1, "key.registered", name=admin.name, vkey=admin.vkey, role="admin"),
        _key_event(admin, 2, "key.registered", name=tablet.name, vkey=tablet.vkey, role=TABLET),
        _key_event(admin, 3, "key.registered", name=gone.name, vkey=gone.vkey, role=DEMO),
        make_entry(gone, event(gone, 1, now, n=1)),  # admitted
        _key_event(admin, 4, "key.revoked", name=gone.name, reason="lost"),
        make_entry(gone, event(gone, 2, now, n=2)),  # revoked_key
        make_entry(tablet, event(tablet, 1, now, n=3)),  # role_forbidden (demo.event)
        make_entry(admin, event(admin, 5, now, n=4)),  # admitted
        make_entry(admin, event(admin, 5, now, n=5)),  # bad_seq (a replay)
        make_entry(admin, event(admin, 7, now, n=6)),  # bad_seq (a gap)
        make_entry(admin, event(admin, 6, now + 400_000, n=7)),  # clock_skew
        make_entry(admin, event(admin, 6, now + 400_000, n=8) | {"log": "x.example/l"}),
        make_entry(admin, {**event(admin, 6, now, n=9), "type": "no.such"}),  # unknown_type
        forge(make_entry(admin, event(admin, 6, now, n=10))),  # bad_signature
        make_entry(admin, event(admin, 6, now - 299_000, n=11)),  # admitted
    ]
    with ThreadPoolExecutor(1) as pool:
        proving = Ingest(KeyRegistry(ORIGIN), pool)
        proven_codes = _admit_all(proving, entries, now)
    checking = Ingest(KeyRegistry(ORIGIN))
    full_codes = _admit_all(checking, entries, now)
    assert proven_codes == full_codes, proven_codes
    assert proven_codes[:3] == [None, None, None]
    assert proven_codes[3:] == [
        None,
        None,
        "revoked_key",
        "role_forbidden",
        None,
        "bad_seq",
        "bad_seq",
        "clock_skew",
        "wrong_log",
        "unknown_type",
        "bad_signature",
        None,
    ]
    assert proving.registry.state() == checking.registry.state()


def test_a_worker_proves_only_entries_of_its_log_that_pass_their_schema() -> None:
    admin = Ed25519Signer.generate(f"{ORIGIN}/admin")
    key = admin.public_key
    ok = make_entry(admin, event(admin, 2, 1, n=1))
    registration = _key_event(admin, 1, "key.registered", name=admin.name, vkey=admin.vkey)
    elsewhere = make_entry(admin, event(admin, 2, 1, n=1) | {"log": "x.example/l"})
    unknown = make_entry(admin, {**event(admin, 2, 1), "type": "no.such"})
    jobs = [(ok, key), (ok, None), (registration, key), (elsewhere, key), (unknown, key)]
    proven = [parts[4] for parts, _, _ in parse_and_verify(jobs, ORIGIN) if parts is not None]
    assert proven == ["demo.event", None, None, None, None]
    assert [parts[4] for parts, _, _ in parse_and_verify(jobs) if parts is not None] == [None] * 5
