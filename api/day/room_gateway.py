"""The rooms' devices and their gateway, as the exam day runs them: emulated serial devices on
pseudo-terminals, polled by the real gateway (``api.gateway``), which signs with its own key
and posts to the centre over HTTP.

Each room has a jammer (switched on), a mobile-phone detector and a jamming canary (which hears
the jammer); ``alarm`` raises a VSWR alarm on one band of a room's jammer — the gate refuses
— and ``clear`` ends it, after which the gate allows again.  ``request_gate`` is what a tablet
asks of the room's gateway before it starts an exam; it counts the refusals it gave, per room.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from api.client import CentreClient, RemoteLog
from api.day.centre_setup import GATEWAY_KEY, JAMMER_BANDS, room_devices
from api.day.device_key import device_key
from api.gateway import Gateway
from devices.emulators import EmulatorServer, PtyEndpoint, make_responder
from devices.gate import GateDecision
from devices.gateway_config import parse_gateway_config

ALARM_BAND = 3
POLL_MS = 100


class RoomGateway:
    """The gateway of ``rooms`` and their emulated devices, polling in threads until closed."""

    def __init__(
        self, client: CentreClient, key_dir: Path, tty_dir: Path, rooms: Sequence[str]
    ) -> None:
        tty_dir.mkdir(parents=True, exist_ok=True)
        self.devices: dict[str, EmulatorServer] = {}
        for room in rooms:
            for kind, name in room_devices(room).items():
                endpoint = PtyEndpoint(tty_dir / name.replace("/", "-"))
                self.devices[name] = EmulatorServer(make_responder(kind), endpoint).start()
            self.devices[room_devices(room)["jammer"]].do("start")
            self.devices[room_devices(room)["canary"]].do("jammed")
        config = parse_gateway_config(json.dumps(self._config(rooms)).encode())
        signer = device_key(key_dir, f"{client.origin()}/{GATEWAY_KEY}")
        self.log = RemoteLog(client, signer)
        self.gateway = Gateway(self.log, config)
        self.refused: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self.gateway.run_threads, args=(self._stop,), name="gateway", daemon=True
        )
        self._thread.start()

    def _config(self, rooms: Sequence[str]) -> dict[str, object]:
        devices: list[dict[str, object]] = []
        plans: list[dict[str, object]] = []
        for room in rooms:
            names = room_devices(room)
            for kind, name in names.items():
                device: dict[str, object] = {
                    "name": name,
                    "kind": kind,
                    "url": self.devices[name].url,
                }
                if kind == "detector":
                    device["unit"] = 2
                devices.append(device)
            plans.append(
                {
                    "room": room,
                    "jammers": {names["jammer"]: list(JAMMER_BANDS)},
                    "detectors": [names["detector"]],
                    "canaries": [names["canary"]],
                }
            )
        return {"key": GATEWAY_KEY, "poll_ms": POLL_MS, "devices": devices, "rooms": plans}

    def request_gate(self, room: str, exam: str) -> tuple[GateDecision, int]:
        """Decide the room's gate for ``exam`` now and sign it (``Gateway.request_gate``)."""
        decision, index = self.gateway.request_gate(room, exam)
        if not decision.allowed:
            self.refused[room] += 1
        return decision, index

    def end_exam(self, room: str, exam: str) -> None:
        self.gateway.end_exam(room, exam)

    def protected(self, room: str) -> bool:
        """Whether the room's gate would allow an exam now (nothing signed)."""
        return self.gateway.gate_now(room).allowed

    def alarm(self, room: str) -> None:
        """A VSWR alarm on band ``ALARM_BAND`` of the room's jammer: the band stops jamming."""
        self.devices[room_devices(room)["jammer"]].do(
            "band-alarm", {"band": ALARM_BAND, "alarm": "vswr"}
        )

    def clear(self, room: str) -> None:
        """The band's fault is repaired and the operator acknowledges the alarm on the jammer's
        panel (a latched alarm keeps the gate shut until acknowledged)."""
        jammer = self.devices[room_devices(room)["jammer"]]
        jammer.do("band-clear", {"band": ALARM_BAND, "alarm": "vswr"})
        jammer.do("ack")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.gateway.finish()
        self.log.close()
        for device in self.devices.values():
            device.stop()


__all__ = ["ALARM_BAND", "RoomGateway"]
