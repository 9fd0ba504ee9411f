"""``examctl`` commands of the devices group: ``emulate``, ``devices poll`` and ``gateway``.

Why here: argument parsing and printing face the operator; the work is done by ``devices``
(drivers, emulators) and ``api.gateway`` (the polling loop that signs into the log).
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import ssl
import threading
import time
from pathlib import Path
from typing import Any

from api.cli.arguments import integer, seconds
from api.cli.log import passphrase
from api.client import CentreClient
from api.gateway import run_gateway_loop, run_remote_gateway_loop
from devices.device_spec import BAUD_RATES, KIND_CHOICES, DeviceSpec
from devices.emulators import (
    EmulatorServer,
    FaultSpec,
    PtyEndpoint,
    SocketEndpoint,
    make_responder,
    parse_scenario,
)
from devices.emulators.scenario import Step
from devices.emulators.server import Endpoint
from devices.errors import DeviceConfigError
from devices.gateway_config import load_gateway_config
from devices.operator_command import ANY_KIND, COMMAND_KINDS, perform_command
from devices.reading import Reading
from devices.register_map import JAMMER_BANDS
from exam_core.input_file import read_input_file

_SOCKET_URL = re.compile(r"socket://([A-Za-z0-9.\-]+):(\d{1,5})")
MAX_DURATION_S = 366 * 86_400.0
MAX_CYCLES = 10**9
MAX_POLLS = 10**9
MAX_SCENARIO_BYTES = 1 << 20
MAX_CA_FILE_BYTES = 1 << 20
"""A CA file holds a few PEM certificates: a megabyte is hundreds of them."""


def register(commands: Any) -> None:
    """Add this group's sub-commands to the ``examctl`` parser."""
    emulate = commands.add_parser("emulate", help="serve an emulated device")
    emulate.add_argument("kind", choices=KIND_CHOICES)
    where = emulate.add_mutually_exclusive_group(required=True)
    where.add_argument("--listen", metavar="socket://HOST:PORT", help="serve on TCP")
    where.add_argument("--pty", metavar="PATH", help="serve on a pty behind this symlink")
    emulate.add_argument(
        "--unit", type=integer(1, 247), help="Modbus unit (default 1 jammer, 2 detector)"
    )
    emulate.add_argument("--baud", type=int, default=19200, choices=BAUD_RATES)
    emulate.add_argument("--bits-per-char", type=int, default=11, choices=(10, 11))
    emulate.add_argument("--turnaround-ms", type=integer(0, 10_000), default=5)
    emulate.add_argument("--scenario", metavar="FILE", help="scripted steps (JSON)")
    emulate.add_argument("--faults", metavar="SPEC", default="", help="e.g. bitflip=0.05,seed=7")
    emulate.add_argument(
        "--duration-s", type=seconds(0, MAX_DURATION_S), help="stop after this long"
    )
    emulate.set_defaults(run=run_emulate)

    group = commands.add_parser("devices", help="talk to serial devices")
    sub = group.add_subparsers(dest="devices_command", required=True, metavar="ACTION")
    poll = sub.add_parser("poll", help="poll one device and print its status as JSON")
    poll.add_argument("--url", required=True, help="port path, socket://host:port, ...")
    poll.add_argument("--kind", required=True, choices=KIND_CHOICES)
    poll.add_argument("--unit", type=integer(1, 247))
    poll.add_argument("--baud", type=int, default=19200, choices=BAUD_RATES)
    poll.add_argument("--parity", default="E", choices=("N", "E", "O"))
    poll.add_argument("--echo", action="store_true", help="the RS-485 adapter echoes")
    poll.add_argument("--timeout-ms", type=integer(10, 10_000), default=500)
    how = poll.add_mutually_exclusive_group(required=True)
    how.add_argument("--once", action="store_true", help="one status")
    how.add_argument(
        "--count", type=integer(1, MAX_POLLS), help="this many statuses, one JSON line each"
    )
    poll.add_argument("--interval-ms", type=integer(0, 3_600_000), default=250)
    poll.set_defaults(run=run_poll)

    command = sub.add_parser(
        "command", help="send a command to a jammer or detector and print the read-back status"
    )
    command.add_argument("--url", required=True)
    command.add_argument("--kind", required=True, choices=("jammer", "detector"))
    command.add_argument("--unit", type=integer(1, 247))
    command.add_argument("--baud", type=int, default=19200, choices=BAUD_RATES)
    command.add_argument("--parity", default="E", choices=("N", "E", "O"))
    command.add_argument("--timeout-ms", type=integer(10, 10_000), default=500)
    command.add_argument("action", choices=sorted(COMMAND_KINDS))
    command.add_argument(
        "--band", type=integer(-(10**9), 10**9), help="band for band-on / band-off (1-8)"
    )
    command.set_defaults(run=run_command)

    gateway = commands.add_parser("gateway", help="poll configured devices into the log")
    where = gateway.add_mutually_exclusive_group(required=True)
    where.add_argument("--dir", help="the centre directory, on this machine")
    where.add_argument("--centre-url", help="the centre's HTTP service (https://…)")
    gateway.add_argument(
        "--key", type=Path, help="with --centre-url: this gateway's private key file (PEM)"
    )
    gateway.add_argument(
        "--ca-file", type=Path, help="with --centre-url: trust this certificate (PEM)"
    )
    gateway.add_argument(
        "--passphrase-env", metavar="VAR", help="environment variable holding the key passphrase"
    )
    gateway.add_argument("--config", required=True, help="gateway configuration (JSON)")
    gateway.add_argument(
        "--duration-s", type=seconds(0, MAX_DURATION_S), help="stop after this long"
    )
    gateway.add_argument(
        "--cycles", type=integer(1, MAX_CYCLES), help="stop after this many polling cycles"
    )
    gateway.set_defaults(run=run_gateway)


def _stop_on_sigterm(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())


def _endpoint(args: argparse.Namespace) -> Endpoint:
    """Where ``emulate`` serves: ``--pty PATH`` or ``--listen socket://HOST:PORT``.

    Raises:
        DeviceConfigError: an empty ``--pty`` path or a ``--listen`` that is not such a URL.
    """
    if args.pty is not None:
        if not args.pty:
            raise DeviceConfigError("--pty needs a path for the link to the pty")
        return PtyEndpoint(Path(args.pty))
    m = _SOCKET_URL.fullmatch(args.listen)
    if m is None or int(m.group(2)) > 65535:
        raise DeviceConfigError(f"--listen must be socket://HOST:PORT, not {args.listen!r}")
    return SocketEndpoint(m.group(1), int(m.group(2)))


def run_emulate(args: argparse.Namespace) -> int:
    faults = FaultSpec.parse(args.faults)
    scenario: tuple[Step, ...] = ()
    if args.scenario:
        scenario = parse_scenario(
            read_input_file(args.scenario, limit=MAX_SCENARIO_BYTES, what="scenario")
        )
    server = EmulatorServer(
        make_responder(args.kind, unit=args.unit),
        _endpoint(args),
        baudrate=args.baud,
        bits_per_char=args.bits_per_char,
        turnaround_s=max(0, args.turnaround_ms) / 1000,
        faults=faults,
        scenario=scenario,
    )
    stop = threading.Event()
    _stop_on_sigterm(stop)
    with server:
        print(f"serving {args.kind} on {server.url}", flush=True)
        deadline = None if args.duration_s is None else time.monotonic() + args.duration_s
        try:
            while not stop.wait(0.1):
                if deadline is not None and time.monotonic() >= deadline:
                    break
        except KeyboardInterrupt:
            pass
    for error in server.errors:
        print(f"scenario: {error}")
    return 1 if server.errors else 0


def reading_json(name: str, reading: Reading) -> dict[str, object]:
    """The printable form of a reading (integers, names, hex)."""
    return {
        "device": name,
        "kind": reading.kind,
        "state": reading.extra.get("state", ""),
        "identity": reading.identity,
        "values": dict(sorted(reading.values.items())),
        "flags": {group: sorted(names) for group, names in sorted(reading.flags.items())},
        "rebooted": reading.rebooted,
        "events": [
            {
                "event_seq": e.event_seq,
                "type": e.type,
                "subject": e.subject,
                "value": e.value,
                "rtc_s": e.rtc_unix_s,
                "uptime_s": e.uptime_s,
                "raw": e.raw.hex(),
            }
            for e in reading.events
        ],
        "raw": reading.raw.hex(),
    }


def _device_spec(args: argparse.Namespace) -> DeviceSpec:
    """The device named on the command line (``devices command`` has no ``--echo``)."""
    return DeviceSpec(
        name="cli",
        kind=args.kind,
        url=args.url,
        unit=args.unit,
        baudrate=args.baud,
        parity=args.parity,
        local_echo=getattr(args, "echo", False),
        response_timeout_ms=args.timeout_ms,
    )


def run_poll(args: argparse.Namespace) -> int:
    driver = _device_spec(args).open_driver()
    count = 1 if args.once else args.count
    try:
        for i in range(count):
            if i:
                time.sleep(max(0, args.interval_ms) / 1000)
            reading = driver.poll()
            print(json.dumps(reading_json(args.url, reading), sort_keys=True), flush=True)
    finally:
        driver.close()
    return 0


def run_command(args: argparse.Namespace) -> int:
    """Run one command with read-back (the device's FIFO records it for the log).

    Raises:
        DeviceConfigError: the action is not one for this device kind, a ``band-`` action
            lacks ``--band``, or the band is out of range.
    """
    wanted = COMMAND_KINDS[args.action]
    if wanted not in (ANY_KIND, args.kind):
        raise DeviceConfigError(f"{args.action} is a {wanted} command")
    if args.action.startswith("band-") and args.band is None:
        raise DeviceConfigError(f"{args.action} needs --band")
    if args.action.startswith("band-") and not 1 <= args.band <= JAMMER_BANDS:
        raise DeviceConfigError(f"--band must be within 1-{JAMMER_BANDS}")
    driver = _device_spec(args).open_driver()
    try:
        perform_command(driver, args.action, args.band)
        reading = driver.poll()
        print(json.dumps(reading_json(args.url, reading), sort_keys=True), flush=True)
    finally:
        driver.close()
    return 0


def trust_context(path: Path) -> ssl.SSLContext:
    """A TLS context trusting the certificates of the PEM file ``path``, read as every file a
    command reads is (handing the path to OpenSSL waited forever on a FIFO).

    Raises:
        InputFileError: the file is missing, not a regular file, or over ``MAX_CA_FILE_BYTES``.
        DeviceConfigError: it is empty, is not text, or holds no PEM certificate.
    """
    data = read_input_file(path, limit=MAX_CA_FILE_BYTES, what="CA file")
    if not data.strip():
        # Given no data at all, the context would trust the system's authorities instead.
        raise DeviceConfigError(f"CA file {path} is empty")
    try:
        context = ssl.create_default_context(cadata=data.decode("ascii"))
    except UnicodeDecodeError as e:
        raise DeviceConfigError(f"CA file {path} is not PEM text") from e
    except ssl.SSLError as e:
        raise DeviceConfigError(f"CA file {path} holds no PEM certificate: {e}") from e
    return context


def run_gateway(args: argparse.Namespace) -> int:
    """Poll into the centre on this machine (``--dir``) or over HTTP (``--centre-url``).

    Raises:
        DeviceConfigError: a bad configuration, or ``--centre-url`` without ``--key``.
    """
    config = load_gateway_config(Path(args.config))
    stop = threading.Event()
    _stop_on_sigterm(stop)
    if args.dir is not None:
        return run_gateway_loop(
            Path(args.dir), config, stop, duration_s=args.duration_s, cycles=args.cycles
        )
    if args.key is None:
        raise DeviceConfigError("--centre-url needs --key, the gateway's private key file")
    key_passphrase = passphrase(args)
    verify: ssl.SSLContext | bool = True
    if args.ca_file is not None:
        verify = trust_context(args.ca_file)
    with CentreClient(args.centre_url, verify=verify) as client:
        return run_remote_gateway_loop(
            client,
            args.key,
            config,
            stop,
            passphrase=key_passphrase,
            duration_s=args.duration_s,
            cycles=args.cycles,
        )
