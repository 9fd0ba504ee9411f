"""Serial devices of the exam room: transport, framings, drivers, monitor and gate (DESIGN §5).

Layers (STYLE §10): ``transport`` is the only importer of pyserial; ``crc``, ``modbus_rtu``,
``at_canary`` and ``vendor_jammer`` are pure bytes <-> frame; ``modbus_master``, ``jammer``,
``detector``, ``canary`` are drivers; ``monitor`` and ``gate`` (the one gate rule) decide from
what drivers read; ``gate_event`` writes and reads a decision's log fields, ``gateway_config``
parses the gateway's devices and rooms, and ``gate_replayer`` is the audit's replay of gates.
Emulators for tests, benchmarks and demonstrations live in ``devices.emulators``.
"""

from __future__ import annotations

from devices.canary import CanaryDriver
from devices.detector import DetectorDriver
from devices.errors import (
    CrcError,
    DeviceConfigError,
    DeviceError,
    ExceptionResponseError,
    FrameError,
    LinkError,
    LinkLostError,
    LocalEchoError,
    ReadbackError,
    ResponseTimeoutError,
    UnexpectedFunctionError,
    UnexpectedUnitError,
)
from devices.gate import GateDecision, RoomRequirements, decide_gate
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.monitor import DeviceMonitor, DeviceView, MonitorConfig
from devices.reading import DeviceEvent, DeviceName, PolledDevice, Reading
from devices.transport import SerialLink

__all__ = [
    "CanaryDriver",
    "CrcError",
    "DetectorDriver",
    "DeviceConfigError",
    "DeviceError",
    "DeviceEvent",
    "DeviceMonitor",
    "DeviceName",
    "DeviceView",
    "ExceptionResponseError",
    "FrameError",
    "GateDecision",
    "JammerDriver",
    "LinkError",
    "LinkLostError",
    "LocalEchoError",
    "ModbusMaster",
    "MonitorConfig",
    "PolledDevice",
    "ReadbackError",
    "Reading",
    "ResponseTimeoutError",
    "RoomRequirements",
    "SerialLink",
    "UnexpectedFunctionError",
    "UnexpectedUnitError",
    "decide_gate",
]
