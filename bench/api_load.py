"""HTTP service under the exam day's load: in-car units uploading telemetry, tablets polling.

``examctl serve`` runs as its own process on a loopback port (SQLite, WAL, synchronous=FULL;
batches closed ``--batch-ms`` after their first entry), keeping the exam day: every day step is
checked by its guard before it is sequenced.  Before anything is timed, a centre is set up in
which ``--units`` exams have started (``started_day``: session opened, check-ins, roster
sealed, allocation committed and made, boarding, camera, gate, ``exam.started``, each step
signed by the registered key of the machine that takes it).  This process then drives the
server over plain keep-alive HTTP/1.1 connections, one per device (a load generator that costs
the server's cores next to nothing):

1. **trivial endpoint**: closed-loop clients ask ``GET /health`` (no database, no signature) as
   fast as the server answers — the ceiling of this server's request rate and its latency
   floor, measured in the same run;
2. **the day's load**: each running exam's in-car unit uploads one telemetry chunk a second (a
   signed chunk of 10 frames at 10 Hz, as the unit makes it) — the chunk as a blob
   (``PUT /blobs/<sha256>``) then its signed ``telemetry.chunk`` entry (``POST /entries``), the
   upload latency running from the first byte of the one to the answer of the other — while
   each exam's tablet polls its exam (``GET /day/exams/<exam>``, token checked, the day read)
   once a second and a probe asks ``GET /health`` ten times a second; bounded in time;
3. **signed entries per second over HTTP**: the next chunks of the units' exams as pre-signed
   ``telemetry.chunk`` entries (their blobs stored beforehand), each unit sending its own in
   order, one request per entry and in bundles of 64 (``POST /entries/bundle``, as a unit
   uploads what it buffered while its link was down), against
4. **the in-process ingest** of the next chunks of the same exams by the same centre opened in
   this process once the server has stopped (``Centre.submit_entry``, the day's guard in the
   writer, as in ``serve``), same run.

Entries over HTTP are reported both ways, and each two ways: the rate against the in-process
rate (wall clock, as the goal is stated), and the server's CPU time an entry against the
in-process CPU time an entry (``/proc`` of the server; ``process_time`` here) — the figure a
shared machine does not blur.  One entry a request, each sender waiting for its answer before
the next, is bound by the batch window: at most one batch of ``--entry-units`` entries every
``--batch-ms`` plus a commit, whatever the CPU.  Bundles are how a unit that was offline
catches up (it uploads in order what it buffered), and what the ≥ 0.7 goal is held against.

The last line is the JSON figure: the telemetry-upload p99, against the p99 of what one upload
costs the disk alone (a blob put and a one-entry durable append, in process, same run); the
trivial endpoint's p99 under the load is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.result_line import print_result
from bench.started_day import RunningExam, start_day
from exam_core.centre.blobs import BlobStore
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.day_guard import centre_day_guard
from exam_core.log.entry import make_entry
from exam_core.log.schemas.types import DEMO
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from exam_core.scoring.events import chunk_fields
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import Frame, make_chunk

ORIGIN = "bench.example/c/api"
REPO = Path(__file__).resolve().parents[1]
CHUNK_FRAMES = 10
"""Frames a chunk: one second at 10 Hz."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Connection:
    """One keep-alive HTTP/1.1 connection, as one device holds: a load generator that costs
    next to nothing, so the server's share of the two cores is not spent on the client."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port = host, port
        self.auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(root: Path, batch_ms: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "api.cli.main", "serve", "--dir", str(root), "--port", "0"]
    command += ["--batch-ms", str(batch_ms)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise SystemExit(f"examctl serve did not start: {line!r}")
    return process, line.split(" on ", 1)[1].strip()


async def wait_up(host: str, port: int) -> None:
    for _ in range(200):
        try:
            connection = Connection(host, port)
            status, _ = await connection.request("GET", "/health")
            await connection.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the server never answered")


async def trivial(host: str, port: int, workers: int, seconds: float) -> tuple[float, float]:
    """Closed loop on GET /health: the server's request ceiling and latency floor."""
    latencies: list[float] = []
    until = time.monotonic() + seconds

    async def worker() -> None:
        connection = Connection(host, port)
        while time.monotonic() < until:
            start = time.perf_counter()
            status, _ = await connection.request("GET", "/health")
            latencies.append(time.perf_counter() - start)
            assert status == 200
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(latencies) / (time.perf_counter() - started), percentile(latencies, 0.99)


class Unit:
    """A running exam's in-car unit: its key, its exam, and the next chunk and seq it signs."""

    def __init__(self, running: RunningExam, seq: int, frames: list[Frame], token: str) -> None:
        self.running = running
        self.exam = bytes.fromhex(running.exam)
        self.seq = seq
        self.chunk = 0
        self.frames = frames
        self.token = token

    def next_chunk(self) -> tuple[bytes, bytes]:
        """The next second of telemetry, as the unit makes it: the signed chunk (the blob) and
        the signed ``telemetry.chunk`` entry naming it."""
        n, signer = self.chunk, self.running.unit
        at = (n * CHUNK_FRAMES) % (len(self.frames) - CHUNK_FRAMES)
        blob = make_chunk(
            signer, self.exam, n, n * CHUNK_FRAMES, self.frames[at : at + CHUNK_FRAMES]
        )
        event = {
            "v": 1,
            "log": ORIGIN,
            "type": "telemetry.chunk",
            "ts": now_ms(),
            "actor": signer.name,
            "seq": self.seq,
            **chunk_fields(blob),
        }
        self.chunk += 1
        self.seq += 1
        return blob, make_entry(signer, event)


class Load:
    def __init__(self) -> None:
        self.uploads: list[float] = []
        self.polls: list[float] = []
        self.probes: list[float] = []
        self.requests = 0
        self.failures: list[str] = []


async def car(
    connection: Connection, unit: Unit, until: float, load: Load, rng: random.Random
) -> None:
    await asyncio.sleep(rng.random())  # units do not tick in step
    next_tick = time.monotonic()
    while time.monotonic() < until:
        chunk, entry = unit.next_chunk()
        sha = hashlib.sha256(chunk).hexdigest()
        start = time.perf_counter()
        put, _ = await connection.request("PUT", f"/blobs/{sha}", chunk)
        post, text = await connection.request("POST", "/entries", entry)
        load.uploads.append(time.perf_counter() - start)
        load.requests += 2
        if put not in (200, 201) or post != 201:
            load.failures.append(f"{put} {post} {text[:160]!r}")
        next_tick += 1.0
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    await connection.close()


async def tablet(
    connection: Connection, exam: str, until: float, load: Load, rng: random.Random
) -> None:
    await asyncio.sleep(rng.random())
    next_tick = time.monotonic()
    while time.monotonic() < until:
        start = time.perf_counter()
        status, text = await connection.request("GET", f"/day/exams/{exam}")
        load.polls.append(time.perf_counter() - start)
        load.requests += 1
        if status != 200:
            load.failures.append(f"poll {status} {text[:160]!r}")
        next_tick += 1.0
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
    await connection.close()


async def probe(connection: Connection, until: float, load: Load) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        await connection.request("GET", "/health")
        load.probes.append(time.perf_counter() - start)
        load.requests += 1
        await asyncio.sleep(0.1)
    await connection.close()


async def day_load(
    host: str, port: int, units: list[Unit], tablets: list[str], seconds: float
) -> tuple[Load, float]:
    load = Load()
    rng = random.Random(7)
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(
            car(Connection(host, port, u.token), u, until, load, random.Random(rng.random()))
            for u in units
        ),
        *(
            tablet(
                Connection(host, port, token),
                u.running.exam,
                until,
                load,
                random.Random(rng.random()),
            )
            for u, token in zip(units, tablets, strict=True)
        ),
        probe(Connection(host, port), until, load),
    )
    return load, load.requests / (time.perf_counter() - started)


def presigned(units: list[Unit], count: int, blobs: BlobStore) -> list[list[bytes]]:
    """The next ``count`` chunk entries of each unit, in order, one list per unit; their blobs
    are written into ``blobs`` first (setup: plain writes, not what is measured)."""
    lanes = []
    for unit in units:
        lane = []
        for _ in range(count):
            chunk, entry = unit.next_chunk()
            path = blobs.path(hashlib.sha256(chunk).hexdigest())
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(chunk)
            lane.append(entry)
        lanes.append(lane)
    return lanes


async def http_entries(host: str, port: int, lanes: list[list[bytes]], bundle: int) -> float:
    """Entries/s: one sender (and connection) per unit, its entries in order, ``bundle`` per
    request."""

    async def sender(lane: list[bytes]) -> None:
        connection = Connection(host, port)
        for i in range(0, len(lane), bundle):
            part = lane[i : i + bundle]
            if bundle == 1:
                status, text = await connection.request("POST", "/entries", part[0])
                assert status == 201, text
            else:
                body = b"".join(len(e).to_bytes(2, "big") + e for e in part)
                status, text = await connection.request("POST", "/entries/bundle", body)
                assert status == 200, text
                results = json.loads(text)["results"]
                assert all(r["problem"] is None for r in results), results[:1]
        await connection.close()

    total = sum(len(lane) for lane in lanes)
    start = time.perf_counter()
    await asyncio.gather(*(sender(lane) for lane in lanes))
    return total / (time.perf_counter() - start)


def durable_floor_ms(centre: Centre, signer_name: str, rounds: int) -> tuple[float, float]:
    """p50 and p99 of one blob put (fsync of file and folder) then one single-entry durable
    append (a batch of one, no window), in this process: what an upload costs the disk alone."""
    times = []
    signer = centre.signer(signer_name)
    rng = random.Random(3)
    for n in range(rounds):
        start = time.perf_counter()
        centre.blobs.put(rng.randbytes(480))
        centre.append(signer, "demo.event", {"n": n})
        times.append(time.perf_counter() - start)
    return percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000


def in_process_entries(centre: Centre, lanes: list[list[bytes]]) -> float:
    entries = [e for group in zip(*lanes, strict=True) for e in group]
    start = time.perf_counter()
    futures = [centre.submit_entry(d) for d in entries]
    for f in futures:
        f.result()
    return len(entries) / (time.perf_counter() - start)


FLOOR_KEY = "demo/floor"


def set_up(root: Path, count: int) -> tuple[list[Unit], list[str]]:
    """The started day, the units' tokens and seqs, and the tablets' tokens (not timed)."""
    day = start_day(root, ORIGIN, count)
    frames = list(simulate(load_course(DEFAULT_MAPS[2]), seed=3).frames)
    with Centre.open(root, max_age_ms=0, guard=centre_day_guard) as centre:
        centre.register_key(FLOOR_KEY, DEMO)
        store = TokenStore(centre.store.engine)
        units = [
            Unit(r, centre.next_seq(r.unit.name), frames, store.issue("vehicle", r.unit.name)[0])
            for r in day.exams
        ]
        tablets = [store.issue("tablet", r.tablet)[0] for r in day.exams]
    return units, tablets


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    root = tmp / "centre"
    setup_start = time.perf_counter()
    units, tablets = set_up(root, args.units)
    setup_s = time.perf_counter() - setup_start
    if len(units) < args.units:
        raise SystemExit(f"only {len(units)} of {args.units} exams could start")
    senders = units[: args.entry_units]
    blobs = BlobStore(root / "blobs")
    process, url = serve(root, args.batch_ms)
    host, port_text = url.rsplit("//", 1)[1].rsplit(":", 1)
    port = int(port_text)
    try:
        await wait_up(host, port)
        trivial_rps, trivial_p99 = await trivial(host, port, 32, args.trivial_s)
        cpu_before = cpu_seconds(process.pid)
        load, load_rps = await day_load(host, port, units, tablets, args.load_s)
        load_cpu = (cpu_seconds(process.pid) - cpu_before) / args.load_s
        entries = len(senders) * args.per_unit
        lanes = presigned(senders, args.per_unit, blobs)
        cpu_before = cpu_seconds(process.pid)
        single_rate = await http_entries(host, port, lanes, 1)
        single_cpu = (cpu_seconds(process.pid) - cpu_before) / entries
        lanes = presigned(senders, args.per_unit, blobs)
        cpu_before = cpu_seconds(process.pid)
        bundle_rate = await http_entries(host, port, lanes, 64)
        bundle_cpu = (cpu_seconds(process.pid) - cpu_before) / entries
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    if load.failures:
        raise SystemExit(f"{len(load.failures)} requests failed, e.g. {load.failures[:3]}")
    with Centre.open(root, max_age_ms=args.batch_ms, guard=centre_day_guard) as centre:
        lanes = presigned(senders, args.per_unit, blobs)
        cpu_before = time.process_time()
        local_rate = in_process_entries(centre, lanes)
        local_cpu = (time.process_time() - cpu_before) / entries
    with Centre.open(root, max_age_ms=0) as centre:
        floor_p50, floor_p99 = durable_floor_ms(centre, FLOOR_KEY, args.floor_rounds)
    return {
        "setup_s": setup_s,
        "trivial_rps": trivial_rps,
        "trivial_p99_ms": trivial_p99 * 1000,
        "load_rps": load_rps,
        "load_cpu": load_cpu,
        "upload_p50_ms": percentile(load.uploads, 0.5) * 1000,
        "upload_p99_ms": percentile(load.uploads, 0.99) * 1000,
        "uploads": len(load.uploads),
        "poll_p99_ms": percentile(load.polls, 0.99) * 1000,
        "probe_p99_ms": percentile(load.probes, 0.99) * 1000,
        "single_rate": single_rate,
        "bundle_rate": bundle_rate,
        "local_rate": local_rate,
        "single_cpu_us": single_cpu * 1e6,
        "bundle_cpu_us": bundle_cpu * 1e6,
        "local_cpu_us": local_cpu * 1e6,
        "floor_p50_ms": floor_p50,
        "floor_p99_ms": floor_p99,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s)")
    parser.add_argument("--units", type=int, default=100, help="in-car units, and tablets")
    parser.add_argument("--batch-ms", type=int, default=10, help="the server's batch window")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    args.trivial_s = 2.0 if args.quick else 5.0
    args.load_s = 6.0 if args.quick else 30.0
    args.entry_units = 25 if args.quick else args.units
    args.per_unit = 64 if args.quick else 128
    args.floor_rounds = 100 if args.quick else 300
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        r = asyncio.run(run(args, Path(tmp)))
    print(f"server: examctl serve on loopback, batches closed {args.batch_ms} ms after opening")
    print(
        f"setup (not timed): {args.units} exams started, signed step by step, "
        f"in {r['setup_s']:.1f} s"
    )
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start")
    print(
        f"trivial GET /health, 32 closed-loop clients: {r['trivial_rps']:7.0f} req/s, "
        f"p99 {r['trivial_p99_ms']:6.1f} ms  (this server's ceiling)"
    )
    print(
        f"day load, {args.units} in-car units at 1 chunk/s + {args.units} tablets at 1 poll/s "
        f"for {args.load_s:.0f} s: {r['load_rps']:6.0f} req/s"
    )
    print(
        f"  server CPU: {r['load_cpu']:.2f} core-seconds a second "
        f"({1000 * r['load_cpu'] / r['load_rps']:.2f} ms a request)"
    )
    print(
        f"  telemetry upload (PUT blob + POST entry): p50 {r['upload_p50_ms']:6.1f} ms, "
        f"p99 {r['upload_p99_ms']:6.1f} ms over {r['uploads']} uploads"
    )
    print(f"  tablet poll (GET /day/exams/<exam>, token checked): p99 {r['poll_p99_ms']:6.1f} ms")
    print(f"  trivial probe under the same load:        p99 {r['probe_p99_ms']:6.1f} ms")
    print(
        f"  the disk alone (blob put + one-entry commit, in process, {args.floor_rounds} rounds): "
        f"p50 {r['floor_p50_ms']:.1f} ms, p99 {r['floor_p99_ms']:.1f} ms  (physical floor)"
    )
    ratio_single = r["single_rate"] / r["local_rate"]
    ratio_bundle = r["bundle_rate"] / r["local_rate"]
    entries = f"{args.entry_units} units x {args.per_unit} telemetry.chunk entries"
    print(
        f"signed entries, in-process ingest ({entries}): {r['local_rate']:7.0f} /s, "
        f"{r['local_cpu_us']:5.0f} us CPU an entry"
    )
    for name, key, ratio in (
        ("one per request", "single", ratio_single),
        ("bundles of 64  ", "bundle", ratio_bundle),
    ):
        print(
            f"signed entries over HTTP, {name}: {r[key + '_rate']:7.0f} /s  ratio {ratio:.2f};"
            f" server {r[key + '_cpu_us']:5.0f} us CPU an entry"
            f" (in-process / server CPU: {r['local_cpu_us'] / r[key + '_cpu_us']:.2f})"
        )
    print_result(
        "telemetry_upload_p99_ms",
        r["upload_p99_ms"],
        "ms",
        r["floor_p99_ms"],
        digits=1,
        upload_p50_ms=round(r["upload_p50_ms"], 1),
        trivial_p99_ms_under_load=round(r["probe_p99_ms"], 1),
        entries_http_ratio=round(ratio_single, 3),
        entries_http_bundle_ratio=round(ratio_bundle, 3),
        entries_cpu_ratio=round(r["local_cpu_us"] / r["single_cpu_us"], 3),
        entries_bundle_cpu_ratio=round(r["local_cpu_us"] / r["bundle_cpu_us"], 3),
    )


if __name__ == "__main__":
    main()
