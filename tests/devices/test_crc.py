"""CRC-16/MODBUS against the published vectors; CRC-16/XMODEM against its catalogue check."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.crc import crc16_modbus, crc16_xmodem, modbus_crc_bytes
from tests.vector_files import VECTOR_DIR

VECTORS = json.loads((VECTOR_DIR / "modbus_vectors.json").read_text())["vectors"]


def _hex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["data_hex"][:20])
def test_modbus_vectors(vector: dict[str, str]) -> None:
    data = _hex(vector["data_hex"])
    assert crc16_modbus(data) == int(vector["crc_register"], 16)
    assert modbus_crc_bytes(data) == _hex(vector["wire_crc_bytes"])
    if vector["full_adu_hex"]:
        assert crc16_modbus(_hex(vector["full_adu_hex"])) == 0


def test_vector_file_is_complete() -> None:
    assert len(VECTORS) == 19


def test_xmodem_catalogue_check() -> None:
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert crc16_xmodem(b"") == 0


@given(st.binary(max_size=300))
def test_modbus_residue_is_zero(data: bytes) -> None:
    assert crc16_modbus(data + modbus_crc_bytes(data)) == 0
