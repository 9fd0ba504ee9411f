"""HTTP service under the exam day's load: in-car units uploading telemetry, tablets polling.

``examctl serve`` runs as its own process on a loopback port (SQLite, WAL, synchronous=FULL;
batches closed ``--batch-ms`` after their first entry).  This process drives it with httpx:

1. **trivial endpoint**: closed-loop clients ask ``GET /health`` (no database, no signature) as
   fast as the server answers — the ceiling of this server's request rate and its latency
   floor, measured in the same run;
2. **the day's load**: N in-car units each upload one telemetry chunk a second — the chunk as a
   blob (``PUT /blobs/<sha256>``) then its signed ``telemetry.chunk`` entry (``POST /entries``),
   the upload latency running from the first byte of the one to the answer of the other — while
   N tablets each poll ``GET /whoami`` with their token once a second and a probe asks
   ``GET /health`` ten times a second; bounded in time;
3. **signed entries per second over HTTP**, pre-signed ``demo.event`` entries from many
   actors, one request per entry and in bundles of 64 (``POST /entries/bundle``), against
4. **the in-process ingest** of the same kind of entries by a centre opened in this process
   (``Centre.submit_entry``, verification in the writer thread as in ``serve``), same run.

The last line is the JSON figure: the telemetry-upload p99, against the trivial endpoint's p99
under the same load.
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

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import DEMO, VEHICLE

ORIGIN = "bench.example/c/api"
REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def serve(root: Path, batch_ms: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "api.cli.main", "serve", "--dir", str(root), "--port", "0"]
    command += ["--batch-ms", str(batch_ms)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise SystemExit(f"examctl serve did not start: {line!r}")
    return process, line.split(" on ", 1)[1].strip()


async def wait_up(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("the server never answered")


async def trivial(client: httpx.AsyncClient, workers: int, seconds: float) -> tuple[float, float]:
    latencies: list[float] = []
    until = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < until:
            start = time.perf_counter()
            answer = await client.get("/health")
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return len(latencies) / (time.perf_counter() - started), percentile(latencies, 0.99)


class Load:
    def __init__(self) -> None:
        self.uploads: list[float] = []
        self.polls: list[float] = []
        self.probes: list[float] = []
        self.requests = 0
        self.failures: list[str] = []


async def car(
    client: httpx.AsyncClient, signer: Ed25519Signer, until: float, load: Load, rng: random.Random
) -> None:
    await asyncio.sleep(rng.random())  # units do not tick in step
    exam = hashlib.sha256(signer.name.encode()).hexdigest()[:32]
    seq = 0
    chunk_no = 0
    next_tick = time.monotonic()
    while time.monotonic() < until:
        chunk = rng.randbytes(10 * 48)  # one second of 10 Hz frames, ~48 bytes each
        sha = hashlib.sha256(chunk).hexdigest()
        start = time.perf_counter()
        put = await client.put(f"/blobs/{sha}", content=chunk)
        seq += 1
        event = {
            "v": 1,
            "log": ORIGIN,
            "type": "telemetry.chunk",
            "ts": now_ms(),
            "actor": signer.name,
            "seq": seq,
            "exam": exam,
            "chunk": chunk_no,
            "first_frame": chunk_no * 10,
            "frames": 10,
            "sha256": sha,
            "length": len(chunk),
        }
        post = await client.post("/entries", content=make_entry(signer, event))
        load.uploads.append(time.perf_counter() - start)
        load.requests += 2
        if put.status_code not in (200, 201) or post.status_code != 201:
            load.failures.append(f"{put.status_code} {post.status_code} {post.text[:120]}")
        chunk_no += 1
        next_tick += 1.0
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


async def tablet(
    client: httpx.AsyncClient, token: str, until: float, load: Load, rng: random.Random
) -> None:
    await asyncio.sleep(rng.random())
    headers = {"Authorization": f"Bearer {token}"}
    next_tick = time.monotonic()
    while time.monotonic() < until:
        start = time.perf_counter()
        answer = await client.get("/whoami", headers=headers)
        load.polls.append(time.perf_counter() - start)
        load.requests += 1
        if answer.status_code != 200:
            load.failures.append(f"poll {answer.status_code}")
        next_tick += 1.0
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


async def probe(client: httpx.AsyncClient, until: float, load: Load) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        await client.get("/health")
        load.probes.append(time.perf_counter() - start)
        load.requests += 1
        await asyncio.sleep(0.1)


async def day_load(
    client: httpx.AsyncClient,
    cars: list[Ed25519Signer],
    tokens: list[str],
    seconds: float,
) -> tuple[Load, float]:
    load = Load()
    rng = random.Random(7)
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(car(client, s, until, load, random.Random(rng.random())) for s in cars),
        *(tablet(client, t, until, load, random.Random(rng.random())) for t in tokens),
        probe(client, until, load),
    )
    return load, load.requests / (time.perf_counter() - started)


def presigned(signers: list[Ed25519Signer], count: int, first_seq: int) -> list[list[bytes]]:
    """``count`` entries per signer, in seq order, as one list per signer."""
    lanes = []
    for s in signers:
        lane = []
        for k in range(count):
            event = {
                "v": 1,
                "log": ORIGIN,
                "type": "demo.event",
                "ts": now_ms(),
                "actor": s.name,
                "seq": first_seq + k,
                "n": k,
                "note": "lane 3 jammer radiating, detector armed and quiet",
            }
            lane.append(make_entry(s, event))
        lanes.append(lane)
    return lanes


async def http_entries(client: httpx.AsyncClient, lanes: list[list[bytes]], bundle: int) -> float:
    """Entries/s: one sender per actor, its entries in order, ``bundle`` per request."""

    async def sender(lane: list[bytes]) -> None:
        for i in range(0, len(lane), bundle):
            part = lane[i : i + bundle]
            if bundle == 1:
                answer = await client.post("/entries", content=part[0])
                assert answer.status_code == 201, answer.text
            else:
                body = b"".join(len(e).to_bytes(2, "big") + e for e in part)
                answer = await client.post("/entries/bundle", content=body)
                assert answer.status_code == 200, answer.text
                results = answer.json()["results"]
                assert all(r["problem"] is None for r in results), results[:1]

    total = sum(len(lane) for lane in lanes)
    start = time.perf_counter()
    await asyncio.gather(*(sender(lane) for lane in lanes))
    return total / (time.perf_counter() - start)


def in_process_entries(root: Path, lanes: list[list[bytes]], batch_ms: int) -> float:
    entries = [e for group in zip(*lanes, strict=True) for e in group]
    with Centre.open(root, max_age_ms=batch_ms) as centre:
        start = time.perf_counter()
        futures = [centre.submit_entry(d) for d in entries]
        for f in futures:
            f.result()
        return len(entries) / (time.perf_counter() - start)


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    units = args.units
    served_root, local_root = tmp / "served", tmp / "local"
    with Centre.create(served_root, ORIGIN, max_age_ms=0) as centre:
        cars = [centre.register_key(f"vehicle/V{i:03d}", VEHICLE) for i in range(units)]
        writers = [centre.register_key(f"demo/w{i:02d}", DEMO) for i in range(args.actors)]
        store = TokenStore(centre.store.engine)
        tablets = [store.issue("tablet", f"{ORIGIN}/tablet/T{i:03d}")[0] for i in range(units)]
        for car_signer in cars:
            store.issue("vehicle", car_signer.name)
        vehicle_token = store.issue("vehicle", f"{ORIGIN}/vehicle/any")[0]
    with Centre.create(local_root, ORIGIN, max_age_ms=0) as centre:
        local_writers = [centre.register_key(f"demo/w{i:02d}", DEMO) for i in range(args.actors)]
    per_actor = args.entries // args.actors
    single_lanes = presigned(writers, per_actor, 1)
    bundle_lanes = presigned(writers, per_actor, 1 + per_actor)
    local_lanes = presigned(local_writers, per_actor, 1)

    process, url = serve(served_root, args.batch_ms)
    limits = httpx.Limits(max_connections=2 * units + 64, max_keepalive_connections=2 * units + 64)
    try:
        async with httpx.AsyncClient(
            base_url=url,
            limits=limits,
            timeout=60,
            headers={"Authorization": f"Bearer {vehicle_token}"},
        ) as client:
            await wait_up(client)
            trivial_rps, trivial_p99 = await trivial(client, 32, args.trivial_s)
            load, load_rps = await day_load(client, cars, tablets, args.load_s)
            single_rate = await http_entries(client, single_lanes, 1)
            bundle_rate = await http_entries(client, bundle_lanes, 64)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    local_rate = in_process_entries(local_root, local_lanes, args.batch_ms)
    if load.failures:
        raise SystemExit(f"{len(load.failures)} requests failed, e.g. {load.failures[:3]}")
    return {
        "trivial_rps": trivial_rps,
        "trivial_p99_ms": trivial_p99 * 1000,
        "load_rps": load_rps,
        "upload_p50_ms": percentile(load.uploads, 0.5) * 1000,
        "upload_p99_ms": percentile(load.uploads, 0.99) * 1000,
        "uploads": len(load.uploads),
        "poll_p99_ms": percentile(load.polls, 0.99) * 1000,
        "probe_p99_ms": percentile(load.probes, 0.99) * 1000,
        "single_rate": single_rate,
        "bundle_rate": bundle_rate,
        "local_rate": local_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s)")
    parser.add_argument("--units", type=int, default=100, help="in-car units, and tablets")
    parser.add_argument("--batch-ms", type=int, default=10, help="the server's batch window")
    args = parser.parse_args()
    args.trivial_s = 2.0 if args.quick else 5.0
    args.load_s = 6.0 if args.quick else 30.0
    args.entries = 1_600 if args.quick else 8_000
    args.actors = 32
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        r = asyncio.run(run(args, Path(tmp)))
    print(f"server: examctl serve on loopback, batches closed {args.batch_ms} ms after opening")
    print(
        f"trivial GET /health, 32 closed-loop clients: {r['trivial_rps']:7.0f} req/s, "
        f"p99 {r['trivial_p99_ms']:6.1f} ms  (this server's ceiling)"
    )
    print(
        f"day load, {args.units} in-car units at 1 chunk/s + {args.units} tablets at 1 poll/s "
        f"for {args.load_s:.0f} s: {r['load_rps']:6.0f} req/s"
    )
    print(
        f"  telemetry upload (PUT blob + POST entry): p50 {r['upload_p50_ms']:6.1f} ms, "
        f"p99 {r['upload_p99_ms']:6.1f} ms over {r['uploads']} uploads"
    )
    print(f"  tablet poll (GET /whoami, token checked): p99 {r['poll_p99_ms']:6.1f} ms")
    print(f"  trivial probe under the same load:        p99 {r['probe_p99_ms']:6.1f} ms")
    ratio_single = r["single_rate"] / r["local_rate"]
    ratio_bundle = r["bundle_rate"] / r["local_rate"]
    print(f"signed entries, in-process ingest:          {r['local_rate']:7.0f} /s")
    print(
        f"signed entries over HTTP, one per request:  {r['single_rate']:7.0f} /s  "
        f"ratio {ratio_single:.2f}"
    )
    print(
        f"signed entries over HTTP, bundles of 64:    {r['bundle_rate']:7.0f} /s  "
        f"ratio {ratio_bundle:.2f}"
    )
    print(
        json.dumps(
            {
                "figure": "telemetry_upload_p99",
                "value": round(r["upload_p99_ms"], 1),
                "unit": "ms",
                "limit": round(r["probe_p99_ms"], 1),
                "ratio": round(r["upload_p99_ms"] / r["probe_p99_ms"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
