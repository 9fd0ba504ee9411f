"""The vendor binary jammer protocol ("屏蔽器与外设通信协议 V3.0", research/domain.md §5.1).

Why it exists: installed jammers that do not speak our Modbus map send this binary status
frame instead.  This module is pure bytes <-> frame, strict like every parser of untrusted
input: wrong sync, length, attribute or CRC is a ``FrameError`` (``CrcError`` for the CRC).

Frame (little-endian)::

    A5 5A CD DC | seglen u16 | attribute 0x10 | command | payload | CRC-16/XMODEM u16
                  `-- bytes from the attribute to the end, CRC included; the CRC covers
                      attribute .. payload

A reply sets the command's top bit.  The ``0x2A`` status report carries 24 payload bytes: device
id, voltage (mV), current (mA), temperature (°C, signed), channel bitmap (u32), alarm bits,
VCO state, fan state and one reserved byte.  Replies to host commands start with a status byte
(0 ok, 1 error, 0xFF CRC error); the rest of their payload is our reading of the source, which
does not spell it out: ``0x21`` answers ``status, channel, state``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from devices.crc import crc16_xmodem
from devices.errors import CrcError, FrameError

SYNC = b"\xa5\x5a\xcd\xdc"
ATTRIBUTE = 0x10
HEADER_BYTES = 6
MIN_SEGMENT = 4
MAX_SEGMENT = 512

CMD_REBOOT = 0x14
CMD_SET_RF = 0x20
CMD_GET_RF = 0x21
CMD_SET_ATTENUATION = 0x22
CMD_GET_ATTENUATION = 0x23
CMD_DEVICE_INFO = 0x28
CMD_STATUS = 0x2A
REPLY = 0x80
CHANNELS = 18

STATUS_OK = 0
STATUS_ERROR = 1
STATUS_CRC_ERROR = 0xFF

ALARMS = (
    "low-temperature",
    "high-temperature",
    "over-voltage",
    "under-voltage",
    "over-current",
    "under-current",
)

_STATUS = struct.Struct("<IIIiIBBBB")


@dataclass(frozen=True)
class VendorFrame:
    command: int
    payload: bytes
    raw: bytes


@dataclass(frozen=True)
class VendorStatus:
    device_id: int
    voltage_mv: int
    current_ma: int
    temperature_c: int
    channels: int
    alarms: int
    vco: int
    fan: int


def encode_frame(command: int, payload: bytes = b"") -> bytes:
    """One frame; a caller bug (command or length out of range) is a ``ValueError``.

    Raises:
        ValueError: ``command`` is not a byte or ``payload`` is too long for one frame (a caller
            bug).
    """
    if not 0 <= command <= 0xFF:
        raise ValueError(f"command {command} is not a byte")
    body = bytes([ATTRIBUTE, command]) + payload
    seglen = len(body) + 2
    if seglen > MAX_SEGMENT:
        raise ValueError(f"payload of {len(payload)} bytes is too long")
    return SYNC + struct.pack("<H", seglen) + body + struct.pack("<H", crc16_xmodem(body))


def frame_length(header: bytes) -> int:
    """Total frame length from its first six bytes (length-driven reads).

    Raises:
        ValueError: ``header`` is shorter than six bytes (a caller bug).
        FrameError: the sync bytes are wrong or the segment length is out of range.
    """
    if len(header) < HEADER_BYTES:
        raise ValueError("need the six header bytes")
    if header[:4] != SYNC:
        raise FrameError(f"bad sync {header[:4].hex()}")
    seglen = struct.unpack_from("<H", header, 4)[0]
    if not MIN_SEGMENT <= seglen <= MAX_SEGMENT:
        raise FrameError(f"segment length {seglen} outside {MIN_SEGMENT}-{MAX_SEGMENT}")
    return HEADER_BYTES + int(seglen)


def decode_frame(data: bytes) -> VendorFrame:
    """Strictly decode exactly one frame.

    Raises:
        FrameError: ``data`` is too short, its length disagrees with its header, the header is bad,
            or the device attribute is not the jammer's.
        CrcError: the CRC-16/XMODEM does not check.
    """
    if len(data) < HEADER_BYTES + MIN_SEGMENT:
        raise FrameError(f"frame of {len(data)} bytes is too short")
    total = frame_length(data[:HEADER_BYTES])
    if len(data) != total:
        raise FrameError(f"frame is {len(data)} bytes, its header says {total}")
    body = data[HEADER_BYTES:-2]
    (crc,) = struct.unpack_from("<H", data, total - 2)
    if crc16_xmodem(body) != crc:
        raise CrcError(f"CRC-16/XMODEM mismatch in frame {data.hex()}")
    if body[0] != ATTRIBUTE:
        raise FrameError(f"device attribute {body[0]:#04x}, expected {ATTRIBUTE:#04x}")
    return VendorFrame(body[1], bytes(body[2:]), bytes(data))


def find_frame(buffer: bytes) -> tuple[VendorFrame | None, int]:
    """The first valid frame in ``buffer`` and how many bytes it and any noise before it used.

    Bytes before a sync are noise; a sync whose frame fails its checks is skipped.  A sync whose
    frame is not complete yet waits for its bytes, unless a complete valid frame follows it: the
    device then stopped in the middle of that frame and went on with the next, and the cut one is
    noise.  (Waiting instead for the bytes its header announced — up to 518 — blinded the
    driver to every report until they had come.)  Returns ``(None, n)`` when no complete frame
    is there yet (``n`` noise bytes may be dropped).
    """
    start = 0
    waiting: int | None = None
    while True:
        at = buffer.find(SYNC, start)
        if at < 0:
            break
        if len(buffer) - at < HEADER_BYTES:
            waiting = at if waiting is None else waiting
            break
        try:
            total = frame_length(buffer[at : at + HEADER_BYTES])
        except FrameError:
            start = at + 1
            continue
        if len(buffer) - at < total:
            waiting = at if waiting is None else waiting
            start = at + 1
            continue
        try:
            return decode_frame(buffer[at : at + total]), at + total
        except FrameError:
            start = at + 1
    if waiting is not None:
        return None, waiting
    return None, max(0, len(buffer) - (len(SYNC) - 1))


def decode_status(frame: VendorFrame) -> VendorStatus:
    """The ``0x2A`` status report (24 payload bytes).

    Raises:
        FrameError: ``frame`` is not a status report or its payload is not 24 bytes.
    """
    if frame.command != CMD_STATUS:
        raise FrameError(f"command {frame.command:#04x} is not a status report")
    if len(frame.payload) != _STATUS.size:
        raise FrameError(f"status payload of {len(frame.payload)} bytes, expected {_STATUS.size}")
    dev, mv, ma, temp, channels, alarms, vco, fan, _reserved = _STATUS.unpack(frame.payload)
    return VendorStatus(dev, mv, ma, temp, channels, alarms, vco, fan)


def encode_status(status: VendorStatus) -> bytes:
    return encode_frame(
        CMD_STATUS,
        _STATUS.pack(
            status.device_id,
            status.voltage_mv,
            status.current_ma,
            status.temperature_c,
            status.channels,
            status.alarms,
            status.vco,
            status.fan,
            0,
        ),
    )


def reply_status(frame: VendorFrame, command: int) -> bytes:
    """Check that ``frame`` replies to ``command`` with status ok; return the rest.

    Raises:
        FrameError: ``frame`` does not answer ``command``, carries no status byte, or the device
            refused the command.
        CrcError: the device reports that our command arrived with a bad CRC.
    """
    if frame.command != (command | REPLY):
        raise FrameError(f"reply {frame.command:#04x} does not answer {command:#04x}")
    if not frame.payload:
        raise FrameError("reply without a status byte")
    if frame.payload[0] == STATUS_CRC_ERROR:
        raise CrcError("the device reports a CRC error in our command")
    if frame.payload[0] != STATUS_OK:
        raise FrameError(f"the device refused command {command:#04x}")
    return frame.payload[1:]
