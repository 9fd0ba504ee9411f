"""Operator commands to a Modbus jammer or detector, by name, each with its read-back.

Why it exists: which commands a kind of device takes, and which driver call carries each, is
device knowledge; the command line only parses the operator's words and prints the status that
follows.  Every driver call here reads its effect back (research/serial.md §5.3) and raises
``ReadbackError`` when the device did not do what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping

from devices.detector import DetectorDriver
from devices.errors import DeviceConfigError
from devices.jammer import JammerDriver
from devices.reading import DETECTOR, JAMMER, PolledDevice

ANY_KIND = "any"

COMMAND_KINDS: Mapping[str, str] = {
    "start": JAMMER,
    "stop": JAMMER,
    "ack": ANY_KIND,
    "band-on": JAMMER,
    "band-off": JAMMER,
    "arm": DETECTOR,
    "disarm": DETECTOR,
}
"""Each command name and the kind of device that takes it."""


def perform_command(driver: PolledDevice, action: str, band: int | None = None) -> None:
    """Run one named command on ``driver`` (``band`` for ``band-on``/``band-off``).

    Raises:
        DeviceConfigError: ``action`` is not a command of this kind of device
            (``band-on``/``band-off`` without a ``band``), or the device takes no commands.
        DeviceError: the command failed on the link or its readback did not confirm it.
    """
    if isinstance(driver, JammerDriver):
        if action == "start":
            driver.start()
        elif action == "stop":
            driver.stop()
        elif action == "ack":
            driver.acknowledge()
        elif action in ("band-on", "band-off") and band is not None:
            driver.set_band(band, action == "band-on")
        else:
            raise DeviceConfigError(f"{action} is not a jammer command")
    elif isinstance(driver, DetectorDriver):
        if action == "ack":
            driver.acknowledge()
        elif action in ("arm", "disarm"):
            driver.set_armed(action == "arm")
        else:
            raise DeviceConfigError(f"{action} is not a detector command")
    else:
        raise DeviceConfigError(f"a {driver.kind} takes no commands")
