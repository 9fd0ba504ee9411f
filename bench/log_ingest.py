"""Log ingest: durable, signed entries per second through the full verify-and-append path.

Pre-signed ``demo.event`` entries from several actors are submitted to a centre (SQLite, WAL,
synchronous=FULL, default batching of 256 entries / 250 ms), at most ``IN_FLIGHT`` unanswered
at a time, and counted when their futures resolve, i.e. when the batch holding them is
committed with its signed checkpoint.  Each entry goes through the strict parse, the actor's
Ed25519 signature check (in worker processes, so both cores work), the key registry's ordered
checks, the Merkle tree and the database.

The physical limit, measured in the same run on one core: raw Ed25519 verifications per second
of the same entries by the project's rule (``exam_core.log.ed25519.is_valid``, libsodium behind
the rule's encoding checks; ``bench/ed25519_verify.py``), the cost a log that verifies every
actor's signature cannot avoid.  The ratio is ingest/s over that.

On a shared machine the wall-clock rate says as much about the other load as about ingest, so
the pooled run also prints its CPU time an entry — the centre's process and the workers (read
from Linux's /proc) — and the rate two idle cores would reach at that cost if both were kept
busy: a bound, which the measured rate approaches when the machine is quiet.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import Future
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ed25519_verify import verification_rate
from bench.result_line import print_result
from exam_core.centre.centre import Centre
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.schemas.types import DEMO

ORIGIN = "bench.example/c/ingest"
ACTORS = 8
IN_FLIGHT = 2048
"""Entries submitted and not yet answered: 8 batches, so the writer never waits for work.
A service's clients wait for their answers too; 40,000 futures held at once would only
measure how often the cyclic garbage collector walks them (3 full collections, 0.35 s of CPU,
about 9 µs an entry, in the run with workers)."""


def raw_verify_rate(entries: list[bytes], public: dict[str, bytes], seconds: float) -> float:
    """Verifications per second by the rule on this core, the best of passes over the first
    2,000 entries for about ``seconds``, in wall time like the ingest figure it bounds."""
    work = []
    for data in entries[:2000]:
        parsed = parse_entry(data)
        work.append((public[parsed.actor], parsed.note.signatures[0].signature, parsed.note.text))
    rounds = max(1, round(seconds * 16_000 / len(work)))  # ~16,000 verifications a second
    return verification_rate(work, rounds=rounds, clock=time.perf_counter)


def children_cpu() -> dict[int, float]:
    """CPU seconds of each live child process (the verification workers), read from Linux's
    /proc; empty elsewhere, and the workers' figure is then left out."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, float] = {}
    for children in Path("/proc/self/task").glob("*/children"):
        for pid in children.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            found[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def ingest_rate(root: Path, entries: list[bytes], workers: int) -> tuple[float, float, float]:
    """(entries per second, CPU seconds an entry of this process's threads, and of the
    workers) of one run; with no workers the first CPU figure is the whole cost."""
    with Centre.open(root, verify_workers=workers) as centre:
        centre.start_workers()  # process start-up is not ingest
        before = children_cpu()
        start, cpu = time.perf_counter(), time.process_time()
        in_flight: deque[Future[int]] = deque()
        for data in entries:
            in_flight.append(centre.submit_entry(data))
            if len(in_flight) >= IN_FLIGHT:
                in_flight.popleft().result()
        while in_flight:
            in_flight.popleft().result()
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        after = children_cpu()
    pool = sum(t - before.get(pid, 0.0) for pid, t in after.items())
    return len(entries) / elapsed, cpu / len(entries), pool / len(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run (< 30 s)")
    args = parser.parse_args()
    count = 6_000 if args.quick else 40_000
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp) / "centre"
        now = time.time_ns() // 1_000_000
        Centre.create(root, ORIGIN).close()
        with Centre.open(root, max_age_ms=0) as centre:
            signers = [centre.register_key(f"demo/a{i}", DEMO) for i in range(ACTORS)]
        public = {s.name: s.public_key for s in signers}
        batches: list[list[bytes]] = []
        seq = dict.fromkeys((s.name for s in signers), 0)
        for part in range(2):
            batch = []
            for n in range(count):
                s = signers[n % ACTORS]
                seq[s.name] += 1
                event = {
                    "v": 1,
                    "log": ORIGIN,
                    "type": "demo.event",
                    "ts": now,
                    "actor": s.name,
                    "seq": seq[s.name],
                    "n": part * count + n,
                    "note": "lane 3 jammer radiating, detector armed and quiet",
                }
                batch.append(make_entry(s, event))
            batches.append(batch)
        size = len(batches[0][0])
        limit = raw_verify_rate(batches[0], public, 1.5 if args.quick else 4.0)
        single, single_cpu, _ = ingest_rate(root, batches[0], workers=0)
        pooled, centre_cpu, pool_cpu = ingest_rate(root, batches[1], workers=2)
    cores = os.cpu_count()
    print(f"entries: {count} per run, {size} bytes each, {ACTORS} actors; {cores} cores")
    print(f"raw Ed25519 verify, one core:          {limit:9.0f} /s  (physical limit)")
    print(f"ingest, verification in this process:  {single:9.0f} /s  ratio {single / limit:.2f}")
    print(
        f"  in this process, per CPU-second:     {1 / single_cpu:9.0f} /s  ratio "
        f"{1 / single_cpu / limit:.2f} ({single_cpu * 1e6:.0f} CPU-µs an entry; other load does "
        "not count)"
    )
    print(f"ingest, verification in 2 workers:     {pooled:9.0f} /s  ratio {pooled / limit:.2f}")
    both = centre_cpu + pool_cpu
    print(
        f"  CPU-µs an entry: centre's process {centre_cpu * 1e6:.0f}, workers "
        f"{pool_cpu * 1e6:.0f}, both {both * 1e6:.0f}; on 2 idle cores at most "
        f"{2 / both:.0f} /s, ratio {2 / both / limit:.2f} (load {os.getloadavg()[0]:.1f})"
    )
    print_result("log_ingest_entries_per_s", pooled, "entries/s", limit, digits=1)


if __name__ == "__main__":
    main()
