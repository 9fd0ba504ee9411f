"""Devices that misbehave on purpose, served on real pseudo-terminals: each poll ends in a
typed error within the driver's deadline, or in a reading the log can hold and the gate may
judge — never in a traceback, a hang, or evidence the log refuses.

The device is a scripted responder behind the emulator server: it answers each request (or
talks unasked) with whatever bytes the test chooses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import pytest

from devices.at_canary import MAX_REPLY
from devices.canary import CanaryDriver, canary_reading_from_frame
from devices.emulators.modbus_slave import Exchange
from devices.errors import FrameError
from devices.gate import RoomRequirements, decide_gate
from devices.gate_event import MAX_EVIDENCE, gate_fields
from devices.modbus_rtu import MAX_ADU_BYTES
from devices.monitor import ONLINE, DeviceMonitor, DeviceView
from devices.reading import MAX_EVENTS_PER_POLL, Reading
from devices.transport import SerialLink
from devices.vendor_jammer import (
    ATTRIBUTE,
    CMD_GET_RF,
    CMD_STATUS,
    HEADER_BYTES,
    MAX_SEGMENT,
    SYNC,
    VendorStatus,
    decode_frame,
    encode_frame,
    encode_status,
    find_frame,
)
from devices.vendor_jammer_driver import VendorJammerDriver
from exam_core.log.entry import MAX_ENTRY_BYTES, make_entry
from exam_core.log.note import Ed25519Signer
from tests.devices.conftest import ServeFn

FAST = 10_000_000
"""A line rate at which the emulator puts a flood on the pty at once."""


class ScriptedDevice:
    """A responder answering each chunk of requests with ``answer(data)`` (None: silence) and
    sending ``unsolicited(now)`` between them."""

    def __init__(
        self,
        answer: Callable[[bytes], bytes | None],
        unsolicited: Callable[[float], bytes] | None = None,
        protocol: str = "text",
    ) -> None:
        self.protocol = protocol
        self._answer = answer
        self._unsolicited = unsolicited

    def feed(self, data: bytes, now: float) -> list[Exchange]:
        reply = self._answer(data)
        return [] if reply is None else [Exchange(data, reply)]

    def unsolicited(self, now: float) -> bytes:
        return self._unsolicited(now) if self._unsolicited is not None else b""

    def act(self, action: str, args: Mapping[str, object]) -> None:
        raise AssertionError(f"a scripted device takes no action ({action})")


def _canary_answering(reply: bytes) -> ScriptedDevice:
    return ScriptedDevice(lambda data: reply if b"AT#JDR" in data else None)


@pytest.mark.parametrize(
    "flood",
    [b"\r\n" * 3_000, b"#JDR: OPERATIVE\r\n" * 300, b"OK\r\n" * 1_000],
    ids=["empty lines", "reports", "finals"],
)
def test_a_canary_flooding_valid_lines_is_refused_not_cited(serve: ServeFn, flood: bytes) -> None:
    # Every line is one the modem may send, and the reply ends in OK and a report: the reading
    # was accepted with all of it as its evidence, over the 4,096 bytes the log holds for a
    # cited frame, and the log refused every status and gate entry that cited it.
    server = serve(_canary_answering(flood + b"OK\r\n#JDR: JAMMED\r\n"), baudrate=FAST)
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200), response_timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(FrameError, match="flood"):
        driver.poll()
    assert time.monotonic() - started < 2.0
    driver.close()


def test_a_canary_reply_within_bounds_still_reads(serve: ServeFn) -> None:
    server = serve(_canary_answering(b"\r\n" * 10 + b"OK\r\n#JDR: JAMMED\r\n"), baudrate=FAST)
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200), response_timeout_s=0.5)
    reading = driver.poll()
    driver.close()
    assert reading.values["jammed"] == 1


def test_a_logged_canary_reply_over_the_bound_is_refused_as_the_live_one_is() -> None:
    reply = b"OK\r\n#JDR: JAMMED\r\n"
    assert canary_reading_from_frame(b"\r\n" * 100 + reply).values["jammed"] == 1
    with pytest.raises(FrameError, match="flood"):
        canary_reading_from_frame(b"\r\n" * (MAX_REPLY // 2) + reply)


STATUS = encode_status(VendorStatus(7, 12_000, 500, 30, 0x3FFFF, 0, 1, 1))
CUT = SYNC + (MAX_SEGMENT).to_bytes(2, "little") + bytes([ATTRIBUTE, CMD_STATUS]) + b"\x01\x02"
"""A status report's first bytes, announcing a 512-byte segment, and no more of it."""


class Reporter:
    """Unsolicited output: ``first``, then a status report every ``period_s``."""

    def __init__(self, first: bytes, period_s: float) -> None:
        self.first = first
        self.period_s = period_s
        self.next_at: float | None = None

    def __call__(self, now: float) -> bytes:
        if self.next_at is None:
            self.next_at = now + self.period_s
            return self.first
        if now < self.next_at:
            return b""
        self.next_at = now + self.period_s
        return STATUS


def test_a_vendor_jammer_that_stops_mid_frame_is_read_at_its_next_report(serve: ServeFn) -> None:
    # The cut frame's header announced 518 bytes: the driver waited for them, through the
    # next fifteen reports, and each poll meanwhile timed out.
    server = serve(ScriptedDevice(lambda _data: None, Reporter(CUT, 0.3)), baudrate=FAST)
    driver = VendorJammerDriver(SerialLink(server.url, baudrate=115200), report_timeout_s=2.0)
    started = time.monotonic()
    reading = driver.poll()
    assert time.monotonic() - started < 1.5
    assert reading.raw == STATUS
    assert reading.extra["state"] == "jamming"
    driver.close()


def test_a_cut_frame_before_a_whole_one_is_noise() -> None:
    whole = encode_frame(CMD_GET_RF, b"\x01\x02")
    assert find_frame(CUT + whole) == (decode_frame(whole), len(CUT + whole))
    assert find_frame(CUT + whole[:-1]) == (None, 0)  # the cut frame may still be coming
    assert find_frame(b"noise" + CUT) == (None, 5)


def test_a_vendor_jammer_flooding_reports_cannot_flood_the_log(serve: ServeFn) -> None:
    # A hundred reports between two polls were a hundred device.event entries per poll.
    server = serve(ScriptedDevice(lambda _data: None, lambda _now: STATUS * 100), baudrate=FAST)
    driver = VendorJammerDriver(SerialLink(server.url, baudrate=115200), report_timeout_s=2.0)
    logged: list[tuple[str, dict[str, object]]] = []
    monitor = DeviceMonitor("room-1/vendor", driver, lambda t, f: logged.append((t, f)))
    for _ in range(3):
        assert monitor.poll_once() is not None
    driver.close()
    events = [f for t, f in logged if t == "device.event"]
    kept = [f for f in events if f["event_type"] != 0]
    lost = [f for f in events if f["event_type"] == 0]
    assert 0 < len(kept) <= 3 * MAX_EVENTS_PER_POLL
    assert lost
    assert all(isinstance(f["value"], int) and f["value"] > 0 for f in lost)


@pytest.mark.parametrize(
    ("kind", "largest"),
    [
        ("jammer", MAX_ADU_BYTES),
        ("vendor-jammer", HEADER_BYTES + MAX_SEGMENT),
        ("canary", MAX_REPLY),
    ],
)
def test_a_gate_citing_the_largest_frames_a_driver_accepts_fits_in_an_entry(
    kind: str, largest: int
) -> None:
    # A room of MAX_EVIDENCE devices, each status the longest its driver accepts: the gate
    # entry citing them all must still be one the log takes (65,535 bytes at most).
    names = [f"room-1/device-{n:02d}" for n in range(MAX_EVIDENCE)]
    reading = Reading(kind=kind, values={}, flags={}, raw=b"\xa5" * largest)
    views = {n: DeviceView(n, kind, ONLINE, 0, reading, 0) for n in names}
    canary = kind == "canary"
    requirements = RoomRequirements(
        "room-1",
        jammers={} if canary else {n: frozenset({1}) for n in names},
        canaries=tuple(names) if canary else (),
    )
    fields = gate_fields(decide_gate(requirements, views), 1_000, exam="exam-1")
    event = {"v": 1, "log": "exam.example/c/1", "type": "device.gate", "ts": 1, "seq": 1}
    event["actor"] = "exam.example/c/1/gateway/g1"
    signer = Ed25519Signer.generate(str(event["actor"]))
    assert len(make_entry(signer, {**event, **fields})) <= MAX_ENTRY_BYTES
