"""Hostile byte streams: the receivers never raise anything but their own errors, never loop,
and answer the next valid request once the noise has gone quiet."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.at_canary import parse_line, split_lines
from devices.emulators import CanaryModem, JammerModel, ModbusSlave, VendorJammer
from devices.errors import FrameError
from devices.modbus_rtu import READ_INPUT_REGISTERS, Request, encode_request
from devices.vendor_jammer import CMD_GET_RF, encode_frame, find_frame

STATUS = encode_request(Request(1, READ_INPUT_REGISTERS, 0x10, 12))


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_modbus_slave_survives_noise(noise: bytes) -> None:
    slave = ModbusSlave({1: JammerModel(clock=lambda: 0.0)})
    slave.feed(noise, 0.0)
    answers = slave.feed(STATUS, 1.0)  # after a silence longer than the stale gap
    assert answers[-1].request == STATUS
    assert answers[-1].reply is not None


@settings(max_examples=200)
@given(st.binary(max_size=600))
def test_vendor_frames_found_in_noise(noise: bytes) -> None:
    frame = encode_frame(CMD_GET_RF, b"\x01\x02")
    # Padding lets a sync in the noise that announces a long frame be refused by its CRC.
    buffer = noise + frame + bytes(520)
    frames = []
    while True:
        found, used = find_frame(buffer)
        buffer = buffer[used:]
        if found is None:
            break
        frames.append(found.raw)
    assert frame in frames


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_modem_lines_never_raise_foreign_errors(data: bytes) -> None:
    try:
        lines, _ = split_lines(data)
        for line in lines:
            parse_line(line)
    except FrameError:
        pass


@settings(max_examples=100)
@given(st.binary(max_size=300))
def test_emulated_modem_and_vendor_jammer_survive_noise(data: bytes) -> None:
    modem = CanaryModem()
    modem.feed(data, 0.0)
    (answer,) = modem.feed(b"\rAT\r", 0.0)[-1:]
    assert answer.reply is not None
    vendor = VendorJammer(clock=lambda: 0.0)
    vendor.feed(data, 0.0)
