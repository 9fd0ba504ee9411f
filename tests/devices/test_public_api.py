"""The public surface of ``devices`` is what ``__all__`` names, and it all resolves."""

from __future__ import annotations

import devices
import devices.emulators


def test_devices_api() -> None:
    assert sorted(devices.__all__) == sorted(
        [
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
    )
    for name in devices.__all__:
        assert getattr(devices, name) is not None


def test_emulators_api() -> None:
    for name in devices.emulators.__all__:
        assert getattr(devices.emulators, name) is not None
    assert "make_responder" in devices.emulators.__all__


def test_every_error_is_a_device_error() -> None:
    for name in devices.__all__:
        value = getattr(devices, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, devices.DeviceError)
