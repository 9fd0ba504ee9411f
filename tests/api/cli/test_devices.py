"""``examctl emulate``, ``devices poll`` and ``gateway`` through the real command line."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.cli.main import main
from api.gateway import Gateway, run_gateway_loop
from devices.emulators import EmulatorServer, SocketEndpoint, make_responder
from devices.errors import DeviceConfigError
from devices.gate_replayer import DeviceGatingReplayer
from devices.gateway_config import parse_gateway_config
from exam_core.audit.history import MemoryHistory
from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry


@pytest.fixture
def jammer_url() -> Iterator[str]:
    with EmulatorServer(make_responder("jammer"), SocketEndpoint()) as server:
        yield server.url


def test_poll_once_prints_one_status(jammer_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["devices", "poll", "--url", jammer_url, "--kind", "jammer", "--once"])
    assert code == 0
    status = json.loads(capsys.readouterr().out)
    assert status["kind"] == "jammer"
    assert status["state"] == "standby"
    assert status["identity"] == "JM000001"
    assert status["values"]["event_seq"] >= 1
    assert bytes.fromhex(status["raw"])[:2] == b"\x01\x04"


def test_poll_wrong_kind_is_one_line_error(
    jammer_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["devices", "poll", "--url", jammer_url, "--kind", "detector", "--unit", "1", "--once"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("examctl: error:")
    assert "device type" in err
    assert err.count("\n") == 1


def test_poll_unreachable_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["devices", "poll", "--url", str(tmp_path / "nope"), "--kind", "canary", "--once"])
    assert code == 2
    assert "cannot open" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_emulate_serves_until_terminated(tmp_path: Path) -> None:
    port = _free_port()
    scenario = tmp_path / "s.json"
    scenario.write_text('{"steps": [{"at_ms": 0, "action": "jammed"}]}')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "emulate",
            "canary",
            "--listen",
            f"socket://127.0.0.1:{port}",
            "--baud",
            "115200",
            "--scenario",
            str(scenario),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"serving canary on socket://127.0.0.1:{port}"
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "api.cli.main",
                "devices",
                "poll",
                "--url",
                f"socket://127.0.0.1:{port}",
                "--kind",
                "canary",
                "--once",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert json.loads(out)["values"]["jammed"] == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "tcp://x:1"], "socket://HOST:PORT"),
        (["--listen", "socket://127.0.0.1:1", "--faults", "boom=1"], "unknown fault"),
        (["--listen", "socket://127.0.0.1:1", "--scenario", "/nonexistent"], "cannot read"),
    ],
)
def test_emulate_bad_arguments(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["emulate", "jammer", *args]) == 2
    assert message in capsys.readouterr().err


def test_gateway_signs_device_events_into_the_log(tmp_path: Path) -> None:
    servers = [
        EmulatorServer(make_responder(kind), SocketEndpoint()).start()
        for kind in ("jammer", "detector", "canary")
    ]
    try:
        servers[0].do("start")
        servers[2].do("jammed")
        config = {
            "key": "gateway/room-1",
            "poll_ms": 10,
            "devices": [
                {"name": "room-1/jammer", "kind": "jammer", "url": servers[0].url, "baud": 115200},
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
        root = tmp_path / "centre"
        Centre.create(root, "exam.example/c/370100-01").close()
        stop = threading.Event()
        code = run_gateway_loop(
            root, parse_gateway_config(json.dumps(config).encode()), stop, cycles=3
        )
        assert code == 0
        servers[1].do("detect", {"category": "wifi-2g4", "level": -400})
        assert (
            run_gateway_loop(
                root, parse_gateway_config(json.dumps(config).encode()), stop, cycles=2
            )
            == 0
        )
    finally:
        for server in servers:
            server.stop()
    with Centre.open(root) as centre:
        entries = [parse_entry(e) for e in centre.store.entries(0, centre.store.size())]
    device = [e for e in entries if e.type.startswith("device.")]
    assert all(e.actor == "exam.example/c/370100-01/gateway/room-1" for e in device)
    types = [e.type for e in device]
    assert types.count("device.state") == 6  # ONLINE per device, once per gateway run
    gates = [e.event for e in device if e.type == "device.gate"]
    assert gates[0]["allowed"] is True
    assert gates[-1]["allowed"] is False
    assert "room-1/detector: detecting wifi-2g4" in gates[-1]["reasons"]
    assert any(e.type == "device.detection" and e.event["name"] == "wifi-2g4" for e in device)
    keys = [e for e in entries if e.type == "key.registered"]
    assert len(keys) == 2  # the admin, then the gateway key, registered once


@pytest.mark.parametrize(
    "doc",
    [
        "[]",
        "{}",
        '{"key": "g", "devices": []}',
        '{"key": "g", "devices": [{"name": "a", "kind": "toaster", "url": "x"}]}',
        '{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x", "baud": 7}]}',
        '{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x", "extra": 1}]}',
        '{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x"}], "rooms": '
        '[{"room": "r", "canaries": ["b"]}]}',
        '{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x"}], "poll_ms": 0}',
        '{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x"}, '
        '{"name": "a", "kind": "jammer", "url": "y"}]}',
    ],
)
def test_bad_gateway_configs(doc: str) -> None:
    with pytest.raises(DeviceConfigError):
        parse_gateway_config(doc.encode())


def test_gateway_without_centre(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "g.json"
    config.write_text('{"key": "g", "devices": [{"name": "a", "kind": "jammer", "url": "x"}]}')
    assert main(["gateway", "--dir", str(tmp_path / "none"), "--config", str(config)]) == 2
    assert "centre" in capsys.readouterr().err


def test_an_exam_asks_the_gate(tmp_path: Path) -> None:
    with (
        EmulatorServer(make_responder("jammer"), SocketEndpoint()) as jammer,
        EmulatorServer(make_responder("canary"), SocketEndpoint()) as canary,
    ):
        config = parse_gateway_config(
            json.dumps(
                {
                    "key": "gateway/g1",
                    "devices": [
                        {"name": "r/j", "kind": "jammer", "url": jammer.url},
                        {"name": "r/c", "kind": "canary", "url": canary.url},
                    ],
                    "rooms": [{"room": "r", "jammers": {"r/j": [1, 8]}, "canaries": ["r/c"]}],
                }
            ).encode()
        )
        root = tmp_path / "centre"
        Centre.create(root, "exam.example/c/1").close()
        with Centre.open(root) as centre:
            gateway = Gateway(centre, config)
            gateway.cycle()
            refused, _ = gateway.request_gate("r", "exam-0001")
            jammer.do("start")
            canary.do("jammed")
            gateway.cycle()
            allowed, index = gateway.request_gate("r", "exam-0002")
            open_gate = gateway.gate_now("r")
            with pytest.raises(DeviceConfigError):
                gateway.request_gate("nowhere", "exam-0003")
            jammer.do("band-alarm", {"band": 8, "alarm": "vswr"})
            # Another crew's exam ending does not let go of the room exam-0002 holds.
            gateway.end_exam("r", "exam-0001")
            gateway.cycle()  # an alarm during the exam is recorded against it
            shut_gate = gateway.gate_now("r")
            gateway.end_exam("r", "exam-0002")
            jammer.do("band-clear", {"band": 8, "alarm": "vswr"})
            gateway.cycle()
            gateway.finish()
            entry = parse_entry(centre.store.entry(index))
            later = [parse_entry(e) for e in centre.store.entries(index + 1, centre.store.size())]
            log = [parse_entry(e) for e in centre.store.entries(0, centre.store.size())]
    assert not refused.allowed
    assert "r/j: jammer is standby, not jamming" in refused.reasons
    assert "r/c: canary reports operative, not jammed" in refused.reasons
    assert allowed.allowed
    assert open_gate.allowed
    assert not shut_gate.allowed  # what the gate would decide, unsigned
    assert entry.event["exam"] == "exam-0002"
    assert entry.event["allowed"] is True
    assert {e["device"] for e in entry.event["evidence"]} == {"r/j", "r/c"}
    alarms = [(e.event["action"], e.event.get("exam")) for e in later if e.type == "device.alarm"]
    assert alarms == [("set", "exam-0002"), ("clear", None)]
    # The auditor's gating check agrees with every decision the gateway signed.
    replayer = DeviceGatingReplayer()
    gates = [i for i, e in enumerate(log) if e.type == "device.gate"]
    assert len(gates) >= 4
    for i in gates:
        assert replayer.replay(i, log[i], MemoryHistory(log)) == []


def test_gateway_command_polls_each_device_in_its_own_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "centre"
    Centre.create(root, "exam.example/c/2").close()
    with EmulatorServer(make_responder("jammer"), SocketEndpoint()) as jammer:
        jammer.do("start")
        config = tmp_path / "gateway.json"
        config.write_text(
            json.dumps(
                {
                    "key": "gateway/g2",
                    "poll_ms": 50,
                    "stale_after_ms": 200,
                    "offline_after_ms": 400,
                    "devices": [
                        {"name": "r/j", "kind": "jammer", "url": jammer.url},
                        {"name": "r/dead", "kind": "detector", "url": str(tmp_path / "gone")},
                    ],
                    "rooms": [{"room": "r", "jammers": {"r/j": [1]}, "detectors": ["r/dead"]}],
                }
            )
        )
        code = main(["gateway", "--dir", str(root), "--config", str(config), "--duration-s", "1"])
    assert code == 0
    assert "entries signed, 0 refused" in capsys.readouterr().out
    with Centre.open(root) as centre:
        entries = [parse_entry(e) for e in centre.store.entries(0, centre.store.size())]
    states = [(e.event["device"], e.event["state"]) for e in entries if e.type == "device.state"]
    assert ("r/j", "ONLINE") in states
    assert ("r/dead", "OFFLINE") in states
    assert states.count(("r/dead", "OFFLINE")) == 1
    gates = [e.event for e in entries if e.type == "device.gate"]
    assert 1 <= len(gates) <= 3  # one per change of decision, not one per period
    assert "r/dead: no status" in gates[-1]["reasons"]
    assert not any(r.startswith("r/j") for r in gates[-1]["reasons"])


def test_commands_are_read_back(jammer_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["devices", "command", "--url", jammer_url, "--kind", "jammer"]
    assert main([*base, "start"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "jamming"
    assert main([*base, "band-off", "--band", "2"]) == 0
    assert "band-2" not in json.loads(capsys.readouterr().out)["flags"]["bands"]
    assert main([*base, "ack"]) == 0
    capsys.readouterr()
    assert main([*base, "stop"]) == 0
    assert json.loads(capsys.readouterr().out)["flags"]["bands"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["arm"], "detector command"),
        (["band-on"], "needs --band"),
        (["band-on", "--band", "9"], "within 1-8"),
    ],
)
def test_command_misuse(
    jammer_url: str, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["devices", "command", "--url", jammer_url, "--kind", "jammer", *args])
    assert code == 2
    assert message in capsys.readouterr().err
