"""The warnings' hand-over from the mirror: entries handed to the warnings per second, and the
rebuild of the feed's memory after a restart, against decoding the same entries alone.

A log of ``--entries`` signed entries (a tenth of them supervisors' admissions after a failed
face match, each a signal; the rest demo events) is mirrored from memory into a new monitoring
centre (SQLite, or ``--database-url``); then, timed apart from the mirror:

1. **hand-over**: ``MirrorFeed.after_pull`` from position 0 — every entry read back from the
   mirror's store, decoded, observed, its signals recorded with the position, 512 at a time;
2. **rebuild**: a new ``MirrorFeed`` (a restarted process) observing the stored entries up to
   the position, recording nothing (``_caught_up``);
3. **limit**: ``parse_entry`` of the same entries, in memory — the decoding each hand-over
   must do, with no database.

Best of ``--repeat`` each (a shared machine only makes a pass slower).

    python bench/mirror_feed.py [--quick] [--entries N] [--repeat R] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.result_line import print_result
from exam_core.log.entry import parse_entry
from exam_core.log.tiles import TilePath, bundle_files
from exam_core.monitoring.home import create_monitor, open_monitor
from exam_core.monitoring.mirror import PullOutcome
from exam_core.monitoring.mirror_feed import MirrorFeed
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.warning_store import WarningStore
from tests.exam_core.audit.bundle_factory import LogBuilder

ORIGIN = "bench.example/c/feed"


class MemorySource:
    """A log served from memory in the tlog-tiles layout."""

    def __init__(self, log: LogBuilder) -> None:
        self.note = log.checkpoint()
        self.files = bundle_files(log.entries)

    def checkpoint(self) -> bytes:
        return self.note

    def tile(self, tile: TilePath) -> bytes:
        return self.files[tile.path]


def build_log(entries: int) -> LogBuilder:
    log = LogBuilder(origin=ORIGIN)
    device = log.key("d1", "demo")
    supervisor = log.key("s1", "supervisor")
    while len(log.entries) < entries:
        n = len(log.entries)
        if n % 10 == 0:
            log.append(
                supervisor,
                "checkin.decided",
                session="s-1",
                candidate=f"c-{n}",
                decision="admit",
                reason="identity_confirmed",
            )
        else:
            log.append(device, "demo.event", n=n)
    return log


def one_pass(log: LogBuilder, url: str | None) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "monitor"
        create_monitor(root, "bench.example", database_url=url)
        with open_monitor(root) as monitor:
            source = MemorySource(log)
            known = monitor.add_log(log.log_key.vkey, "http://memory", 0)
            monitor.mirror.store.schedule_new_logs(0)
            outcome = monitor.mirror.pull(known, source)
            assert outcome.entries_size == len(log.entries), outcome
            warnings = WarningStore(monitor.store.engine)

            def feed() -> MirrorFeed:
                return MirrorFeed(root, monitor.mirror.store, warnings, DEFAULT_TABLE)

            started = time.perf_counter()
            feed().after_pull(known, source, PullOutcome(ORIGIN), 0)
            handed = time.perf_counter() - started
            assert warnings.feed_position(ORIGIN).entries_fed == len(log.entries)
            signals = len(warnings.signals_since(0))
            started = time.perf_counter()
            feed()._caught_up(ORIGIN)
            rebuilt = time.perf_counter() - started
        return handed, rebuilt, signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 entries, one pass")
    parser.add_argument("--entries", type=int, help="entries mirrored (default 20,000)")
    parser.add_argument("--repeat", type=int, help="passes to take the best of (default 2)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    args.repeat = max(1, args.repeat or (1 if args.quick else 2))
    log = build_log(args.entries or (2_000 if args.quick else 20_000))
    n = len(log.entries)
    handed = rebuilt = float("inf")
    parse = float("inf")
    signals = 0
    for _ in range(args.repeat):
        h, r, signals = one_pass(log, args.database_url)
        handed, rebuilt = min(handed, h), min(rebuilt, r)
        started = time.perf_counter()
        for data in log.entries:
            parse_entry(data)
        parse = min(parse, time.perf_counter() - started)
    print(f"entries {n}, signals {signals}, database {args.database_url or 'SQLite'}")
    print(f"hand-over: {n / handed:,.0f} entries/s ({handed:.2f} s)")
    print(f"rebuild after a restart: {n / rebuilt:,.0f} entries/s ({rebuilt:.2f} s)")
    print(f"limit, parse_entry alone in memory: {n / parse:,.0f} entries/s")
    print_result(
        "mirror_feed_entries_per_s",
        n / handed,
        "entries/s",
        n / parse,
        rebuild_entries_per_s=round(n / rebuilt),
        signals=signals,
    )


if __name__ == "__main__":
    main()
