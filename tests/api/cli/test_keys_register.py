"""``examctl keys register`` (keys made on devices) and ``examctl admin room``, end to end."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from api.cli.main import main
from exam_core.centre.centre import Centre, key_file_name
from exam_core.centre.keys import write_key_file
from exam_core.db.engine import make_engine
from exam_core.errors import StoreError
from exam_core.exam_day.room_rows import load_room
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer, encode_vkey
from exam_core.log.schemas.types import ADMIN
from tests.api.cli.test_log import ORIGIN, centre_dir, one_line_error, run

__all__ = ["centre_dir"]  # the fixture, re-exported for pytest

STRICT_KEYS = importlib.util.find_spec("exam_core.log.ed25519") is not None
"""Whether the log's strict Ed25519 rule (small-order, non-canonical keys) is in this tree."""


REAL_KEY = Ed25519Signer.from_seed("k", bytes(32)).public_key


def _wrong_key_id(name: str) -> str:
    vkey = encode_vkey(name, 1, REAL_KEY)
    key_id = vkey.split("+")[1]
    return vkey.replace(f"+{key_id}+", f"+{int(key_id, 16) ^ 1:08x}+", 1)


def log_size(root: Path) -> int:
    with Centre.open(root) as centre:
        return centre.store.size()


def test_a_device_key_is_registered_without_its_private_half(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = Ed25519Signer.generate(f"{ORIGIN}/tablet/T017")
    code, out, _ = run(
        capsys,
        "keys",
        "register",
        "--dir",
        str(centre_dir),
        "--role",
        "tablet",
        "--name",
        "tablet/T017",
        "--vkey",
        device.vkey,
    )
    assert code == 0
    assert out.startswith(f"registered {ORIGIN}/tablet/T017 as tablet at index ")
    with Centre.open(centre_dir) as centre:
        entry = parse_entry(centre.store.entry(centre.store.size() - 1))
        assert entry.type == "key.registered"
        registered = {"name": device.name, "vkey": device.vkey, "role": "tablet"}
        assert registered.items() <= entry.event.items()
        record = centre.sequencer.registry_view.registry.keys[device.name]
        assert record.verifier.public_key == device.public_key
        # The device signs; the centre accepts its entries.
        event = {
            "v": 1,
            "log": ORIGIN,
            "type": "exam.stopped",
            "ts": entry.ts,
            "actor": device.name,
            "seq": 1,
            "exam": "ab" * 16,
            "reason": "danger",
        }
        centre.append_entry(make_entry(device, event))
    assert not list((centre_dir / "keys").glob("*T017*"))


def _register(
    capsys: pytest.CaptureFixture[str], root: Path, name: str, vkey: str, role: str = "vehicle"
) -> tuple[int, str]:
    code, _, err = run(
        capsys,
        "keys",
        "register",
        "--dir",
        str(root),
        "--role",
        role,
        "--name",
        name,
        "--vkey",
        vkey,
    )
    return code, err


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("", "a vkey is"),
        ("not a vkey", "a vkey is"),
        (f"{ORIGIN}/vehicle/car-1+00000000+AQ==", "vkey carries no key"),
        (encode_vkey(f"{ORIGIN}/vehicle/car-1", 1, bytes(31)), "32"),
        (encode_vkey(f"{ORIGIN}/vehicle/car-1", 4, REAL_KEY), "not Ed25519"),
        (
            encode_vkey(f"{ORIGIN}/vehicle/car-2", 1, Ed25519Signer.generate("x").public_key),
            "not " + f"{ORIGIN}/vehicle/car-1",
        ),
        (_wrong_key_id(f"{ORIGIN}/vehicle/car-1"), "does not match"),
    ],
)
def test_malformed_keys_are_refused_and_nothing_is_logged(
    centre_dir: Path, capsys: pytest.CaptureFixture[str], vkey: str, message: str
) -> None:
    before = log_size(centre_dir)
    code, err = _register(capsys, centre_dir, "vehicle/car-1", vkey)
    assert code == 2
    assert message in one_line_error(err)
    assert log_size(centre_dir) == before


@pytest.mark.xfail(
    not STRICT_KEYS, reason="the strict Ed25519 key rule is not in this tree", strict=True
)
@pytest.mark.parametrize(
    "public_key",
    [
        bytes([1]) + bytes(31),  # the identity: small order
        bytes(32),  # y = 0: order 4
        bytes([0xEC]) + b"\xff" * 30 + b"\x7f",  # y = p - 1: order 2
        bytes([0xED]) + b"\xff" * 30 + b"\x7f",  # y = p: not canonical
    ],
    ids=["identity", "order-4", "order-2", "non-canonical"],
)
def test_small_order_and_non_canonical_keys_are_refused(
    centre_dir: Path, capsys: pytest.CaptureFixture[str], public_key: bytes
) -> None:
    before = log_size(centre_dir)
    code, err = _register(
        capsys, centre_dir, "vehicle/car-1", encode_vkey(f"{ORIGIN}/vehicle/car-1", 1, public_key)
    )
    assert code == 2
    one_line_error(err)
    assert log_size(centre_dir) == before


def test_a_key_is_registered_once_and_never_over_a_local_key(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = Ed25519Signer.generate(f"{ORIGIN}/vehicle/car-1")
    assert _register(capsys, centre_dir, "vehicle/car-1", device.vkey)[0] == 0
    code, err = _register(capsys, centre_dir, "vehicle/car-1", device.vkey)
    assert code == 2
    assert "already exists" in one_line_error(err)
    # A private key file of that name, never registered (a crash between file and entry):
    orphan = Ed25519Signer.generate(f"{ORIGIN}/vehicle/car-2")
    write_key_file(centre_dir / "keys" / key_file_name(orphan.name), orphan)
    other = Ed25519Signer.generate(f"{ORIGIN}/vehicle/car-2")
    code, err = _register(capsys, centre_dir, "vehicle/car-2", other.vkey)
    assert code == 2
    assert "holds a private key named" in one_line_error(err)


def test_administrator_keys_are_not_registered_this_way(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = Ed25519Signer.generate(f"{ORIGIN}/admin/a2")
    with pytest.raises(SystemExit):
        main(
            [
                "keys",
                "register",
                "--dir",
                str(centre_dir),
                "--role",
                "admin",
                "--name",
                "admin/a2",
                "--vkey",
                device.vkey,
            ]
        )
    with Centre.open(centre_dir) as centre, pytest.raises(StoreError, match="made with the centre"):
        centre.register_public_key("admin/a2", ADMIN, device.vkey)


ROOM = {
    "room": "field-1",
    "kind": "field",
    "gateway": f"{ORIGIN}/gateway/g1",
    "jammers": [{"device": "field-1/jammer", "bands": [1, 2, 3]}],
    "detectors": ["field-1/detector"],
    "canaries": ["field-1/canary"],
    "max_age_ms": 2000,
}


def test_admin_room_signs_the_configuration_and_copies_it(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room_file = tmp_path / "room.json"
    room_file.write_text(json.dumps(ROOM))
    before = log_size(centre_dir)
    code, err = run(capsys, "admin", "room", "--dir", str(centre_dir), str(room_file))[0::2]
    assert code == 2
    assert f"gateway {ORIGIN}/gateway/g1 is not a registered key" in one_line_error(err)
    assert log_size(centre_dir) == before
    gateway = Ed25519Signer.generate(f"{ORIGIN}/gateway/g1")
    assert _register(capsys, centre_dir, "gateway/g1", gateway.vkey, role="gateway")[0] == 0
    code, out, _ = run(capsys, "admin", "room", "--dir", str(centre_dir), str(room_file))
    assert code == 0
    index = int(out.split()[-1])
    with Centre.open(centre_dir) as centre:
        entry = parse_entry(centre.store.entry(index))
        assert entry.type == "room.configured"
        assert entry.actor == centre.admin().name
        with Session(make_engine(f"sqlite:///{centre_dir / 'log.db'}")) as db:
            loaded = load_room(db, "field-1")
    assert loaded is not None
    assert loaded[1] == index
    assert loaded[0].jammers == {"field-1/jammer": frozenset({1, 2, 3})}


def test_admin_room_refuses_a_revoked_or_other_role_gateway(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The words of the service's refusal (``rooms.check_room_gateway``), nothing logged."""
    tablet = Ed25519Signer.generate(f"{ORIGIN}/tablet/T1")
    assert _register(capsys, centre_dir, "tablet/T1", tablet.vkey, role="tablet")[0] == 0
    old = Ed25519Signer.generate(f"{ORIGIN}/gateway/old")
    assert _register(capsys, centre_dir, "gateway/old", old.vkey, role="gateway")[0] == 0
    with Centre.open(centre_dir) as centre:
        centre.revoke_key("gateway/old", "replaced")
    before = log_size(centre_dir)
    for gateway, why in (
        (tablet.name, f"gateway {tablet.name} is a tablet key, not a gateway key"),
        (old.name, f"gateway {old.name} is a revoked key"),
    ):
        room_file = tmp_path / "room.json"
        room_file.write_text(json.dumps(ROOM | {"gateway": gateway}))
        code, err = run(capsys, "admin", "room", "--dir", str(centre_dir), str(room_file))[0::2]
        assert code == 2
        assert why in one_line_error(err)
        assert "Traceback" not in err
    assert log_size(centre_dir) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "does not hold a JSON object"),
        ('{"room": "a", "room": "b"}', "duplicate object key"),
        (
            json.dumps({**ROOM, "jammers": []} | {"detectors": [], "canaries": []}),
            "at least one device",
        ),
        ("x" * 70_000, "the limit is 65536 bytes"),
    ],
)
def test_admin_room_refuses_bad_files(
    centre_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    room_file = tmp_path / "room.json"
    room_file.write_text(text)
    before = log_size(centre_dir)
    code, _, err = run(capsys, "admin", "room", "--dir", str(centre_dir), str(room_file))
    assert code == 2
    assert message in one_line_error(err)
    assert log_size(centre_dir) == before
