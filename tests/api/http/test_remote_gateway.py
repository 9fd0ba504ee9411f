"""``examctl gateway --centre-url``: the room's gateway posts its signed device entries to the
centre over HTTP, with a key made on the gateway's machine, instead of opening the database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from devices.emulators import EmulatorServer, SocketEndpoint, make_responder
from exam_core.centre.centre import KEYS_DIR, Centre, key_file_name
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import GATEWAY
from tests.api.http.served import REPO, Served
from tests.conftest import ORIGIN, assert_log_sound

GATEWAY_KEY = "gateway/room-1"


def examctl(args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "api.cli.main", *args]
    env = {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_the_gateway_signs_into_a_served_centre(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "centre"
    with Centre.create(root, ORIGIN, database_url=db_url) as centre:
        centre.register_key(GATEWAY_KEY, GATEWAY)
        vkey = centre.log_vkey
    # The key stays on the gateway's machine; only its public half is registered.
    key_file = tmp_path / "gateway.pem"
    key_file.write_bytes((root / KEYS_DIR / key_file_name(f"{ORIGIN}/{GATEWAY_KEY}")).read_bytes())
    key_file.chmod(0o600)
    servers = [
        EmulatorServer(make_responder(kind), SocketEndpoint()).start()
        for kind in ("jammer", "detector", "canary")
    ]
    served = Served(root, 0, "--batch-ms", "5")
    try:
        servers[0].do("start")
        servers[2].do("jammed")
        config = {
            "key": GATEWAY_KEY,
            "poll_ms": 10,
            "devices": [
                {"name": "room-1/jammer", "kind": "jammer", "url": servers[0].url},
                {"name": "room-1/detector", "kind": "detector", "url": servers[1].url},
                {"name": "room-1/canary", "kind": "canary", "url": servers[2].url},
            ],
            "rooms": [
                {
                    "room": "room-1",
                    "jammers": {"room-1/jammer": [1, 2, 3]},
                    "detectors": ["room-1/detector"],
                    "canaries": ["room-1/canary"],
                }
            ],
        }
        config_file = tmp_path / "gateway.json"
        config_file.write_text(json.dumps(config))
        command = ["gateway", "--centre-url", served.url, "--key", str(key_file)]
        command += ["--config", str(config_file), "--cycles", "4"]
        run = examctl(command)
        assert run.returncode == 0, run.stderr
        assert "0 refused" in run.stdout
        # Without its key, or with a key the centre does not know, it says so in one line.
        stranger = tmp_path / "stranger.pem"
        with Centre.create(tmp_path / "other", ORIGIN) as other:
            other.register_key(GATEWAY_KEY, GATEWAY)
            stranger.write_bytes(
                (
                    tmp_path / "other" / KEYS_DIR / key_file_name(f"{ORIGIN}/{GATEWAY_KEY}")
                ).read_bytes()
            )
        stranger.chmod(0o600)
        refused = examctl([*command[:4], str(stranger), *command[5:]])
        assert refused.returncode == 1
        assert "entry-bad-signature" in refused.stderr
        assert "Traceback" not in refused.stderr
        missing_key = examctl(command[:3] + command[5:])
        assert missing_key.returncode == 2
        assert missing_key.stderr.startswith("examctl: error: --centre-url needs --key")
    finally:
        code, err = served.stop()
        for server in servers:
            server.stop()
    assert code == 0, err
    entries = [parse_entry(e) for e in assert_log_sound(db_url, vkey)]
    device = [e for e in entries if e.type.startswith("device.")]
    assert device, "no device entry reached the log"
    assert all(e.actor == f"{ORIGIN}/{GATEWAY_KEY}" for e in device)
    assert [e.type for e in device].count("device.state") == 3
    gates = [e.event for e in device if e.type == "device.gate"]
    assert gates[0]["allowed"] is True
