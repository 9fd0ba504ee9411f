"""How long the dashboard's state takes: the first read of every mirrored entry, and each poll.

The dashboard (``exam_core.monitoring.overview``) reads the mirror's copy of every centre's log
forward, once, to know the live exams and the rooms, then on each poll only what is new, plus
the heads, findings and warnings from the database.  This script fills a monitoring centre's
database (SQLite in a temporary directory, or ``--database-url``) with ``--centres`` mirrored
logs of ``--entries`` signed entries each (exams started and ended, device reports), written
straight into the mirror's tables as a verified pull would leave them, and measures:

- the first snapshot: entries surveyed per second, against reading the same entries from the
  mirror's table and decoding each one's JSON line, and nothing else, in the same run (the
  physical limit of a survey that decodes every entry);
- an idle poll (nothing new) over all the centres: what each open page costs every 2 s.

The last line is the JSON result (``bench.result_line``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.result_line import print_result
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer
from exam_core.monitoring.centre_survey import decode_event
from exam_core.monitoring.home import create_monitor, open_monitor
from exam_core.monitoring.overview import Overview

CENTRE_SEED = bytes(range(32))


def centre_entries(origin: str, count: int) -> list[bytes]:
    """``count`` entries of a busy centre: exams started (half of them stopped), device
    reports."""
    tablet = Ed25519Signer.from_seed(f"{origin}/tablet/t1", b"\x02" * 32)
    gateway = Ed25519Signer.from_seed(f"{origin}/gateway/g1", b"\x03" * 32)
    seqs = {tablet.name: 0, gateway.name: 0}
    out = []
    for i in range(count):
        stop = i % 4 == 2 and (i // 4) % 2 == 0  # every other exam is still under way
        signer = tablet if i % 4 == 0 or stop else gateway
        seqs[signer.name] += 1
        event: dict[str, object] = {
            "v": 1,
            "log": origin,
            "ts": 1_800_000_000_000 + i,
            "actor": signer.name,
            "seq": seqs[signer.name],
        }
        exam = f"{i // 4:032x}"
        if i % 4 == 0:
            event |= {"type": "exam.started", "session": "s", "exam": exam, "gate": 1}
        elif stop:
            event |= {"type": "exam.stopped", "exam": exam, "reason": "weather"}
        else:
            event |= {
                "type": "device.status",
                "device": f"jam-{i % 7}",
                "kind": "jammer",
                "state": "on",
                "values": {},
                "mono_ms": i,
                "raw": "00",
            }
        out.append(make_entry(signer, event))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--centres", type=int, default=100)
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--database-url")
    parser.add_argument("--quick", action="store_true", help="20 centres of 500 entries")
    args = parser.parse_args()
    if args.quick:
        args.centres, args.entries = 20, 500
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "monitor"
        create_monitor(root, "monitor.example/bench", database_url=args.database_url)
        with open_monitor(root) as monitor:
            store = monitor.mirror.store
            total = 0
            for c in range(args.centres):
                key = Ed25519Signer.from_seed(f"centre{c}.example/log", CENTRE_SEED)
                monitor.add_log(key.vkey, f"http://127.0.0.1:1/c{c}", 0)
                entries = centre_entries(key.name, args.entries)
                store.schedule_new_logs(0)
                tree = store.advance_tree(
                    key.name, 0, checkpoint=b"-", size=len(entries), root_hash=b"\0" * 32, tiles={}
                )
                held = store.advance_entries(
                    key.name, 0, entries=entries, key_registry=b"", findings=[], now_ms=0
                )
                if not (tree and held):
                    raise SystemExit(f"could not store the copy of {key.name}")
                total += len(entries)

            start = time.perf_counter()
            for c in range(args.centres):
                origin = Ed25519Signer.from_seed(f"centre{c}.example/log", CENTRE_SEED).name
                for data in store.entries(origin, 0, args.entries):
                    decode_event(data)
            parse_rate = total / (time.perf_counter() - start)

            overview = Overview(monitor, reuse_s=0.0)  # every poll reads the database
            start = time.perf_counter()
            first = overview.snapshot()
            first_s = time.perf_counter() - start
            live = sum(len(s.live) for s in first.surveys.values())
            start = time.perf_counter()
            overview.snapshot()
            idle_all = time.perf_counter() - start

            rate = total / first_s
    print(
        f"{args.centres} centres × {args.entries} entries: first snapshot {first_s:.2f} s = "
        f"{rate:,.0f} entries/s surveyed ({live} live exams); reading and decoding alone "
        f"{parse_rate:,.0f} entries/s; idle poll at {args.centres} centres {idle_all * 1000:.0f} ms"
    )
    print_result(
        "dashboard_first_snapshot_entries_per_s",
        rate,
        "entries/s",
        parse_rate,
        digits=0,
        centres=args.centres,
        entries_per_centre=args.entries,
        idle_poll_ms=round(idle_all * 1000, 1),
    )


if __name__ == "__main__":
    main()
