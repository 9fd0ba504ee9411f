"""Modbus RTU framing: round trips, strict rejection of every malformation and bit flip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.errors import (
    CrcError,
    ExceptionResponseError,
    FrameError,
    UnexpectedFunctionError,
    UnexpectedUnitError,
)
from devices.modbus_rtu import (
    READ_COILS,
    READ_DISCRETE_INPUTS,
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    WRITE_MULTIPLE_REGISTERS,
    WRITE_SINGLE_COIL,
    WRITE_SINGLE_REGISTER,
    Request,
    decode_reply,
    decode_request,
    encode_exception,
    encode_read_reply,
    encode_request,
    encode_write_reply,
    reply_length,
    request_length,
    with_crc,
)

units = st.integers(1, 247)
addresses = st.integers(0, 0xFFFF)
words = st.integers(0, 0xFFFF)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    fc = draw(
        st.sampled_from(
            [
                READ_COILS,
                READ_DISCRETE_INPUTS,
                READ_HOLDING_REGISTERS,
                READ_INPUT_REGISTERS,
                WRITE_SINGLE_COIL,
                WRITE_SINGLE_REGISTER,
                WRITE_MULTIPLE_REGISTERS,
            ]
        )
    )
    unit, address = draw(units), draw(addresses)
    if fc in (READ_COILS, READ_DISCRETE_INPUTS):
        return Request(unit, fc, address, draw(st.integers(1, 2000)))
    if fc in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
        return Request(unit, fc, address, draw(st.integers(1, 125)))
    if fc == WRITE_SINGLE_COIL:
        return Request(unit, fc, address, 1, (draw(st.sampled_from([0xFF00, 0])),))
    if fc == WRITE_SINGLE_REGISTER:
        return Request(unit, fc, address, 1, (draw(words),))
    values = tuple(draw(st.lists(words, min_size=1, max_size=123)))
    return Request(unit, fc, address, len(values), values)


def _reply_for(request: Request, data: st.DataObject) -> tuple[bytes, tuple[int, ...]]:
    if request.function in (READ_COILS, READ_DISCRETE_INPUTS):
        bits = tuple(
            data.draw(st.lists(st.integers(0, 1), min_size=request.count, max_size=request.count))
        )
        return encode_read_reply(request.unit, request.function, bits), bits
    if request.function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
        regs = tuple(data.draw(st.lists(words, min_size=request.count, max_size=request.count)))
        return encode_read_reply(request.unit, request.function, regs), regs
    return encode_write_reply(request), request.values


@given(requests())
def test_request_round_trip(request: Request) -> None:
    frame = encode_request(request)
    assert request_length(frame) == len(frame)
    assert decode_request(frame) == request


@given(requests(), st.data())
def test_reply_round_trip(request: Request, data: st.DataObject) -> None:
    frame, values = _reply_for(request, data)
    assert reply_length(frame[:3]) == len(frame)
    reply = decode_reply(request, frame)
    assert reply.values == values
    assert reply.frame == frame


@given(requests(), st.data())
def test_any_single_bit_flip_in_a_reply_is_rejected(request: Request, data: st.DataObject) -> None:
    frame, _ = _reply_for(request, data)
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    damaged = bytearray(frame)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CrcError):
        decode_reply(request, bytes(damaged))


@given(requests(), st.data())
def test_any_single_bit_flip_in_a_request_is_rejected(
    request: Request, data: st.DataObject
) -> None:
    frame = encode_request(request)
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    damaged = bytearray(frame)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(CrcError):
        decode_request(bytes(damaged))


READ10 = Request(1, READ_HOLDING_REGISTERS, 0, 10)


def test_known_request_bytes() -> None:
    # research/serial.md §1.3: 01 03 00 00 00 0A -> C5 CD; spec example FC16 -> C6 F0.
    assert encode_request(READ10).hex() == "01030000000ac5cd"
    spec = Request(0x11, WRITE_MULTIPLE_REGISTERS, 1, 2, (0x000A, 0x0102))
    assert encode_request(spec).hex() == "11100001000204000a0102c6f0"


def test_exception_reply() -> None:
    frame = encode_exception(1, READ_HOLDING_REGISTERS, 2)
    assert frame.hex() == "018302c0f1"
    assert reply_length(frame[:3]) == 5
    with pytest.raises(ExceptionResponseError) as info:
        decode_reply(READ10, frame)
    assert info.value.code == 2
    assert info.value.function == READ_HOLDING_REGISTERS


def test_reply_from_other_unit() -> None:
    frame = encode_read_reply(2, READ_HOLDING_REGISTERS, (0,) * 10)
    with pytest.raises(UnexpectedUnitError):
        decode_reply(READ10, frame)


def test_reply_to_other_function() -> None:
    frame = encode_read_reply(1, READ_INPUT_REGISTERS, (0,) * 10)
    with pytest.raises(UnexpectedFunctionError):
        decode_reply(READ10, frame)


def test_reply_with_wrong_register_count() -> None:
    frame = encode_read_reply(1, READ_HOLDING_REGISTERS, (0,) * 9)
    with pytest.raises(FrameError, match="expected 20"):
        decode_reply(READ10, frame)


def test_a_wrong_byte_count_field_is_named_in_the_error() -> None:
    # The frame is as long as asked and its CRC is good, but its byte count field lies: the
    # error must say that, not "carries 20 data bytes, expected 20".
    frame = bytearray(encode_read_reply(1, READ_HOLDING_REGISTERS, (7,) * 10))
    frame[2] = 26
    with pytest.raises(FrameError) as caught:
        decode_reply(READ10, with_crc(bytes(frame[:-2])))
    assert str(caught.value) == (
        "reply's byte count field says 26, expected 20 for 10 registers (its 20 data bytes came)"
    )


def test_truncated_and_empty_replies() -> None:
    frame = encode_read_reply(1, READ_HOLDING_REGISTERS, (7,) * 10)
    for cut in range(len(frame)):
        with pytest.raises(FrameError):
            decode_reply(READ10, frame[:cut])


def test_trailing_bytes_are_rejected() -> None:
    frame = encode_read_reply(1, READ_HOLDING_REGISTERS, (7,) * 10)
    with pytest.raises(FrameError):
        decode_reply(READ10, frame + b"\x00")


def test_write_reply_must_echo() -> None:
    request = Request(1, WRITE_SINGLE_REGISTER, 0x120, 1, (3,))
    other = encode_write_reply(Request(1, WRITE_SINGLE_REGISTER, 0x120, 1, (4,)))
    with pytest.raises(FrameError, match="echo"):
        decode_reply(request, other)


def test_reply_header_of_noise() -> None:
    with pytest.raises(FrameError):
        reply_length(b"\x01\x42\x00")


def test_request_length_rules() -> None:
    assert request_length(b"\x01") is None
    assert request_length(b"\x01\x03") == 8
    assert request_length(b"\x01\x10\x00\x00\x00") is None
    assert request_length(b"\x01\x10\x00\x00\x00\x02\x04") == 13
    assert request_length(b"\x01\x2b") is None


def test_decode_request_rejects_inconsistent_write_multiple() -> None:
    bad = with_crc(bytes.fromhex("011000000002020001"))
    with pytest.raises(FrameError, match="byte count"):
        decode_request(bad)


def test_decode_request_keeps_unknown_functions() -> None:
    frame = with_crc(b"\x01\x2b\x0e\x01\x00")
    assert decode_request(frame).function == 0x2B


@pytest.mark.parametrize(
    "request_",
    [
        Request(1, READ_HOLDING_REGISTERS, 0, 0),
        Request(1, READ_HOLDING_REGISTERS, 0, 126),
        Request(1, READ_COILS, 0, 2001),
        Request(248, READ_COILS, 0, 1),
        Request(1, WRITE_SINGLE_REGISTER, 0, 1, ()),
        Request(1, WRITE_MULTIPLE_REGISTERS, 0, 124, (0,) * 124),
        Request(1, 0x2B, 0, 1),
        Request(1, WRITE_SINGLE_REGISTER, 0, 1, (0x10000,)),
    ],
)
def test_encoding_caller_bugs(request_: Request) -> None:
    with pytest.raises(ValueError):
        encode_request(request_)
