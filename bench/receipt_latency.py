"""Receipt latency: from an actor's append to its tlog-proof over a published checkpoint.

Several client threads (tablets, gateways) append signed ``demo.event`` entries at random
(Poisson) instants to a centre with the default batching (256 entries or 250 ms; SQLite, WAL,
synchronous=FULL), and each waits for its receipt: the entry durable, the batch's checkpoint
signed and stored, the inclusion proof read from the stored tree hashes.  The latency is taken
from just before the entry is signed to the moment the receipt is in hand.

No physical limit applies to a latency that batching sets on purpose; for reference the run
also measures one durable commit of a single-entry batch (the floor without batching).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.result_line import print_result
from exam_core.centre.centre import Centre
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import DEMO
from exam_core.log.tlog_proof import verify_receipt

ORIGIN = "bench.example/c/receipts"
CLIENTS = 48


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def client(
    centre: Centre,
    signer: Ed25519Signer,
    rate: float,
    until: float,
    seed: int,
    out: list[float],
    receipts: list[tuple[bytes, int]],
) -> None:
    rng = random.Random(seed)
    n = 0
    while True:
        time.sleep(rng.expovariate(rate))
        if time.monotonic() >= until:
            return
        start = time.perf_counter()
        index = centre.append(signer, "demo.event", {"n": n})
        receipt = centre.wait_receipt(index)
        out.append(time.perf_counter() - start)
        receipts.append((receipt, index))
        n += 1


def single_commit_ms(centre: Centre, signer: Ed25519Signer, rounds: int) -> float:
    """Median time of a one-entry batch, when nothing waits for more entries."""
    times = []
    for n in range(rounds):
        start = time.perf_counter()
        centre.append(signer, "demo.event", {"n": n})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s)")
    parser.add_argument("--rate", type=float, default=150.0, help="offered entries/s, total")
    args = parser.parse_args()
    seconds = 8.0 if args.quick else 40.0
    with tempfile.TemporaryDirectory(prefix="bench-receipts-") as tmp:
        root = Path(tmp) / "centre"
        Centre.create(root, ORIGIN).close()
        with Centre.open(root, max_age_ms=0) as unbatched:
            probe = unbatched.register_key("demo/probe", DEMO)
            floor = single_commit_ms(unbatched, probe, 30 if args.quick else 100)
            names = [unbatched.register_key(f"demo/c{i}", DEMO).name for i in range(CLIENTS)]
        with Centre.open(root) as centre:
            signers = [centre.signer(name) for name in names]
            latencies: list[float] = []
            receipts: list[tuple[bytes, int]] = []
            until = time.monotonic() + seconds
            threads = [
                threading.Thread(
                    target=client,
                    args=(centre, s, args.rate / CLIENTS, until, i, latencies, receipts),
                )
                for i, s in enumerate(signers)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # Every receipt is checked offline, as its holder would.
            policy = centre.policy()
            for receipt, index in receipts:
                verify_receipt(receipt, centre.store.entry(index), policy)
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    print(f"{len(latencies)} receipts from {CLIENTS} clients at ~{args.rate:.0f} entries/s offered")
    print("batching: 256 entries or 250 ms (defaults); every receipt verified offline")
    print(f"receipt latency p50 {p50:7.1f} ms   (goal < 300 ms)")
    print(f"receipt latency p99 {p99:7.1f} ms   (goal < 1000 ms)")
    print(f"reference: one-entry batch without waiting, median {floor:.1f} ms")
    print_result("receipt_latency_p50_ms", p50, "ms", None, digits=1, p99=round(p99, 1))


if __name__ == "__main__":
    main()
