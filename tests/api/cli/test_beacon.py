"""``examctl beacon add`` through the real dispatcher: the beacon key lands in the centre's
policy (and ``centre.json``), and a bad or repeated key is refused in one line, changing
nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exam_core.centre.centre import Centre
from exam_core.centre.config import CONFIG_FILE, CentreConfig
from exam_core.errors import StoreError
from exam_core.log.note import Ed25519Signer
from exam_core.log.policy import parse_policy
from tests.api.cli.test_log import centre_dir, one_line_error, run

__all__ = ["centre_dir"]  # the fixture, shared with test_log

BEACON = Ed25519Signer.from_seed("monitor.example/beacon", bytes(32))
WITNESS_VKEY = "monitor.example/witness+bb528313+BHz9L6TxdxdzG+adZUm4urSK4LXkldC4cT7Om7gTvcy/"


def test_a_beacon_key_is_pinned_in_the_policy(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "beacon", "add", "--dir", str(centre_dir), "--vkey", BEACON.vkey)
    assert code == 0
    policy = parse_policy(out.encode())
    assert policy.beacon_vkeys == (BEACON.vkey,)
    assert f"beacon {BEACON.vkey}\n" in out
    with Centre.open(centre_dir) as centre:
        assert centre.policy() == policy
        assert centre.policy_text() == out
    # It survives naming a witness afterwards, and both are in the policy.
    code, out, _ = run(
        capsys, "witness", "add", "--dir", str(centre_dir), "--vkey", WITNESS_VKEY,
        "--url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert code == 0
    assert parse_policy(out.encode()).beacon_vkeys == (BEACON.vkey,)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        ("nonsense", "vkey"),
        (WITNESS_VKEY, "vkey"),  # a cosignature/v1 key signs no beacon commitment
    ],
)
def test_bad_beacon_keys_are_refused_in_one_line(
    centre_dir: Path, capsys: pytest.CaptureFixture[str], vkey: str, message: str
) -> None:
    before = (centre_dir / CONFIG_FILE).read_bytes()
    code, _, err = run(capsys, "beacon", "add", "--dir", str(centre_dir), "--vkey", vkey)
    assert code == 2
    assert message in one_line_error(err).lower()
    assert (centre_dir / CONFIG_FILE).read_bytes() == before


def test_a_beacon_key_pinned_twice_is_refused(
    centre_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "beacon", "add", "--dir", str(centre_dir), "--vkey", BEACON.vkey)[0] == 0
    before = (centre_dir / CONFIG_FILE).read_bytes()
    code, _, err = run(capsys, "beacon", "add", "--dir", str(centre_dir), "--vkey", BEACON.vkey)
    assert code == 2
    assert "pinned already" in one_line_error(err)
    assert (centre_dir / CONFIG_FILE).read_bytes() == before


def test_a_centre_without_beacons_keeps_its_file_and_a_bad_beacons_field_is_refused(
    centre_dir: Path,
) -> None:
    data = (centre_dir / CONFIG_FILE).read_bytes()
    assert b"beacons" not in data
    assert CentreConfig.from_json(data).to_json() == data
    body = json.loads(data)
    for bad in ("not a list", ["nonsense"], [BEACON.vkey] * 17):
        body["beacons"] = bad
        with pytest.raises(StoreError, match="beacons"):
            CentreConfig.from_json(json.dumps(body).encode())
