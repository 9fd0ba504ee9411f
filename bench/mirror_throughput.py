"""The monitoring centre's mirror: entries mirrored and fully verified per second, against raw
Ed25519 verification; the witness's add-checkpoint rate; the mirror's time from 10 to 100 logs.

1. **Mirror throughput.** A centre of ``--entries`` signed entries (``--actors`` demo actors,
   eight by default, signing in turn) is served by ``examctl serve`` in its own process on
   loopback; a new monitoring centre (SQLite, or ``--database-url``) mirrors it from nothing:
   checkpoint, tiles, consistency, every entry bundle, each entry held to the verified tree (its
   leaf, or its bundle's hash in the level-1 tile), proven by a signature worker as the audit's
   workers prove it (strict parse, log, schema, signature:
   ``exam_core.monitoring.mirror_proofs.prove_call``) and admitted by the registry's
   order-dependent rules (key, role, seq), stored, cosigned. The figure is entries per second of
   wall time. The limit, measured in the same run between the mirrors, is raw Ed25519
   verification of the same entries by the project's rule on one core (CPU time,
   ``bench/ed25519_verify.py``); the ratio is per CPU-second: entries per CPU-second of the
   mirror process and its ``--workers`` signature workers over the limit. Each mirror line also
   gives µs of CPU per entry in the mirror process and in its workers. Best of ``--repeat``
   each: a shared machine only ever makes a pass slower.
2. **Witness.** ``examctl monitor serve`` in its own process; four logs, one client thread each,
   post ``add-checkpoint`` requests that each grow the log by one leaf with its consistency
   proof; requests per second over all four.
3. **Scale.** 100 logs of ``--small`` entries served from memory by a uvicorn process; one
   mirror process registers 10 of them, another all 100: the time of the first round (mirror
   everything) and of an idle round (nothing new: one checkpoint read each).

    python bench/mirror_throughput.py [--quick] [--entries N] [--actors K] [--repeat R]
                                      [--database-url URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ed25519_verify import verification_rate
from bench.result_line import print_result
from exam_core.centre.centre import Centre
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.merkle import (
    consistency_proof,
    hash_source_from_leaf_hashes,
    leaf_hash,
    subtree_root,
)
from exam_core.log.note import Ed25519Signer, parse_note
from exam_core.log.schemas.types import DEMO
from exam_core.log.tlog_witness import add_checkpoint_body
from exam_core.monitoring.home import create_monitor, open_monitor
from exam_core.monitoring.mirror_proofs import prove_call

REPO = Path(__file__).resolve().parent.parent
ORIGIN = "bench.example/c/mirror"
ACTORS = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"the server for {url} exited")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def examctl(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli.main", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
    )


# --- 1. mirror throughput ------------------------------------------------------------------


def build_centre(
    root: Path, entries: int, actors_count: int = ACTORS
) -> tuple[str, list[bytes], dict[str, bytes]]:
    """A centre of ``entries`` entries signed in turn by ``actors_count`` registered actors;
    its vkey, its entries and its actors' public keys."""
    centre = Centre.create(root, ORIGIN, max_age_ms=20)
    try:
        actors = [centre.register_key(f"bench{i}", DEMO) for i in range(actors_count)]
        pending = []
        for n in range(max(0, entries - centre.store.size())):
            pending.append(centre.submit(actors[n % actors_count], "demo.event", {"n": n}))
            if len(pending) >= 2048:
                for f in pending:
                    f.result()
                pending = []
        for f in pending:
            f.result()
        centre.append(actors[0], "demo.event", {"n": 0})  # published: every entry before too
        size = centre.store.size()
        keys = {a.name: a.public_key for a in actors} | {
            centre.admin().name: centre.admin().public_key
        }
        return centre.log_vkey, centre.store.entries(0, size), keys
    finally:
        centre.close()


def raw_rate(entries: list[bytes], keys: dict[str, bytes]) -> float:
    work = []
    for data in entries:
        sig = parse_note(data).signatures[0]
        if sig.name in keys:
            work.append((keys[sig.name], sig.signature, parse_note(data).text))
    return verification_rate(work, rounds=3)


def workers_cpu() -> float:
    """CPU seconds this process's worker processes have used so far, every thread of each, read
    from ``/proc/<pid>/task/<tid>/schedstat`` (Linux; nanoseconds).

    Read while the workers live, before and after the pull, so that their start-up is not
    counted: subtracting a start-up measured apart, as this benchmark first did, added ± a
    tenth of a second of noise to a few tenths of work.
    """
    total = 0
    for child in multiprocessing.active_children():
        tasks = Path(f"/proc/{child.pid}/task")
        try:
            for task in tasks.iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError) as e:
            raise SystemExit(f"cannot read the workers' CPU time from {tasks}: {e}") from e
    return total / 1e9


def start_pool(workers: int) -> ProcessPoolExecutor | None:
    """``workers`` spawned processes, started and imported before anything is timed."""
    if workers <= 0:
        return None
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    for f in [pool.submit(prove_call, [], b"", ORIGIN) for _ in range(workers * 4)]:
        f.result()
    return pool


def mirror_once(
    tmp: Path, vkey: str, url: str, database_url: str | None, n: int, workers: int
) -> tuple[float, float, float, int]:
    """(wall s, CPU s of this process, CPU s of its workers, entries) of one mirror from
    nothing."""
    root = tmp / f"monitor-{n}"
    create_monitor(root, "bench.example/m", database_url=database_url)
    from api.monitor.mirror_client import http_sources, mirror_client  # noqa: PLC0415

    with open_monitor(root) as monitor, mirror_client(30) as client:
        monitor.add_log(vkey, url, time.time_ns() // 1_000_000)
        pool = start_pool(workers)
        monitor.mirror.signatures = pool
        workers0 = workers_cpu()
        cpu0, start = time.process_time(), time.perf_counter()
        [outcome] = monitor.mirror.pull_all_due(http_sources(client))
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        used = workers_cpu() - workers0
        if pool is not None:
            pool.shutdown()
        if outcome.findings or outcome.entries_size != outcome.tree_size:
            raise SystemExit(f"the benchmark centre was not mirrored cleanly: {outcome}")
        return wall, cpu, used, outcome.entries_size


def fresh_database(database_url: str | None, label: str) -> str | None:
    """A new, empty schema on the PostgreSQL of ``database_url`` (None: SQLite in the dir)."""
    if database_url is None:
        return None
    from sqlalchemy import create_engine, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    schema = f"mirror_bench_{label}_{os.getpid()}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


# --- 2. the witness ------------------------------------------------------------------------


def witness_rate(tmp: Path, per_log: int) -> float:
    root = tmp / "witness"
    create_monitor(root, "bench.example/w")
    logs = [Ed25519Signer.from_seed(f"bench.example/c/w{i}", bytes([i + 1]) * 32) for i in range(4)]
    with open_monitor(root) as monitor:
        for log in logs:
            monitor.add_log(log.vkey, None, 0)
    port = free_port()
    child = examctl("monitor", "serve", "--dir", str(root), "--port", str(port), "--no-mirror")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{url}/healthz", child)
        bodies = [_bodies(log, per_log) for log in logs]

        def feed(mine: list[bytes]) -> None:
            with httpx.Client(timeout=30) as client:
                for body in mine:
                    answer = client.post(f"{url}/add-checkpoint", content=body)
                    if answer.status_code != 200:
                        raise SystemExit(f"witness answered {answer.status_code}: {answer.text}")

        threads = [threading.Thread(target=feed, args=(b,)) for b in bodies]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return len(logs) * per_log / (time.perf_counter() - start)
    finally:
        child.terminate()
        child.wait()


def _bodies(log: Ed25519Signer, count: int) -> list[bytes]:
    """``count`` add-checkpoint bodies growing the log from 100 leaves by one each."""
    leaves = [leaf_hash(b"leaf %d" % i) for i in range(100 + count)]
    source = hash_source_from_leaf_hashes(leaves)
    bodies = []
    for k in range(count):
        old, new = (0 if k == 0 else 99 + k), 100 + k
        cp = Checkpoint(log.name, new, subtree_root(source, 0, new))
        proof = consistency_proof(source, old, new) if old else []
        bodies.append(add_checkpoint_body(old, proof, sign_checkpoint(cp, [log])))
    return bodies


# --- 3. scale ------------------------------------------------------------------------------


def serve_static(count: int, entries: int, port: int) -> None:
    """The child of the scale measurement: ``count`` logs from memory, their vkeys on stdout."""
    from api.monitor.server import BackgroundServer  # noqa: PLC0415
    from tests.api.monitor.static_log import StaticLogs  # noqa: PLC0415
    from tests.exam_core.audit.bundle_factory import LogBuilder  # noqa: PLC0415

    static = StaticLogs()
    for i in range(count):
        log = LogBuilder(origin=f"bench.example/c/s{i}")
        device = log.key("d1", "demo")
        while len(log.entries) < entries:
            log.append(device, "demo.event", n=len(log.entries))
        static.publish(f"s{i}", log)
        print(log.log_key.vkey, flush=True)
    with BackgroundServer(static.app, port=port):
        print("ready", flush=True)
        sys.stdin.read()


def scale(tmp: Path, entries: int, database_url: str | None) -> dict[int, tuple[float, float]]:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve-static", "100", str(entries), str(port)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    vkeys = []
    while (line := child.stdout.readline().strip()) != "ready":
        if not line:
            raise SystemExit("the static log server exited")
        vkeys.append(line)
    times = {}
    try:
        for count in (10, 100):
            root = tmp / f"scale-{count}"
            database = fresh_database(database_url, f"scale{count}")
            create_monitor(root, "bench.example/s", database_url=database)
            from api.monitor.mirror_client import http_sources, mirror_client  # noqa: PLC0415

            with open_monitor(root) as monitor, mirror_client(30) as client:
                for i, vkey in enumerate(vkeys[:count]):
                    monitor.add_log(vkey, f"http://127.0.0.1:{port}/s{i}", 0)
                monitor.mirror.interval_ms = 0  # every log due again for the idle round
                rounds = []
                for _ in range(2):
                    start = time.perf_counter()
                    done = monitor.mirror.pull_all_due(http_sources(client))
                    rounds.append(time.perf_counter() - start)
                    if len(done) != count or any(o.findings for o in done):
                        raise SystemExit("the scale logs were not mirrored cleanly")
            times[count] = (rounds[0], rounds[1])
    finally:
        child.stdin.close()
        child.wait()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 entries, fewer repeats")
    parser.add_argument("--entries", type=int, help="entries of the centre (default 30,000)")
    parser.add_argument("--small", type=int, default=300, help="entries of each scale log")
    parser.add_argument("--repeat", type=int, help="mirrors (and limits) to take the best of")
    parser.add_argument("--database-url", help="the monitor's PostgreSQL (default: SQLite)")
    parser.add_argument(
        "--workers", type=int, default=1, help="signature worker processes of the mirror"
    )
    parser.add_argument(
        "--actors", type=int, default=ACTORS, help="registered keys signing the centre's entries"
    )
    parser.add_argument("--serve-static", nargs=3, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_static:
        serve_static(*args.serve_static)
        return
    entries = args.entries or (5_000 if args.quick else 30_000)
    repeat = max(1, args.repeat or (2 if args.quick else 3))
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        vkey, log_entries, keys = build_centre(tmp / "centre", entries, args.actors)
        print(f"built a centre of {len(log_entries)} entries in {time.perf_counter() - t:.1f} s")
        sample = log_entries[: min(len(log_entries), 4000)]
        port = free_port()
        child = examctl("serve", "--dir", str(tmp / "centre"), "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        runs, raws = [], []
        try:
            wait_up(f"{url}/health", child)
            for n in range(repeat):
                raws.append(raw_rate(sample, keys))
                database = fresh_database(args.database_url, f"run{n}")
                wall, own, workers, count = mirror_once(tmp, vkey, url, database, n, args.workers)
                cpu = own + workers
                runs.append((wall, cpu, count))
                print(
                    f"  raw {raws[-1]:,.0f} /s, then mirror {count / wall:,.0f} entries/s "
                    f"({cpu / wall:.2f} cores busy, mirror and workers; per entry "
                    f"{own / count * 1e6:.1f} µs CPU in the mirror, {workers / count * 1e6:.1f} µs "
                    f"in its workers): per CPU-second {count / cpu / raws[-1]:.2f} of raw"
                )
        finally:
            child.terminate()
            child.wait()
        raws.append(raw_rate(sample, keys))
        raw = max(raws)
        wall, cpu, count = min(runs)
        rate = count / wall
        cores = cpu / wall
        print(f"limit: raw Ed25519 verification, one core (CPU time): {raw:,.0f} /s")
        print(
            f"mirror ({args.workers} signature workers): {rate:,.0f} entries/s wall, "
            f"{cores:.2f} cores busy (mirror and workers); per CPU-second {count / cpu:,.0f} "
            f"entries = {count / cpu / raw:.2f} of the per-core limit"
        )
        witness = witness_rate(tmp, 300 if args.quick else 1000)
        print(f"witness add-checkpoint with proofs, 4 logs × 1 client: {witness:,.0f} requests/s")
        times = scale(tmp, args.small, args.database_url)
        for count, (first, idle) in times.items():
            print(
                f"scale: {count:3} logs of {args.small} entries: first round {first:.2f} s "
                f"({first / count * 1000:.0f} ms a log), idle round {idle:.2f} s "
                f"({idle / count * 1000:.1f} ms a log)"
            )
        print_result(
            "mirror_entries_per_s",
            rate,
            "entries/s",
            raw * cores,
            digits=1,
            mirror_workers=args.workers,
            witness_add_checkpoint_per_s=round(witness, 1),
            mirror_cores_busy=round(cpu / wall, 2),
            scale_first_round_s_10=round(times[10][0], 3),
            scale_first_round_s_100=round(times[100][0], 3),
            scale_idle_round_s_10=round(times[10][1], 3),
            scale_idle_round_s_100=round(times[100][1], 3),
        )


if __name__ == "__main__":
    main()
