"""A year of exams: what opening, ingest and the audit cost as the log grows.

One centre per size (100,000 and 1,000,000 entries; ``--quick``: 100,000 and 300,000), on
SQLite or, with ``--database-url``, on PostgreSQL (a schema per centre, dropped at the end).
For each size it prints:

- **open**: ``Centre.open`` of a centre closed cleanly (it resumes from the snapshot it saved
  when it closed; best of three), and of one whose snapshot is a full ingest run older than
  the log (what a crash can leave: a snapshot is saved every 16,384 entries);
- **ingest**: pre-signed ``demo.event`` entries through the whole path (strict parse, Ed25519
  signature, key registry, tree, durable commit with a signed checkpoint, default batching),
  in one process, so that every microsecond the log spends beside the signature shows;
  the sizes take turns, ``--repeat`` runs each, and the best run of each size counts;
- **audit**: ``examctl log export`` then ``examctl audit`` of the whole log, each a child
  process; the audit's wall time (start-up included) and its peak resident memory (the
  largest of ``examctl`` and its worker processes, through GNU time when there is one, see
  ``GNU_TIME``);
- **incremental audit**: that audit saves its state (``--save-state``); 10,000 more entries are
  written, the log exported again and audited with ``--since`` the state: wall time (start-up
  included, the goal is under 3 s at 1,000,000 entries), peak memory, and the state's size;
  its floor, ``examctl audit --help`` (interpreter and imports), is timed just after.

How the logs are built: a centre is created and 64 demo keys registered through the centre;
then the entries (round-robin over the keys, each signed by its actor, signed in two processes)
are written through the store's batch path, ``LogWriter.append`` — 256 entries and a checkpoint
signed by the log key per transaction, exactly the rows ingest writes — without the sequencer's
admission checks, which the audit re-runs anyway.  The first ``Centre.open`` then replays the
rows written behind its back (the figure printed as "first open") and saves a snapshot.

The limit each figure is held against is the same figure at the smallest size, measured in the
same run: the goal is that nothing grows with the log (opening under 1 s at 1,000,000 entries;
ingest and audit rates at the largest size within 10 % of the smallest).  The last line's
``ratio`` is the worst of the ingest and audit rate ratios, largest size over smallest.
Building and auditing a million entries takes minutes; even ``--quick`` takes a few.

    python bench/scale.py [--quick] [--database-url URL] [--sizes N,N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ed25519_verify import verification_rate
from bench.result_line import print_result
from exam_core.centre.centre import KEYS_DIR, SNAPSHOT_FILE, Centre, key_file_name
from exam_core.centre.keys import read_key_file
from exam_core.centre.store import LogStore
from exam_core.db.engine import make_engine
from exam_core.log.checkpoint import Checkpoint, sign_checkpoint
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import DEMO

REPO = Path(__file__).resolve().parents[1]
ORIGIN = "bench.example/c/scale"
ACTORS = 64
BATCH = 256
GNU_TIME = Path("/usr/bin/time")
"""Measures a child's peak resident memory.  ``ru_maxrss`` of a child read with ``wait4`` is
never below this process's own resident size when it forked (Linux carries the high-water mark
across ``exec``): with 300 MB resident here, ``python -c pass`` reads 312 MB that way and 10 MB
through GNU time, which forks the child from its own small process."""
INCREMENT = 10_000
"""Entries added after the full audit, then audited from its saved state (``--since``)."""
SIGN_CHUNK = 16_384
"""Entries per signing job (a multiple of ACTORS, so each job starts at actor 0)."""


def sign_entries(
    actors: list[tuple[str, bytes, int]], first: int, count: int, ts: int
) -> list[bytes]:
    """Entries ``first … first+count`` of a round-robin over ``actors`` (name, seed, seq of
    entry 0): entry n is actor n mod A's, with seq = its first seq + n div A."""
    signers = [Ed25519Signer.from_seed(name, seed) for name, seed, _ in actors]
    out = []
    for n in range(first, first + count):
        actor = n % len(actors)
        event = {
            "v": 1,
            "log": ORIGIN,
            "type": "demo.event",
            "ts": ts,
            "actor": signers[actor].name,
            "seq": actors[actor][2] + n // len(actors),
            "n": n,
            "note": "lane 3 jammer radiating, detector armed and quiet",
        }
        out.append(make_entry(signers[actor], event))
    return out


@dataclass
class Log:
    """One centre of the benchmark, and how far its actors have signed."""

    root: Path
    url: str
    actors: list[tuple[str, bytes, int]] = field(default_factory=list)
    """(key name, seed, seq of the next entry this benchmark numbers 0)."""
    signed: int = 0
    """Entries numbered so far (entry n belongs to actor n mod ACTORS)."""

    def public_keys(self) -> dict[str, bytes]:
        return {
            name: Ed25519Signer.from_seed(name, seed).public_key for name, seed, _ in self.actors
        }

    def sign(self, pool: ProcessPoolExecutor, count: int) -> Iterator[list[bytes]]:
        """The next ``count`` entries, in chunks, signed in the pool."""
        ts = time.time_ns() // 1_000_000
        starts = range(self.signed, self.signed + count, SIGN_CHUNK)
        jobs = [
            pool.submit(sign_entries, self.actors, s, min(SIGN_CHUNK, self.signed + count - s), ts)
            for s in starts
        ]
        self.signed += count
        for job in jobs:
            yield job.result()


def create(root: Path, url: str) -> Log:
    """A new centre with ACTORS registered demo keys."""
    with Centre.create(root, ORIGIN, database_url=url) as centre:
        signers = [centre.register_key(f"demo/a{i}", DEMO) for i in range(ACTORS)]
    return Log(root, url, [(s.name, s.private_key.private_bytes_raw(), 1) for s in signers])


def build(log: Log, size: int, pool: ProcessPoolExecutor) -> float:
    """Grow the log to ``size`` entries through the store's batch path; the seconds taken."""
    log_key = read_key_file(log.root / KEYS_DIR / key_file_name(ORIGIN), ORIGIN)

    def sign(tree_size: int, root: bytes) -> bytes:
        return sign_checkpoint(Checkpoint(ORIGIN, tree_size, root), [log_key])

    start = time.perf_counter()
    store = LogStore.open(make_engine(log.url))
    try:
        now = time.time_ns() // 1_000_000
        for chunk in log.sign(pool, size - store.size()):
            for i in range(0, len(chunk), BATCH):
                with store.write() as writer:
                    writer.append(chunk[i : i + BATCH], sign, now)
    finally:
        store.close()
    return time.perf_counter() - start


def open_seconds(root: Path) -> tuple[float, int]:
    """Seconds ``Centre.open`` took, and how many entries it read from the log."""
    start = time.perf_counter()
    centre = Centre.open(root)
    elapsed = time.perf_counter() - start
    replayed = centre.opening.replayed
    centre.close()
    return elapsed, replayed


def raw_verify_rate(entries: list[bytes], public: dict[str, bytes]) -> float:
    """Verifications per CPU-second of the first 2,000 entries by the project's rule
    (``bench/ed25519_verify.py``, as the other benchmarks' limit): how fast this core is right
    now (the machine's load moves every figure; it does not move their ratios)."""
    jobs = []
    for data in entries[:2000]:
        entry = parse_entry(data)
        jobs.append((public[entry.actor], entry.note.signatures[0].signature, entry.note.text))
    return verification_rate(jobs, rounds=1)


def ingest_rate(log: Log, entries: list[bytes]) -> tuple[float, float]:
    """Entries per second of wall time, and per CPU-second of this process (all its threads:
    on a shared machine the second moves less; the database server's CPU is not in it)."""
    with Centre.open(log.root) as centre:
        start, cpu = time.perf_counter(), time.process_time()
        futures = [centre.submit_entry(data) for data in entries]
        for future in futures:
            future.result()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return len(entries) / wall, len(entries) / cpu


def examctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli.main", *args]


def audit(log: Log, work: Path, *options: str) -> tuple[float, float, int]:
    """(audit wall seconds, peak RSS in MB, entries) of the exported log; ``options`` are
    passed to ``examctl audit`` (``--save-state``, ``--since``)."""
    bundle = work / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    subprocess.run(
        examctl("log", "export", "--dir", str(log.root), "--out", str(bundle)),
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile() as peak:
        command = examctl("audit", "--json", *options, str(bundle))
        if GNU_TIME.exists():  # see GNU_TIME: the peak of examctl itself
            command = [str(GNU_TIME), "-f", "%M", "-o", peak.name, *command]
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, stdout=out)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        report = json.loads(out.read() or b"{}")
        peak_kb = int(Path(peak.name).read_text().split()[-1]) if GNU_TIME.exists() else None
    shutil.rmtree(bundle, ignore_errors=True)
    if child.returncode != 0 or not report.get("ok"):
        raise SystemExit(f"the benchmark log failed its audit: {report.get('findings', [])[:3]}")
    return wall, (peak_kb or usage.ru_maxrss) / 1024, int(report["entries"])


def startup_seconds() -> float:
    """Wall seconds of ``examctl audit --help``: the start-up every ``examctl audit`` pays (the
    interpreter and the audit command's imports), the floor of a short audit's time.  Not
    ``examctl --help``, which loads every command group to list them."""
    start = time.perf_counter()
    subprocess.run(examctl("audit", "--help"), cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


@contextmanager
def database_urls(base: str | None, work: Path, count: int) -> Iterator[list[str]]:
    """One empty database per centre: SQLite files, or PostgreSQL schemas dropped after."""
    if base is None:
        yield [f"sqlite:///{work / f'log{i}.db'}" for i in range(count)]
        return
    schemas = [f"bench_scale_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield [
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
            for schema in schemas
        ]
    finally:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Figures:
    size: int = 0
    build_s: float = 0.0
    first_open_s: float = 0.0
    first_open_read: int = 0
    open_s: float = float("inf")
    stale_open_s: float = 0.0
    stale_open_read: int = 0
    ingest: list[float] = field(default_factory=list)
    ingest_cpu: list[float] = field(default_factory=list)
    raw_verify: list[float] = field(default_factory=list)
    audit_s: float = 0.0
    audit_entries: int = 0
    audit_peak_mb: float = 0.0
    state_mb: float = 0.0
    since_s: float = 0.0
    since_peak_mb: float = 0.0
    startup_s: float = 0.0

    @property
    def ingest_rate(self) -> float:
        return max(self.ingest)

    @property
    def ingest_cpu_rate(self) -> float:
        return max(self.ingest_cpu)

    @property
    def audit_rate(self) -> float:
        return self.audit_entries / self.audit_s


def measure(sizes: list[int], url: str | None, repeat: int, batch: int) -> list[Figures]:
    figures = [Figures(size) for size in sizes]
    # Forked before any centre (and its threads) exists in this process.
    context = multiprocessing.get_context("fork")
    with (
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
        ProcessPoolExecutor(2, mp_context=context) as pool,
        database_urls(url, Path(tmp), len(sizes)) as urls,
    ):
        work = Path(tmp)
        logs = [create(work / f"centre{i}", u) for i, u in enumerate(urls)]
        for log, fig in zip(logs, figures, strict=True):
            fig.build_s = build(log, fig.size, pool)
            fig.first_open_s, fig.first_open_read = open_seconds(log.root)
            print(
                f"{fig.size:>9,} entries built in {fig.build_s:.1f} s; first open read "
                f"{fig.first_open_read:,} entries written behind its back in "
                f"{fig.first_open_s:.2f} s and saved a snapshot",
                flush=True,
            )
        for rep in range(repeat):
            for log, fig in zip(logs, figures, strict=True):
                entries = [e for chunk in log.sign(pool, batch) for e in chunk]
                stale = (log.root / SNAPSHOT_FILE).read_bytes()
                fig.raw_verify.append(raw_verify_rate(entries, log.public_keys()))
                wall_rate, cpu_rate = ingest_rate(log, entries)
                fig.ingest.append(wall_rate)
                fig.ingest_cpu.append(cpu_rate)
                for _ in range(3 if rep == 0 else 1):
                    fig.open_s = min(fig.open_s, open_seconds(log.root)[0])
                if rep == 0:
                    # A snapshot one ingest run older than the log: the entries after it are
                    # read again (the next clean close saves a current one).
                    (log.root / SNAPSHOT_FILE).write_bytes(stale)
                    fig.stale_open_s, fig.stale_open_read = open_seconds(log.root)
                print(
                    f"{fig.size:>9,} entries, run {rep + 1}: ingest {fig.ingest[-1]:,.0f} "
                    f"entries/s, {fig.ingest_cpu[-1]:,.0f} per CPU-second (raw Ed25519 "
                    f"verification just before: {fig.raw_verify[-1]:,.0f} per CPU-second); "
                    f"open {fig.open_s:.3f} s",
                    flush=True,
                )
        for i, (log, fig) in enumerate(zip(logs, figures, strict=True)):
            state = work / f"audit-state-{i}"
            fig.audit_s, fig.audit_peak_mb, fig.audit_entries = audit(
                log, work, "--save-state", str(state)
            )
            fig.state_mb = state.stat().st_size / 1e6
            print(
                f"{fig.size:>9,} entries: audit of {fig.audit_entries:,} entries in "
                f"{fig.audit_s:.1f} s, peak {fig.audit_peak_mb:.0f} MB; state saved "
                f"({fig.state_mb:.1f} MB)",
                flush=True,
            )
            # The incremental audit: INCREMENT entries more, audited from the saved state.
            build(log, fig.audit_entries + INCREMENT, pool)
            fig.since_s, fig.since_peak_mb, audited = audit(log, work, "--since", str(state))
            fig.startup_s = startup_seconds()
            print(
                f"{fig.size:>9,} entries: incremental audit of the last {INCREMENT:,} of "
                f"{audited:,} entries in {fig.since_s:.2f} s, peak {fig.since_peak_mb:.0f} MB "
                f"(`examctl audit --help` just after: {fig.startup_s:.2f} s)",
                flush=True,
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 and 300,000 entries")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite files)")
    parser.add_argument("--sizes", help="comma-separated log sizes, smallest first")
    parser.add_argument("--repeat", type=int, help="ingest runs per size (default 3; quick 2)")
    parser.add_argument("--batch", type=int, help="entries per ingest run (default 16,000)")
    args = parser.parse_args()
    if args.sizes:
        sizes = sorted(int(s) for s in args.sizes.split(","))
    else:
        sizes = [100_000, 300_000] if args.quick else [100_000, 1_000_000]
    batch = args.batch or (8_000 if args.quick else 16_000)
    repeat = max(1, args.repeat or (2 if args.quick else 3))
    figures = measure(sizes, args.database_url, repeat, batch)

    base = figures[0]
    print(f"\ndatabase: {'PostgreSQL' if args.database_url else 'SQLite'}; {os.cpu_count()} cores")
    print(
        "    size | first open (read)  | open    | stale open (read)  | ingest /s (ratio) "
        "| ingest /CPU-s (ratio) | audit /s (ratio) | audit peak MB (ratio)"
    )
    for fig in figures:
        print(
            f"{fig.size:>8,} | {fig.first_open_s:6.2f} s ({fig.first_open_read:>7,}) | "
            f"{fig.open_s:.3f} s | {fig.stale_open_s:.3f} s ({fig.stale_open_read:>6,}) | "
            f"{fig.ingest_rate:7,.0f} ({fig.ingest_rate / base.ingest_rate:.2f})    | "
            f"{fig.ingest_cpu_rate:9,.0f} ({fig.ingest_cpu_rate / base.ingest_cpu_rate:.2f})"
            f"      | {fig.audit_rate:6,.0f} ({fig.audit_rate / base.audit_rate:.2f})   | "
            f"{fig.audit_peak_mb:5.0f} ({fig.audit_peak_mb / base.audit_peak_mb:.2f})"
        )
    print(
        "    size | incremental audit of the last 10,000 (ratio) | examctl start-up "
        "| peak MB | saved state MB"
    )
    for fig in figures:
        print(
            f"{fig.size:>8,} | {fig.since_s:8.2f} s ({fig.since_s / base.since_s:.2f})"
            f"                      | {fig.startup_s:8.2f} s       | {fig.since_peak_mb:7.0f} "
            f"| {fig.state_mb:6.1f}"
        )
    top = figures[-1]
    ingest_ratio = top.ingest_rate / base.ingest_rate
    audit_ratio = top.audit_rate / base.audit_rate
    worst = min(ingest_ratio, audit_ratio)
    print(
        f"goals: open under 1 s at {top.size:,}: {top.open_s:.3f} s "
        f"({'met' if top.open_s < 1 else 'NOT met'}); ingest rate within 10 % of the smallest "
        f"size: {ingest_ratio:.2f} ({'met' if ingest_ratio >= 0.9 else 'NOT met'}); "
        f"audit rate ratio {audit_ratio:.2f}; incremental audit of the last {INCREMENT:,} "
        f"under 3 s: {top.since_s:.2f} s ({'met' if top.since_s < 3 else 'NOT met'})"
    )
    print_result(
        "scale_rate_ratio_largest_over_smallest",
        worst,
        "ratio",
        None,
        ratio=worst,
        sizes=",".join(str(f.size) for f in figures),
        open_s=round(top.open_s, 3),
        ingest_ratio=round(ingest_ratio, 3),
        ingest_cpu_ratio=round(top.ingest_cpu_rate / base.ingest_cpu_rate, 3),
        audit_ratio=round(audit_ratio, 3),
        audit_peak_mb=round(top.audit_peak_mb, 1),
        since_s=round(top.since_s, 2),
        since_startup_s=round(top.startup_s, 2),
        since_peak_mb=round(top.since_peak_mb, 1),
        state_mb=round(top.state_mb, 1),
        database="postgresql" if args.database_url else "sqlite",
    )


if __name__ == "__main__":
    main()
