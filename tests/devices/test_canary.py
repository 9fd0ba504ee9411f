"""The jamming canary: strict AT line parsing, and the driver against the emulated modem."""

from __future__ import annotations

import time

import pytest

from devices.at_canary import (
    FinalResult,
    JdrReport,
    JdrSettings,
    encode_command,
    jdr_set_command,
    parse_line,
    split_lines,
)
from devices.canary import CanaryDriver
from devices.emulators import CanaryModem
from devices.errors import DeviceError, FrameError
from devices.transport import SerialLink
from tests.devices.conftest import ServeFn


def test_parse_lines() -> None:
    lines, rest = split_lines(b"AT#JDR=2,63,128\r\r\nOK\r\n\r\n#JDR: JAMMED\r\n#JDR: 2,6")
    assert lines == ["AT#JDR=2,63,128", "OK", "#JDR: JAMMED"]
    assert rest == b"#JDR: 2,6"
    assert parse_line("OK") == FinalResult(True, "OK")
    assert parse_line("+CME ERROR: 10") == FinalResult(False, "+CME ERROR: 10")
    assert parse_line("#JDR: OPERATIVE") == JdrReport(False)
    assert parse_line("#JDR: 2,63,128") == JdrSettings(2, 63, 128)


@pytest.mark.parametrize(
    "line", ["#JDR: JAMMEE", "OK ", "#JDR: 2,200,1", "#JDR: 6,1,1", "RING", "#jdr: jammed"]
)
def test_unknown_lines_are_refused(line: str) -> None:
    with pytest.raises(FrameError):
        parse_line(line)


@pytest.mark.parametrize("data", [b"OK\x00\r\n", b"\xffOK\r\n", b"A" * 129 + b"\r", b"A" * 129])
def test_hostile_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(FrameError):
        split_lines(data)


def test_command_encoding() -> None:
    assert encode_command(jdr_set_command(2, 63, 128)) == b"AT#JDR=2,63,128\r"
    with pytest.raises(ValueError):
        encode_command("ATD\r112")
    with pytest.raises(ValueError):
        jdr_set_command(2, 128, 0)


@pytest.mark.parametrize("transport", ["pty", "socket"])
def test_driver_reads_jammed_and_operative(serve: ServeFn, transport: str) -> None:
    server = serve(CanaryModem(), transport=transport)
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200))
    assert driver.poll().values["jammed"] == 0
    server.do("jammed")
    reading = driver.poll()
    assert reading.values["jammed"] == 1
    assert b"#JDR: JAMMED" in reading.raw


def test_change_between_polls_arrives_as_event(serve: ServeFn) -> None:
    modem = CanaryModem()
    server = serve(modem)
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200))
    driver.poll()
    sent = modem.reports_sent
    server.do("jammed")
    deadline = time.monotonic() + 2
    while modem.reports_sent == sent and time.monotonic() < deadline:
        time.sleep(0.005)  # the emulator thread sends the unsolicited report
    time.sleep(0.05)  # and puts its bytes on the paced line (~1.5 ms at 115200 baud)
    server.do("operative")
    reading = driver.poll()
    assert reading.values["jammed"] == 0
    assert [(e.type, e.value) for e in reading.events] == [(1, 1)]
    assert b"#JDR: JAMMED" in reading.events[0].raw


def _until_sent(modem: CanaryModem, sent: int) -> None:
    """Wait for the emulator thread to send its unsolicited report and pace it onto the line."""
    deadline = time.monotonic() + 2
    while modem.reports_sent == sent and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # ~1.5 ms on the line at 115200 baud


SCRIPT: tuple[tuple[str, ...], ...] = (
    (),
    ("jammed", "operative"),
    ("jammed",),
    (),
    ("operative", "jammed", "operative"),
)
"""Before each poll, the modem's condition changes this way, one unsolicited report each."""

EXPECTED = [
    (0, []),
    (0, [1, 0]),
    (1, [1]),
    (1, []),
    (0, [0, 1, 0]),
]
"""Each poll: the condition it reports, and the transitions it took as events."""


def _run_script(serve: ServeFn, transport: str) -> list[tuple[int, list[int]]]:
    modem = CanaryModem()
    server = serve(modem, transport=transport)
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200))
    seen: list[tuple[int, list[int]]] = []
    for changes in SCRIPT:
        for change in changes:
            sent = modem.reports_sent
            server.do(change)
            _until_sent(modem, sent)
        reading = driver.poll()
        seen.append((reading.values["jammed"], [e.value for e in reading.events]))
    return seen


def test_jamming_transitions_are_the_same_events_over_pty_and_socket(serve: ServeFn) -> None:
    # pyserial's socket:// in_waiting says only "something" (1) or nothing (0): the unsolicited
    # reports must still all be read before the command, never taken for its reply.
    assert _run_script(serve, "pty") == EXPECTED
    assert _run_script(serve, "socket") == EXPECTED


def test_faults_never_give_a_wrong_answer(serve: ServeFn) -> None:
    server = serve(CanaryModem(), faults="bitflip=0.2,garbage=0.1,drop=0.1,seed=5")
    server.do("jammed")
    driver = CanaryDriver(SerialLink(server.url, baudrate=115200), response_timeout_s=0.1)
    ok = 0
    for _ in range(40):
        try:
            reading = driver.poll()
        except DeviceError:
            continue
        assert reading.values["jammed"] == 1
        ok += 1
    assert ok > 10


@pytest.mark.parametrize(
    "reply",
    [
        b"\r\nOK\r\n\r\n#JDR: JAMMED\r\n",
        b"AT#JDR=2,63,128\r\r\nOK\r\n\r\n#JDR: OPERATIVE\r\n",
    ],
)
def test_no_single_bit_flip_turns_into_the_other_answer(reply: bytes) -> None:
    # The modem's text has no checksum; the strict line grammar must do the job instead.
    truth = b"JAMMED" in reply
    for bit in range(len(reply) * 8):
        damaged = bytearray(reply)
        damaged[bit // 8] ^= 1 << (bit % 8)
        try:
            lines, _ = split_lines(bytes(damaged))
            parsed = [parse_line(line) for line in lines if not line.startswith("AT")]
        except FrameError:
            continue
        reports = {p.jammed for p in parsed if isinstance(p, JdrReport)}
        assert reports <= {truth}, (bit, bytes(damaged))
