"""The exception tree of ``devices``.

A failed poll must say *why* it failed (the signed log records the cause), so every way a
serial exchange can go wrong has its own class.  Foreign exceptions (``serial``, ``OSError``)
are translated in ``devices.transport`` with ``raise ... from``.

DeviceError
├── LinkError              the serial link cannot be opened or was lost
│   └── LinkLostError      the port vanished (unplugged) or closed under us
├── ResponseTimeoutError   no complete reply within the deadline
├── FrameError             a reply that is not a valid frame
│   ├── CrcError           the checksum does not match
│   ├── UnexpectedUnitError      a reply from another unit address
│   ├── UnexpectedFunctionError  a reply to another function code
│   └── LocalEchoError     the RS-485 local echo differs from what was sent (bus collision)
├── ExceptionResponseError the device answered with a Modbus exception code
├── ReadbackError          a written value did not read back
└── DeviceConfigError      a device or room description that cannot be used
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every domain error raised by ``devices``.

    ``raw`` holds the bytes that were received when the failure was found (a damaged frame,
    a partial reply), empty when there were none: they are evidence for the log too.
    """

    raw: bytes = b""


class LinkError(DeviceError):
    """The serial link cannot be opened (or is in its reconnect back-off)."""


class LinkLostError(LinkError):
    """The port vanished (USB unplug, socket closed) while in use."""


class ResponseTimeoutError(DeviceError):
    """No complete reply arrived before the deadline."""


class FrameError(DeviceError):
    """Bytes that are not a valid reply frame."""


class CrcError(FrameError):
    """The frame's checksum does not match its contents."""


class UnexpectedUnitError(FrameError):
    """A well-formed reply from a unit address other than the one asked."""


class UnexpectedFunctionError(FrameError):
    """A well-formed reply to a function code other than the one sent."""


class LocalEchoError(FrameError):
    """The local echo of a request differs from the request, or an echo came unasked."""


class ExceptionResponseError(DeviceError):
    """The device answered with a Modbus exception; ``code`` is the exception code."""

    def __init__(self, function: int, code: int) -> None:
        super().__init__(f"device answered function {function:#04x} with exception {code:#04x}")
        self.function = function
        self.code = code


class ReadbackError(DeviceError):
    """A value written to the device did not read back as written."""


class DeviceConfigError(DeviceError):
    """A device, room or fault description that cannot be used."""


def cause_name(error: DeviceError) -> str:
    """A stable short name for the cause of a failure (``crc``, ``responsetimeout``, ...)."""
    return type(error).__name__.removesuffix("Error").lower() or "device"
