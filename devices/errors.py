"""The exception tree of ``devices``.

DeviceError
├── LinkError              the serial link cannot be opened or was lost
│   └── LinkLostError      the port vanished (unplugged) or closed under us
├── TimeoutError_          no complete reply within the deadline
├── FrameError             a reply that is not a valid frame
│   ├── CrcError           the checksum does not match
│   ├── UnexpectedUnitError      a reply from another unit address
│   └── UnexpectedFunctionError  a reply to another function code
├── ExceptionResponseError the device answered with a Modbus exception code
└── ReadbackError          a written value did not read back
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base of every domain error raised by ``devices``."""
