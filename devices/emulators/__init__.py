"""Emulated jammer, detector and canary, served on a pty or ``socket://`` with fault injection."""

from __future__ import annotations

import time
from collections.abc import Callable

from devices.emulators.canary_model import CanaryModem
from devices.emulators.detector_model import DetectorModel
from devices.emulators.faults import FaultInjector, FaultSpec
from devices.emulators.jammer_model import JammerModel
from devices.emulators.modbus_slave import ModbusSlave
from devices.emulators.scenario import Step, load_scenario, parse_scenario
from devices.emulators.server import EmulatorServer, PtyEndpoint, Responder, SocketEndpoint
from devices.emulators.vendor_jammer_model import VendorJammer
from devices.errors import DeviceConfigError
from devices.register_map import DETECTOR_UNIT, JAMMER_UNIT

__all__ = [
    "CanaryModem",
    "DetectorModel",
    "EmulatorServer",
    "FaultInjector",
    "FaultSpec",
    "JammerModel",
    "ModbusSlave",
    "PtyEndpoint",
    "Responder",
    "SocketEndpoint",
    "Step",
    "VendorJammer",
    "load_scenario",
    "make_responder",
    "parse_scenario",
]


def make_responder(
    kind: str, *, unit: int | None = None, clock: Callable[[], float] = time.monotonic
) -> Responder:
    """The emulated device of ``kind`` (``jammer``, ``detector``, ``canary``, ``vendor-jammer``).

    Raises:
        DeviceConfigError: no emulator exists for ``kind``.
    """
    if kind == "jammer":
        u = JAMMER_UNIT if unit is None else unit
        return ModbusSlave({u: JammerModel(clock, unit=u)})
    if kind == "detector":
        u = DETECTOR_UNIT if unit is None else unit
        return ModbusSlave({u: DetectorModel(clock, unit=u)})
    if kind == "canary":
        return CanaryModem()
    if kind == "vendor-jammer":
        return VendorJammer(clock)
    raise DeviceConfigError(f"no emulator for device kind {kind!r}")
