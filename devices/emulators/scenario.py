"""Scripted scenarios for emulators: "band 3 VSWR alarm at t = 5 s".

A scenario file is JSON::

    {"steps": [
      {"at_ms": 5000, "action": "band-alarm", "band": 3, "alarm": "vswr"},
      {"at_ms": 8000, "action": "band-clear", "band": 3, "alarm": "vswr"},
      {"at_ms": 9000, "action": "unplug"}, {"at_ms": 11000, "action": "replug"},
      {"at_ms": 12000, "action": "faults", "spec": "bitflip=0.1,seed=3"}
    ]}

Times count from the emulator's start on its (injectable) clock.  Link actions (``unplug``,
``replug``, ``faults``) go to the server; the others to the device model, which refuses an
action it does not know.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.errors import DeviceConfigError


@dataclass(frozen=True)
class Step:
    at_ms: int
    action: str
    args: Mapping[str, object]


def parse_scenario(text: str) -> tuple[Step, ...]:
    """Parse and order the steps; malformed files are ``DeviceConfigError``."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise DeviceConfigError(f"scenario is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise DeviceConfigError('scenario must be an object with a "steps" list')
    steps = []
    for i, raw in enumerate(doc["steps"]):
        if not isinstance(raw, dict):
            raise DeviceConfigError(f"step {i} is not an object")
        at = raw.get("at_ms")
        action = raw.get("action")
        if not isinstance(at, int) or isinstance(at, bool) or at < 0:
            raise DeviceConfigError(f"step {i}: at_ms must be a non-negative integer")
        if not isinstance(action, str) or not action:
            raise DeviceConfigError(f"step {i}: action must be a string")
        args = {k: v for k, v in raw.items() if k not in ("at_ms", "action")}
        steps.append(Step(at, action, args))
    return tuple(sorted(steps, key=lambda s: s.at_ms))


def load_scenario(path: str | Path) -> tuple[Step, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DeviceConfigError(f"cannot read scenario {path}: {e}") from e
    return parse_scenario(text)
