"""The gateway runner: with every device polled in its own thread, each signed gate decision
still rests on the latest status its log holds, so the audit's gate replay finds nothing."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from api.gateway import Gateway
from devices.device_spec import DeviceSpec
from devices.emulators import EmulatorServer, SocketEndpoint, make_responder
from devices.gate import RoomRequirements
from devices.gate_replayer import DeviceGatingReplayer
from devices.gateway_config import GatewayConfig
from devices.monitor import MonitorConfig
from exam_core.audit.history import MemoryHistory
from exam_core.centre.centre import Centre
from exam_core.log.entry import parse_entry


def test_threaded_gate_decisions_rest_on_the_latest_logged_status(tmp_path: Path) -> None:
    root = tmp_path / "centre"
    Centre.create(root, "exam.example/c/9").close()
    with (
        EmulatorServer(make_responder("jammer"), SocketEndpoint()) as jammer,
        EmulatorServer(make_responder("canary"), SocketEndpoint()) as canary,
    ):
        jammer.do("start")
        canary.do("jammed")
        config = GatewayConfig(
            key="gateway/g9",
            devices=(
                DeviceSpec("r/j", "jammer", jammer.url),
                DeviceSpec("r/c", "canary", canary.url),
            ),
            rooms=(RoomRequirements("r", jammers={"r/j": frozenset({1, 2})}, canaries=("r/c",)),),
            poll_ms=10,
            # A heartbeat every few polls: many gate entries while the alarms come and go.
            monitor=MonitorConfig(heartbeat_ms=30),
        )
        with Centre.open(root) as centre:
            gateway = Gateway(centre, config)
            stop = threading.Event()
            runner = threading.Thread(target=gateway.run_threads, args=(stop,))
            runner.start()
            asked: list[bool] = []
            try:
                # The room switches between protected and not while the devices are polled.
                for device, action in [
                    (jammer, "stop"),
                    (jammer, "start"),
                    (canary, "operative"),
                    (canary, "jammed"),
                    (jammer, "band-alarm"),
                ]:
                    time.sleep(0.1)  # a few polls and gate decisions meanwhile
                    asked.append(gateway.request_gate("r", f"exam-{len(asked)}")[0].allowed)
                    device.do(
                        action, {"band": 2, "alarm": "vswr"} if action == "band-alarm" else {}
                    )
                time.sleep(0.1)
            finally:
                stop.set()
                runner.join()
                gateway.finish()
            log = [parse_entry(e) for e in centre.store.entries(0, centre.store.size())]
    assert gateway.refused == []
    gates = [i for i, e in enumerate(log) if e.type == "device.gate"]
    assert len(gates) >= 10
    assert {e.event["allowed"] for e in log if e.type == "device.gate"} == {True, False}
    replayer = DeviceGatingReplayer()
    history = MemoryHistory(log)
    findings = [f for i in gates for f in replayer.replay(i, log[i], history)]
    assert findings == []
    assert asked[0] is True
