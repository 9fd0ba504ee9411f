"""The vendor binary jammer protocol: the published sample frame, strict parsing, the driver."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.emulators import VendorJammer
from devices.errors import CrcError, DeviceError, FrameError
from devices.transport import SerialLink
from devices.vendor_jammer import (
    CMD_STATUS,
    VendorStatus,
    decode_frame,
    decode_status,
    encode_frame,
    encode_status,
    find_frame,
    frame_length,
)
from devices.vendor_jammer_driver import VendorJammerDriver
from tests.devices.conftest import ManualClock, ServeFn, TickingClock

# research/domain.md §5.1 quotes the class's sample as "A5 5A CD DC 1C 00 10 2A ... 01 00 1A 29"
# and its decoded fields; with alarm and VCO bytes 0 these bytes are the only completion whose
# CRC-16/XMODEM over bytes 6..31 is the quoted 0x291A.
SAMPLE = bytes.fromhex("a55acddc1c00102aa4b69d57bc5d0000970000002b00000000007800000001001a29")


def test_sample_frame_decodes() -> None:
    frame = decode_frame(SAMPLE)
    assert frame.command == CMD_STATUS
    status = decode_status(frame)
    assert status == VendorStatus(
        device_id=0x579DB6A4,
        voltage_mv=23996,
        current_ma=151,
        temperature_c=43,
        channels=0x00780000,
        alarms=0,
        vco=0,
        fan=1,
    )
    assert encode_status(status) == SAMPLE


@given(st.integers(0, 255), st.binary(max_size=64))
def test_round_trip(command: int, payload: bytes) -> None:
    frame = encode_frame(command, payload)
    assert frame_length(frame[:6]) == len(frame)
    decoded = decode_frame(frame)
    assert (decoded.command, decoded.payload) == (command, payload)


@given(st.binary(max_size=40), st.data())
def test_any_single_bit_flip_is_rejected(payload: bytes, data: st.DataObject) -> None:
    frame = encode_frame(CMD_STATUS, payload)
    bit = data.draw(st.integers(0, len(frame) * 8 - 1))
    damaged = bytearray(frame)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(FrameError):
        decode_frame(bytes(damaged))


def test_crc_error_is_typed() -> None:
    damaged = bytearray(SAMPLE)
    damaged[12] ^= 0x01
    with pytest.raises(CrcError):
        decode_frame(bytes(damaged))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        SAMPLE[:-1],
        SAMPLE + b"\x00",
        b"\xa5\x5a\xcd\xdd" + SAMPLE[4:],
        SAMPLE[:4] + b"\x01\x00" + SAMPLE[6:],
        SAMPLE[:4] + b"\xff\xff" + SAMPLE[6:],
        encode_frame(CMD_STATUS, b"\x00")[:6] + b"\x11" + encode_frame(CMD_STATUS, b"\x00")[7:],
    ],
)
def test_malformed_frames(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_frame(data)


def test_status_payload_length_is_strict() -> None:
    with pytest.raises(FrameError):
        decode_status(decode_frame(encode_frame(CMD_STATUS, b"\x00" * 23)))
    with pytest.raises(FrameError):
        decode_status(decode_frame(encode_frame(0x21, b"\x00" * 24)))


def test_find_frame_skips_noise_and_bad_frames() -> None:
    bad = bytearray(SAMPLE)
    bad[-1] ^= 0xFF
    buffer = b"\x00\xa5\x5a" + bytes(bad) + b"\x13" + SAMPLE + SAMPLE[:10]
    frame, used = find_frame(buffer)
    assert frame is not None
    assert frame.raw == SAMPLE
    assert buffer[used:] == SAMPLE[:10]
    assert find_frame(SAMPLE[:10]) == (None, 0)
    assert find_frame(b"\x01\x02\x03\x04\x05") == (None, 2)


def test_driver_against_emulator(serve: ServeFn, clock: ManualClock) -> None:
    device = VendorJammer(clock, period_s=1.0)
    server = serve(device, clock=clock)
    driver = VendorJammerDriver(SerialLink(server.url, baudrate=115200), report_timeout_s=1.0)
    reading = driver.poll()
    assert reading.values["device_id"] == 0x579DB6A4
    assert reading.flags["bands"] == {f"channel-{n}" for n in range(1, 19)}
    driver.set_channel(3, False)
    server.do("alarm", {"alarm": "high-temperature"})
    clock.advance(1.0)
    reading = driver.poll()
    assert "channel-3" not in reading.flags["bands"]
    assert reading.flags["alarm"] == {"high-temperature"}
    assert device.acks >= 1  # the first report was acknowledged (the second may be in flight)
    with pytest.raises(ValueError):
        driver.set_channel(19, True)


def test_driver_times_out_without_reports(serve: ServeFn, clock: ManualClock) -> None:
    server = serve(VendorJammer(clock, period_s=1.0), clock=clock)
    # The report deadline is on the driver's fake clock: a minute passes in six waits for a
    # frame, each a few reads of the line (whose own clock moves one read slice per look).
    ticking = TickingClock(step=10.0)
    link = SerialLink(server.url, baudrate=115200, clock=TickingClock(step=0.01))
    driver = VendorJammerDriver(link, report_timeout_s=60.0, clock=ticking)
    driver.poll()
    start = ticking.now
    with pytest.raises(DeviceError, match="no status report"):
        driver.poll()  # the injected clock did not move: no new report is due
    assert ticking.now - start >= 60.0
