"""Modbus RTU framing: pure bytes <-> frames for the function codes our devices use.

Why our own framing rather than pymodbus (research/serial.md §2.7): the cause of every failure
is evidence for the signed log, so a reply is rejected with a precise error (CRC, other unit,
other function, exception code, wrong length), and the receiver learns a reply's length from
its first three bytes instead of from silence on the line (§1.2).

Layout (§1.1): ``[unit][function][data 0-252][CRC-16/MODBUS, low byte first]``; at most 256
bytes.  Function codes: 01/02 read bits, 03/04 read registers, 05 write one coil, 06 write one
register, 16 write several registers; an exception reply sets the top bit of the function.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.crc import crc16_modbus, modbus_crc_bytes
from devices.errors import (
    CrcError,
    ExceptionResponseError,
    FrameError,
    UnexpectedFunctionError,
    UnexpectedUnitError,
)

READ_COILS = 0x01
READ_DISCRETE_INPUTS = 0x02
READ_HOLDING_REGISTERS = 0x03
READ_INPUT_REGISTERS = 0x04
WRITE_SINGLE_COIL = 0x05
WRITE_SINGLE_REGISTER = 0x06
WRITE_MULTIPLE_REGISTERS = 0x10

READ_BITS = frozenset({READ_COILS, READ_DISCRETE_INPUTS})
READ_REGISTERS = frozenset({READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS})
SUPPORTED_FUNCTIONS = (
    READ_BITS
    | READ_REGISTERS
    | {
        WRITE_SINGLE_COIL,
        WRITE_SINGLE_REGISTER,
        WRITE_MULTIPLE_REGISTERS,
    }
)

MAX_ADU_BYTES = 256
MAX_READ_BITS = 2000
MAX_READ_REGISTERS = 125
MAX_WRITE_REGISTERS = 123
COIL_ON = 0xFF00
COIL_OFF = 0x0000

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SERVER_DEVICE_FAILURE = 0x04
SERVER_DEVICE_BUSY = 0x06


@dataclass(frozen=True)
class Request:
    """One master request; ``values`` = the written coil word (05) or register(s) (06, 16)."""

    unit: int
    function: int
    address: int
    count: int = 1
    values: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reply:
    """A decoded normal reply: read values (bits as 0/1) or the echoed write."""

    unit: int
    function: int
    values: tuple[int, ...]
    frame: bytes


def _u16(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{what} {value} does not fit in 16 bits")
    return value.to_bytes(2, "big")


def with_crc(body: bytes) -> bytes:
    """Append the CRC in wire order."""
    return body + modbus_crc_bytes(body)


def check_crc(frame: bytes) -> None:
    """Raise ``CrcError`` unless the CRC over the whole frame (CRC included) is zero.

    Raises:
        FrameError: ``frame`` is shorter than 4 bytes.
        CrcError: the CRC does not check.
    """
    if len(frame) < 4:
        raise FrameError(f"frame of {len(frame)} bytes is shorter than the 4-byte minimum")
    if crc16_modbus(frame) != 0:
        raise CrcError(f"CRC mismatch in frame {frame.hex()}")


def encode_request(request: Request) -> bytes:
    """The ADU of a request; a caller bug (bad quantity, unit) is a ``ValueError``.

    Raises:
        ValueError: the unit is outside 0-247, a quantity, address or value is out of range, a
            single write does not carry exactly one value, or the function is not supported (all
            caller bugs).
    """
    if not 0 <= request.unit <= 247:
        raise ValueError(f"unit {request.unit} outside 0-247")
    head = bytes([request.unit, request.function]) + _u16(request.address, "address")
    fc = request.function
    if fc in READ_BITS or fc in READ_REGISTERS:
        limit = MAX_READ_BITS if fc in READ_BITS else MAX_READ_REGISTERS
        if not 1 <= request.count <= limit:
            raise ValueError(f"quantity {request.count} outside 1-{limit}")
        return with_crc(head + _u16(request.count, "quantity"))
    if fc in (WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER):
        if len(request.values) != 1:
            raise ValueError("a single write carries exactly one value")
        return with_crc(head + _u16(request.values[0], "value"))
    if fc == WRITE_MULTIPLE_REGISTERS:
        n = len(request.values)
        if not 1 <= n <= MAX_WRITE_REGISTERS:
            raise ValueError(f"{n} registers outside 1-{MAX_WRITE_REGISTERS}")
        data = b"".join(_u16(v, "value") for v in request.values)
        return with_crc(head + _u16(n, "quantity") + bytes([2 * n]) + data)
    raise ValueError(f"function {fc:#04x} is not supported")


def request_length(buffer: bytes) -> int | None:
    """Length of the request at the start of ``buffer``, or None while too few bytes are known.

    Unknown function codes have no length rule; the receiver hunts for a valid CRC instead.
    """
    if len(buffer) < 2:
        return None
    fc = buffer[1]
    if fc in READ_BITS or fc in READ_REGISTERS or fc in (WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER):
        return 8
    if fc == WRITE_MULTIPLE_REGISTERS:
        return None if len(buffer) < 7 else 9 + buffer[6]
    return None


def decode_request(frame: bytes) -> Request:
    """Strictly decode one request ADU (the slave side).  Unknown functions keep their bytes.

    Quantities and values are *not* range-checked here: the device answers those with
    exception 03, which is a reply, not a framing failure.

    Raises:
        FrameError: the CRC does not check (``CrcError``) or the data bytes do not fit the
            function's layout.
    """
    check_crc(frame)
    unit, fc = frame[0], frame[1]
    body = frame[2:-2]
    if fc not in SUPPORTED_FUNCTIONS:
        return Request(unit, fc, 0, 0, tuple(body))
    if fc == WRITE_MULTIPLE_REGISTERS:
        if len(body) < 5:
            raise FrameError("write-multiple request shorter than its header")
        address = int.from_bytes(body[0:2], "big")
        count = int.from_bytes(body[2:4], "big")
        nbytes = body[4]
        data = body[5:]
        if nbytes != len(data) or nbytes != 2 * count:
            raise FrameError(f"byte count {nbytes} disagrees with quantity {count}")
        values = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, nbytes, 2))
        return Request(unit, fc, address, count, values)
    if len(body) != 4:
        raise FrameError(f"request for function {fc:#04x} has {len(body)} data bytes, not 4")
    address = int.from_bytes(body[0:2], "big")
    word = int.from_bytes(body[2:4], "big")
    if fc in (WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER):
        return Request(unit, fc, address, 1, (word,))
    return Request(unit, fc, address, word)


def encode_read_reply(unit: int, function: int, values: tuple[int, ...]) -> bytes:
    """A normal reply to a read: registers big-endian, bits LSB-first within each byte.

    Raises:
        ValueError: a register does not fit in 16 bits or the data exceeds 250 bytes (a caller bug).
    """
    if function in READ_BITS:
        packed = bytearray((len(values) + 7) // 8)
        for i, bit in enumerate(values):
            if bit:
                packed[i // 8] |= 1 << (i % 8)
        data = bytes(packed)
    else:
        data = b"".join(_u16(v, "register") for v in values)
    if len(data) > 250:
        raise ValueError("reply data longer than 250 bytes")
    return with_crc(bytes([unit, function, len(data)]) + data)


def encode_write_reply(request: Request) -> bytes:
    """A normal reply to a write: the echo of 05/06, or address and quantity for 16."""
    head = bytes([request.unit, request.function]) + _u16(request.address, "address")
    if request.function == WRITE_MULTIPLE_REGISTERS:
        return with_crc(head + _u16(request.count, "quantity"))
    return with_crc(head + _u16(request.values[0], "value"))


def encode_exception(unit: int, function: int, code: int) -> bytes:
    """An exception reply: always 5 bytes."""
    return with_crc(bytes([unit, (function | 0x80) & 0xFF, code]))


def reply_length(header: bytes) -> int:
    """Total reply length from its first three bytes (length-driven reads, §1.2).

    ``header`` = unit, function, and the byte count (reads) or first data byte (others).

    Raises:
        ValueError: ``header`` is shorter than three bytes (a caller bug).
        FrameError: the function byte names no known function (noise).
    """
    if len(header) < 3:
        raise ValueError("need the first three bytes of a reply")
    fc = header[1]
    if fc & 0x80:
        return 5
    if fc in READ_BITS or fc in READ_REGISTERS:
        return 5 + header[2]
    if fc in (WRITE_SINGLE_COIL, WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_REGISTERS):
        return 8
    raise FrameError(f"reply header {header.hex()} names no known function (noise?)")


def expected_reply_length(request: Request, header: bytes) -> int:
    """Total length of the reply to ``request`` given its first three bytes.

    The length comes from the request (as minimalmodbus does), not from the reply's own byte
    count, so a corrupted count or function byte still ends in a CRC check rather than a wait;
    only the exception bit, which a CRC check then confirms, shortens the read to 5 bytes.

    Raises:
        ValueError: ``header`` is shorter than three bytes (a caller bug).
    """
    if len(header) < 3:
        raise ValueError("need the first three bytes of a reply")
    if header[1] & 0x80:
        return 5
    fc = request.function
    if fc in READ_BITS:
        return 5 + (request.count + 7) // 8
    if fc in READ_REGISTERS:
        return 5 + 2 * request.count
    return 8


def decode_reply(request: Request, frame: bytes) -> Reply:
    """Decode the reply to ``request``, checking every field against the request.

    Order of checks: (1) CRC, so noise is reported as noise; (2) unit; (3) exception; (4)
    function; (5) length and byte count; (6) for writes, the echo equals the request.

    Raises:
        FrameError: the CRC does not check (``CrcError``), an exception reply is not 5 bytes, the
            length or byte count is wrong, or a write reply does not echo the request.
        UnexpectedUnitError: the reply comes from another unit.
        ExceptionResponseError: the device answered with a Modbus exception.
        UnexpectedFunctionError: the reply is to another function.
    """
    check_crc(frame)  # (1)
    unit, fc = frame[0], frame[1]
    if unit != request.unit:  # (2)
        raise UnexpectedUnitError(f"reply from unit {unit}, asked unit {request.unit}")
    if fc == (request.function | 0x80):  # (3)
        if len(frame) != 5:
            raise FrameError(f"exception reply of {len(frame)} bytes, not 5")
        raise ExceptionResponseError(request.function, frame[2])
    if fc != request.function:  # (4)
        raise UnexpectedFunctionError(f"reply to function {fc:#04x}, sent {request.function:#04x}")
    body = frame[2:-2]
    if fc in READ_BITS or fc in READ_REGISTERS:  # (5)
        want = (request.count + 7) // 8 if fc in READ_BITS else 2 * request.count
        asked = f"{request.count} {'bits' if fc in READ_BITS else 'registers'}"
        if len(body) != 1 + want:
            raise FrameError(
                f"reply carries {max(len(body) - 1, 0)} data bytes, expected {want} for {asked}"
            )
        if body[0] != want:
            raise FrameError(
                f"reply's byte count field says {body[0]}, expected {want} for {asked} "
                f"(its {want} data bytes came)"
            )
        data = body[1:]
        if fc in READ_BITS:
            bits = tuple((data[i // 8] >> (i % 8)) & 1 for i in range(request.count))
            return Reply(unit, fc, bits, frame)
        regs = tuple(int.from_bytes(data[i : i + 2], "big") for i in range(0, want, 2))
        return Reply(unit, fc, regs, frame)
    expected = encode_write_reply(request)  # (6)
    if frame != expected:
        raise FrameError(f"write reply {frame.hex()} does not echo the request")
    return Reply(unit, fc, request.values, frame)
