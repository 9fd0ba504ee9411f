"""Raw Ed25519 verifications per second on one core: the project's rule against the old path.

Every entry, checkpoint and cosignature is verified by ``exam_core.log.ed25519.is_valid``: the
rule's encoding checks in Python, then libsodium's ``crypto_sign_open`` (PyNaCl).  This script
measures, on the same signed log entries and one core (CPU time of this process):

- ``rule``: ``ed25519.is_valid``, the figure; it is also the per-core limit the ingest and audit
  benchmarks measure themselves against (``verification_rate``);
- ``libsodium``: ``crypto_sign_open`` alone, the limit of the figure (the rule's checks cost the
  difference);
- ``cryptography``: OpenSSL through ``cryptography`` with the key objects loaded once, the path
  every verifier took before the rule (it accepts speccheck cases 0–3 and 11, so it is not a
  choice any more; it is measured to show what the change gained).

The three are measured in turn, ``--repeat`` times each, and the best of each is kept: a
machine shared with other work only ever makes a pass slower.

    python bench/ed25519_verify.py [--quick] [--entries N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from exam_core.log import ed25519
from exam_core.log.entry import make_entry
from exam_core.log.note import Ed25519Signer, parse_note

ORIGIN = "bench.example/c/ed25519"
ACTORS = 8

Work = Sequence[tuple[bytes, bytes, bytes]]
"""(public key, signature, signed text) triples."""


def signed_entries(count: int) -> Work:
    """Demo entries of eight actors, about 320 bytes each as in the ingest benchmark."""
    signers = [Ed25519Signer.from_seed(f"{ORIGIN}/demo/a{i}", bytes([i]) * 32) for i in range(8)]
    work = []
    for n in range(count):
        signer = signers[n % ACTORS]
        event = {
            "v": 1,
            "log": ORIGIN,
            "type": "demo.event",
            "ts": 1_790_000_000_000 + n,
            "actor": signer.name,
            "seq": n // ACTORS + 1,
            "n": n,
            "note": "lane 3 jammer radiating, detector armed and quiet",
        }
        note = parse_note(make_entry(signer, event))
        work.append((signer.public_key, note.signatures[0].signature, note.text))
    return work


def verification_rate(
    work: Work,
    verify: Callable[[bytes, bytes, bytes], bool] | None = None,
    rounds: int = 3,
    clock: Callable[[], float] = time.process_time,
) -> float:
    """Verifications per second of one core, the best of ``rounds`` passes over ``work``.

    ``verify`` defaults to the project's rule; every signature must verify.  ``clock`` is CPU
    time of this process by default (the capacity of one core whatever else the machine runs);
    a benchmark whose own figure is wall time may pass ``time.perf_counter``.
    """
    check = ed25519.is_valid if verify is None else verify
    best = 0.0
    for _ in range(rounds):
        start = clock()
        for public_key, signature, text in work:
            if not check(public_key, signature, text):
                raise SystemExit("benchmark signatures must verify")
        best = max(best, len(work) / (clock() - start))
    return best


def libsodium_alone(public_key: bytes, signature: bytes, text: bytes) -> bool:
    try:
        crypto_sign_open(signature + text, public_key)
    except BadSignatureError:
        return False
    return True


def cryptography_path(work: Work) -> Callable[[bytes, bytes, bytes], bool]:
    """The verifier every note key used before the rule: OpenSSL, key objects loaded once."""
    keys = {pk: Ed25519PublicKey.from_public_bytes(pk) for pk, _, _ in work}

    def verify(public_key: bytes, signature: bytes, text: bytes) -> bool:
        try:
            keys[public_key].verify(signature, text)
        except InvalidSignature:
            return False
        return True

    return verify


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 entries, a few seconds")
    parser.add_argument("--entries", type=int, help="signed entries (default 10,000)")
    parser.add_argument("--repeat", type=int, default=5, help="passes to take the best of")
    args = parser.parse_args()
    work = signed_entries(args.entries or (2_000 if args.quick else 10_000))
    paths = {
        "rule": ed25519.is_valid,
        "libsodium": libsodium_alone,
        "cryptography": cryptography_path(work),
    }
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(max(1, args.repeat)):
        for name, verify in paths.items():
            rates[name].append(verification_rate(work, verify, rounds=1))
    best = {name: max(found) for name, found in rates.items()}
    print(
        f"{len(work)} signed entries, {len(work[0][2])} bytes of signed text each; "
        f"best of {args.repeat} passes"
    )
    for name, found in rates.items():
        print(
            f"  {name:13} {best[name]:9,.0f} /s   (passes: {', '.join(f'{r:,.0f}' for r in found)})"
        )
    print(f"rule / cryptography (old path): {best['rule'] / best['cryptography']:.2f}")
    print(f"rule / libsodium alone:         {best['rule'] / best['libsodium']:.3f}")
    print(
        json.dumps(
            {
                "figure": "ed25519 verification, one core",
                "value": round(best["rule"], 1),
                "unit": "verifications/s",
                "limit": round(best["libsodium"], 1),
                "ratio": round(best["rule"] / best["libsodium"], 3),
            }
        )
    )


if __name__ == "__main__":
    main()
