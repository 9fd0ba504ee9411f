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

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devices.errors import DeviceConfigError
from exam_core.errors import CanonicalError, InputFileError
from exam_core.input_file import read_input_file
from exam_core.log.canonical import parse_strict_json


@dataclass(frozen=True)
class Step:
    at_ms: int
    action: str
    args: Mapping[str, object]


MAX_STEPS = 10_000
MAX_AT_MS = 366 * 86_400_000
"""A year: no emulator run is longer, and the bound keeps step times plain integers."""
MAX_SCENARIO_BYTES = 1 << 20


def parse_scenario(text: str | bytes) -> tuple[Step, ...]:
    """Parse and order the steps of a scenario file's contents (strict, integer-only JSON).

    Raises:
        DeviceConfigError: the text is not strict JSON (``parse_strict_json``: no floats, no
            integer beyond ±(2^53−1), no duplicate key, bounded nesting) or a step is malformed.
    """
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        doc = parse_strict_json(data)
    except UnicodeEncodeError as e:
        raise DeviceConfigError("scenario is not Unicode text") from e
    except CanonicalError as e:
        raise DeviceConfigError(f"scenario is not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("steps"), list):
        raise DeviceConfigError('scenario must be an object with a "steps" list')
    if len(doc["steps"]) > MAX_STEPS:
        raise DeviceConfigError(f"scenario has more than {MAX_STEPS} steps")
    steps = []
    for i, raw in enumerate(doc["steps"]):
        if not isinstance(raw, dict):
            raise DeviceConfigError(f"step {i} is not an object")
        at = raw.get("at_ms")
        action = raw.get("action")
        if not isinstance(at, int) or isinstance(at, bool) or not 0 <= at <= MAX_AT_MS:
            raise DeviceConfigError(f"step {i}: at_ms must be an integer within 0..{MAX_AT_MS}")
        if not isinstance(action, str) or not action:
            raise DeviceConfigError(f"step {i}: action must be a string")
        args = {k: v for k, v in raw.items() if k not in ("at_ms", "action")}
        steps.append(Step(at, action, args))
    return tuple(sorted(steps, key=lambda s: s.at_ms))


def load_scenario(path: str | Path) -> tuple[Step, ...]:
    """The steps of the scenario file ``path`` (a bounded regular file).

    Raises:
        DeviceConfigError: the file cannot be read or does not parse (``parse_scenario``).
    """
    try:
        data = read_input_file(path, limit=MAX_SCENARIO_BYTES, what="scenario")
    except InputFileError as e:
        raise DeviceConfigError(str(e)) from e
    return parse_scenario(data)
