"""The centre directory: creation, keys, appends, receipts, policy and refusals."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from exam_core.centre.centre import Centre, key_file_name
from exam_core.centre.config import CONFIG_FILE
from exam_core.centre.keys import write_key_file
from exam_core.errors import EntryError, KeyFormatError, ProofError, StoreError
from exam_core.log.checkpoint import verify_checkpoint
from exam_core.log.entry import parse_entry
from exam_core.log.note import Ed25519Signer, ed25519_verifier_from_vkey
from exam_core.log.policy import parse_policy
from exam_core.log.schemas.types import ADMIN, DEMO, Role
from exam_core.log.tlog_proof import verify_receipt
from tests.conftest import ORIGIN


def test_create_lays_out_the_centre(centre: Centre) -> None:
    root = centre.root
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700
    for key_file in (root / "keys").iterdir():
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    config = json.loads((root / CONFIG_FILE).read_text())
    assert config["origin"] == ORIGIN
    assert config["log_vkey"] == centre.log_vkey
    assert config["pinned_admins"] == [centre.admin().vkey]
    assert ed25519_verifier_from_vkey(centre.log_vkey).name == ORIGIN
    # (DESIGN §3.2) the first entry registers the administrator key, signed by it.
    genesis = parse_entry(centre.store.entry(0))
    assert genesis.type == "key.registered"
    assert genesis.actor == centre.admin().name == f"{ORIGIN}/admin"
    assert genesis.event["role"] == ADMIN
    assert centre.store.size() == 1
    verify_checkpoint(centre.store.checkpoints()[0], ed25519_verifier_from_vkey(centre.log_vkey))


def test_append_fills_common_fields_and_counts_seq(tmp_path: Path) -> None:
    with Centre.create(tmp_path / "c", ORIGIN, clock_ms=lambda: 1_700_000_000_000) as centre:
        demo = centre.register_key("demo/d1", DEMO)
        assert demo.name == f"{ORIGIN}/demo/d1"
        first = centre.append(demo, "demo.event", {"n": 7})
        second = centre.append(demo, "demo.event", {"n": 8, "note": "hello"})
        assert second == first + 1
        event = parse_entry(centre.store.entry(second)).event
        assert event == {
            "v": 1,
            "log": ORIGIN,
            "type": "demo.event",
            "ts": 1_700_000_000_000,
            "actor": demo.name,
            "seq": 2,
            "n": 8,
            "note": "hello",
        }
        assert centre.next_seq(demo.name) == 3
        with pytest.raises(RuntimeError, match="filled by the centre"):
            centre.append(demo, "demo.event", {"n": 1, "seq": 9})


def test_receipt_verifies_offline_against_the_policy(centre: Centre) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    indices = [centre.append(demo, "demo.event", {"n": n}) for n in range(5)]
    policy = parse_policy(centre.policy_text().encode())
    assert policy.admin_vkeys == (centre.admin().vkey,)
    for index in indices:
        receipt = centre.wait_receipt(index)
        cp = verify_receipt(receipt, centre.store.entry(index), policy)
        assert cp.size > index
    receipt = centre.wait_receipt(indices[0])
    with pytest.raises(ProofError):
        verify_receipt(receipt, centre.store.entry(indices[1]), policy)


def test_receipt_of_an_entry_not_yet_published_times_out(centre: Centre) -> None:
    with pytest.raises(StoreError, match="not published"):
        centre.wait_receipt(centre.store.size() + 5, timeout=0.1)
    with pytest.raises(StoreError):
        centre.wait_receipt(-1)


def test_receipts_for_entries_of_another_writer(centre: Centre) -> None:
    with Centre.open(centre.root) as other:
        demo = other.register_key("demo/other", DEMO)
        index = other.append(demo, "demo.event", {"n": 1})
    receipt = centre.wait_receipt(index, timeout=5)
    verify_receipt(receipt, centre.store.entry(index), centre.policy())


def test_registered_key_is_usable_after_reopen(centre: Centre) -> None:
    centre.register_key(f"{ORIGIN}/demo/full-name", DEMO)
    root = centre.root
    centre.close()
    with Centre.open(root) as again:
        signer = again.signer("demo/full-name")
        index = again.append(signer, "demo.event", {"n": 1})
        assert parse_entry(again.store.entry(index)).seq == 1
        with pytest.raises(KeyFormatError, match="checkpoints only"):
            again.signer(ORIGIN)


def test_refused_registration_leaves_no_key_file(centre: Centre) -> None:
    centre.register_key("demo/a", DEMO)
    path = centre.root / "keys" / key_file_name(f"{ORIGIN}/demo/a")
    path.unlink()
    size = centre.store.size()
    with pytest.raises(EntryError, match="key_exists"):
        centre.register_key("demo/a", DEMO)
    assert not path.exists()
    assert centre.store.size() == size
    with pytest.raises(StoreError, match="unknown role"):
        centre.register_key("demo/b", Role("pilot"))
    with pytest.raises(StoreError, match="invalid key name"):
        centre.register_key("has space", DEMO)


def test_existing_key_file_blocks_registration(centre: Centre) -> None:
    centre.register_key("demo/a", DEMO)
    with pytest.raises(StoreError, match="already exists"):
        centre.register_key("demo/a", DEMO)


def test_key_file_left_by_an_interrupted_registration_is_registered(centre: Centre) -> None:
    orphan = Ed25519Signer.generate(f"{ORIGIN}/demo/orphan")
    write_key_file(centre.root / "keys" / key_file_name(orphan.name), orphan)
    signer = centre.register_key("demo/orphan", DEMO)
    assert signer.vkey == orphan.vkey
    assert parse_entry(centre.store.entry(centre.store.size() - 1)).event["vkey"] == orphan.vkey


def test_revoked_key_can_no_longer_append(centre: Centre) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    centre.append(demo, "demo.event", {"n": 1})
    centre.revoke_key("demo/d1", "device stolen")
    with pytest.raises(EntryError, match="revoked_key"):
        centre.append(demo, "demo.event", {"n": 2})


def test_passphrase_protected_centre(tmp_path: Path) -> None:
    root = tmp_path / "c"
    Centre.create(root, ORIGIN, passphrase=b"s3cret", max_age_ms=5).close()
    with pytest.raises(KeyFormatError):
        Centre.open(root)
    with pytest.raises(KeyFormatError):
        Centre.open(root, passphrase=b"wrong")
    with Centre.open(root, passphrase=b"s3cret") as centre:
        demo = centre.register_key("demo/d1", DEMO)
        assert centre.append(demo, "demo.event", {"n": 1}) == 2
    assert b"ENCRYPTED" in (root / "keys" / key_file_name(f"{ORIGIN}/demo/d1")).read_bytes()


def test_create_refuses_a_used_directory_and_bad_origins(tmp_path: Path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(StoreError, match="not empty"):
        Centre.create(tmp_path / "used", ORIGIN)
    with pytest.raises(StoreError, match="invalid origin"):
        Centre.create(tmp_path / "a", "has space/x")
    with pytest.raises(StoreError, match="schema-less URL"):
        Centre.create(tmp_path / "b", "nohost")


def test_open_refuses_what_is_not_a_centre(tmp_path: Path, centre: Centre) -> None:
    with pytest.raises(StoreError, match="not a centre"):
        Centre.open(tmp_path / "nothing")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / CONFIG_FILE).write_text("{not json")
    with pytest.raises(StoreError, match="not JSON"):
        Centre.open(broken)
    (broken / CONFIG_FILE).write_text(json.dumps({"version": 1, "origin": ORIGIN}))
    with pytest.raises(StoreError, match="lacks"):
        Centre.open(broken)
    (broken / CONFIG_FILE).write_text(json.dumps({"version": 99}))
    with pytest.raises(StoreError, match="version"):
        Centre.open(broken)
    # A config whose log vkey is not the log key on disk.
    config = json.loads((centre.root / CONFIG_FILE).read_text())
    other = tmp_path / "other"
    other.mkdir()
    (other / "keys").symlink_to(centre.root / "keys")
    config["log_vkey"] = centre.admin().vkey
    (other / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(KeyFormatError, match="does not match"):
        Centre.open(other)


def test_blob_store_lives_in_the_centre(centre: Centre) -> None:
    digest = centre.blobs.put(b"photo bytes")
    assert centre.blobs.get(digest) == b"photo bytes"
    assert centre.blobs.path(digest).is_relative_to(centre.root / "blobs")


def test_refusals_in_a_burst_rewind_the_seq_to_the_first_gap(centre: Centre) -> None:
    demo = centre.register_key("demo/d1", DEMO)
    burst = [centre.submit(demo, "demo.event", {"n": n}) for n in (-1, 1, 2)]
    codes = []
    for future in burst:
        error = future.exception(30)
        codes.append(error.code if isinstance(error, EntryError) else "ok")
    assert codes[0] == "schema"
    index = centre.append(demo, "demo.event", {"n": 3})
    logged = [parse_entry(e) for e in centre.store.entries(0, index + 1)]
    seqs = [e.seq for e in logged if e.actor == demo.name]
    assert seqs == list(range(1, len(seqs) + 1))


def test_create_checks_the_database_before_writing_anything(tmp_path: Path) -> None:
    root = tmp_path / "c"
    with pytest.raises(StoreError, match="cannot migrate"):
        Centre.create(root, ORIGIN, database_url="postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert list(root.iterdir()) == []
    with pytest.raises(StoreError, match="unsupported database"):
        Centre.create(root, ORIGIN, database_url="mysql://x/y")
    assert list(root.iterdir()) == []
    Centre.create(tmp_path / "first", ORIGIN, max_age_ms=5).close()
    used = f"sqlite:///{tmp_path / 'first' / 'log.db'}"
    with pytest.raises(StoreError, match="already holds a log"):
        Centre.create(root, ORIGIN, database_url=used)
    assert list(root.iterdir()) == []
