"""The two checksums our serial protocols use, table-driven and checked against published vectors.

CRC-16/MODBUS protects Modbus RTU frames (research/serial.md §1.3); CRC-16/XMODEM protects the
vendor jammer's binary frames (research/domain.md §5.1).  Both are pure functions of bytes.
"""

from __future__ import annotations


def _reflected_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


def _normal_table(poly: int) -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_MODBUS_TABLE = _reflected_table(0xA001)
_XMODEM_TABLE = _normal_table(0x1021)


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS register (init 0xFFFF, reflected poly 0xA001); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _MODBUS_TABLE[(crc ^ byte) & 0xFF]
    return crc


def modbus_crc_bytes(data: bytes) -> bytes:
    """The two CRC bytes in wire order (low byte first)."""
    return crc16_modbus(data).to_bytes(2, "little")


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, not reflected)."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _XMODEM_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc
