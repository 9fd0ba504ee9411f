"""Offline audit throughput: entries audited per second against raw Ed25519 verification.

Builds a bundle of signed entries on disk (eight demo actors, checkpoints along the way), then
runs what ``examctl audit`` runs — read the bundle, verify signatures in worker processes while
the tree is recomputed, then the ordered registry pass — and reports entries per second.  The
physical limit, measured in the same run, is raw Ed25519 verification of the same entries by the
project's rule (``exam_core.log.ed25519.is_valid``: libsodium behind the rule's encoding checks,
``bench/ed25519_verify.py``) on one core, times the cores the audit uses: an audit must verify
every signature, so it can at best match that.

A machine shared with other work only ever makes a figure look slower, and its speed drifts by
several per cent within a minute.  So the limit and the audit are measured alternately,
``--repeat`` times each, and the best of each is reported (every pair is printed too): both
figures get the same chance at a quiet machine.

    python bench/audit_throughput.py [--quick] [--entries N] [--jobs J] [--repeat R] [--serial]
"""

from __future__ import annotations

import argparse
import importlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ed25519_verify import verification_rate
from bench.result_line import print_result
from exam_core.audit.check import check_bundle
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import read_bundle
from exam_core.log.note import parse_note

ACTORS = 8
CHECKPOINT_EVERY = 4096


def build(entries: int) -> tuple[dict[str, bytes], list[bytes], dict[str, bytes]]:
    """The bundle files, the entries, and each actor's public key by name."""
    factory = importlib.import_module("tests.exam_core.audit.bundle_factory")
    log = factory.LogBuilder()
    actors = [log.key(f"bench{i}", "demo") for i in range(ACTORS)]
    while len(log.entries) < entries:
        n = len(log.entries)
        log.append(actors[n % ACTORS], "demo.event", n=n, note="exam-room-A3 poll")
        if len(log.entries) % CHECKPOINT_EVERY == 0:
            log.checkpoint()
    log.checkpoint()
    keys = {a.name: a.public_key for a in actors} | {log.admin.name: log.admin.public_key}
    return log.files(), log.entries, keys


def build_on_disk(root: Path, entries: int) -> tuple[list[bytes], dict[str, bytes]]:
    """Write the bundle of ``entries`` entries under ``root``; return the first 2,000 entries
    (the raw limit's sample) and the keys.  The rest is dropped before anything is measured:
    ``examctl audit`` reads a bundle from disk, and should not be measured forking a process
    that holds the whole log in memory besides."""
    t = time.perf_counter()
    files, log_entries, keys = build(entries)
    print(f"built {len(log_entries)} signed entries in {time.perf_counter() - t:.1f} s")
    factory = importlib.import_module("tests.exam_core.audit.bundle_factory")
    factory.write_files(root, files)
    return log_entries[:2000], keys


def raw_verifications_per_second(entries: list[bytes], keys: dict[str, bytes]) -> float:
    """Verifications per second by the rule on one core (CPU time of this process, the
    capacity of one core whatever else the machine runs), notes split beforehand.

    The best of three rounds: interference from other processes only slows a round down.
    """
    work = []
    for data in entries:
        note = parse_note(data)
        sig = note.signatures[0]
        work.append((keys[sig.name], sig.signature, note.text))
    return verification_rate(work, rounds=3)


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def audit(root: Path, jobs: int) -> tuple[float, float, int, int]:
    """(wall s, CPU s incl. workers, entries, entries the auditing process took back from the
    workers) of one full audit from disk."""
    cpu0, start = cpu_seconds(), time.perf_counter()
    taken_back = 0
    if jobs > 1:
        with ProcessSignatureCheck(workers=jobs - 1) as pool:
            report = check_bundle(read_bundle(root), signature_check=pool)
        taken_back = pool.taken_back
    else:
        report = check_bundle(read_bundle(root))
    wall = time.perf_counter() - start
    if not report.ok:
        raise SystemExit(f"the benchmark bundle failed its audit: {report.findings[:3]}")
    return wall, cpu_seconds() - cpu0, report.entries, taken_back


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 entries, under 30 s")
    parser.add_argument("--entries", type=int, help="entries in the bundle (default 100,000)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="audit processes")
    parser.add_argument("--repeat", type=int, help="audits (and limits) to take the best of")
    parser.add_argument("--serial", action="store_true", help="also audit in one process")
    args = parser.parse_args()
    entries = args.entries or (10_000 if args.quick else 100_000)
    args.repeat = max(1, args.repeat or (2 if args.quick else 3))

    raws: list[float] = []
    runs: list[tuple[float, float, int, int]] = []
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        root = Path(tmp) / "bundle"
        sample, keys = build_on_disk(root, entries)
        serial = audit(root, 1) if args.serial else None
        for _ in range(args.repeat):
            raws.append(raw_verifications_per_second(sample, keys))
            runs.append(audit(root, args.jobs))
            w, _, n, _ = runs[-1]
            print(
                f"  raw {raws[-1]:,.0f} /s, then audit {n / w:,.0f} entries/s: "
                f"{n / w / raws[-1] / args.jobs:.3f} per core"
            )
    raws.append(raw_verifications_per_second(sample, keys))
    raw = max(raws)
    wall, cpu, n, taken_back = min(runs)
    print(
        f"limit: raw Ed25519 verification, one core (CPU time): {raw:,.0f} /s "
        f"(best of {len(raws)} measurements from {min(raws):,.0f} /s)"
    )
    if serial is not None:
        s_wall, s_cpu, s_n, _ = serial
        print(
            f"audit in one process: {s_n / s_wall:,.0f} entries/s ({s_n / s_wall / raw:.2f} of "
            f"raw), {s_cpu / s_wall:.2f} cores busy; per CPU-second {s_n / s_cpu / raw:.2f} of raw"
        )
    rate = n / wall
    limit = raw * args.jobs
    print(
        f"audit with {args.jobs} processes, best of {len(runs)}: {n} entries in {wall:.2f} s = "
        f"{rate:,.0f} entries/s, "
        f"{cpu / wall:.2f} cores busy on average; {taken_back} entries verified by the "
        "auditing process instead of waiting for a worker"
    )
    print(f"ratio to raw verification on one core: {rate / raw:.2f}")
    print(f"ratio per core ({args.jobs} cores): {rate / limit:.2f}")
    print(
        f"per CPU-second actually used: {n / cpu:,.0f} entries "
        f"({n / cpu / raw:.2f} of raw verification; other load on the machine does not count)"
    )
    print_result("offline_audit_entries_per_s", rate, "entries/s", limit, digits=1)


if __name__ == "__main__":
    main()
