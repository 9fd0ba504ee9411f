"""Status polls per second on a baud-paced emulator link, against the line-rate limit.

The poll is the fast-loop transaction of research/serial.md §6.5: FC04 read of the 12 status
registers (request 8 bytes, reply 29 bytes).  The emulated jammer serves on a real pty and paces
every byte at the line rate (10 bits per character, 8N1), waits t3.5 after the request and
answers with no extra device latency; our master keeps t3.5 of silence before each request.
The physical limit of one cycle is therefore (8 + 29) characters + 2 x t3.5 (§1.7), computed
here for the same settings.  Usage: python bench/device_polling.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.result_line import print_result
from devices.emulators import EmulatorServer, JammerModel, ModbusSlave, PtyEndpoint
from devices.errors import DeviceError
from devices.jammer import JammerDriver
from devices.modbus_master import ModbusMaster
from devices.transport import SerialLink, char_time_s, silent_interval_s

BITS_PER_CHAR = 10
REQUEST_BYTES = 8
REPLY_BYTES = 5 + 2 * 12


def line_limit(baud: int) -> float:
    """Cycles per second allowed by the line: bytes plus the two silent intervals."""
    cycle = (REQUEST_BYTES + REPLY_BYTES) * char_time_s(baud, BITS_PER_CHAR)
    cycle += 2 * silent_interval_s(baud, BITS_PER_CHAR)
    return 1 / cycle


def measure(baud: int, seconds: float, workdir: Path) -> tuple[float, int]:
    model = JammerModel(clock=time.monotonic)
    endpoint = PtyEndpoint(workdir / f"tty-{baud}")
    with EmulatorServer(
        ModbusSlave({1: model}), endpoint, baudrate=baud, bits_per_char=BITS_PER_CHAR
    ) as server:
        link = SerialLink(server.url, baudrate=baud, parity="N", stopbits=1)
        driver = JammerDriver(ModbusMaster(link, response_timeout_s=0.5), 1)
        driver.read_status()  # open the port, warm up
        polls = 0
        failures = 0
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            try:
                driver.read_status()
                polls += 1
            except DeviceError:  # counted and reported; the benchmark must finish
                failures += 1
        elapsed = time.monotonic() - start
        link.close()
    return polls / elapsed, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3 s per baud rate")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 10.0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for baud in (9600, 19200, 115200):
            rate, failures = measure(baud, seconds, Path(tmp))
            limit = line_limit(baud)
            results[baud] = (rate, limit)
            print(
                f"{baud:>6} baud 8N1: {rate:7.1f} status polls/s, line limit {limit:7.1f}/s "
                f"({100 * rate / limit:5.1f} %), {failures} failed polls, {seconds:.0f} s run"
            )
    rate, limit = results[19200]
    print_result("device_status_polls_per_s_19200_baud", rate, "polls/s", limit, digits=2)


if __name__ == "__main__":
    main()
