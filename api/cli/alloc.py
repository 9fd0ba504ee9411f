"""``examctl alloc``: draw a demonstration allocation, and verify a published one.

``alloc demo`` runs the whole protocol of DESIGN §4 on a synthetic roster: build the manifest,
commit it (its hash and a beacon round that is still in the future), wait for that round of a
local development beacon, prove the VRF and draw.  The three files appear together or not at
all (``api.cli.output_dir``); an existing ``--out`` is replaced only with ``--force``.
``alloc verify`` recomputes everything from the three published files; it exits 0 when the
allocation holds and 1 with the reasons when not.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path
from typing import Any

from allocation import (
    ASSIGNMENT_FILE,
    MANIFEST_FILE,
    PROOF_FILE,
    BeaconTarget,
    DevBeacon,
    aim_at_next_round,
    check_publication,
    encode_assignment,
    encode_manifest,
    encode_proof,
    make_allocation,
    prepare_manifest,
    synthetic_roster,
    vrf_public_key,
)
from allocation.errors import CapBelowQStarError, InfeasibleError
from allocation.manifest import MAX_MANIFEST_BYTES, MAX_PEOPLE, MAX_SCALE
from api.cli.arguments import integer
from api.cli.output_dir import check_output_dir, staged_output_dir
from exam_core.findings import ERROR, WARNING
from exam_core.input_file import read_input_file
from exam_core.log.note import ed25519_verifier_from_vkey

EXIT_FAILED = 1
DEMO_PERIOD_MS = 200
MAX_SEED = 2**63 - 1
PUBLISHED_FILE_LIMITS = {
    MANIFEST_FILE: MAX_MANIFEST_BYTES,
    PROOF_FILE: 64 * 1024,
    ASSIGNMENT_FILE: 4 * 1024 * 1024,
}
"""The manifest's own limit; a proof is a few hundred bytes and an assignment of
``MAX_PEOPLE`` pairs of 64-character ids stays below 2 MiB."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def run_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    check_output_dir(out, force=args.force)  # before the work, not after it
    seed = int(args.seed)
    roster = synthetic_roster(args.candidates, args.examiners, seed)
    vrf_secret = hashlib.sha256(b"examctl alloc demo: VRF key\x00" + str(seed).encode()).digest()
    beacon_seed = hashlib.sha256(b"examctl alloc demo: beacon\x00" + str(seed).encode()).digest()
    started = _now_ms()
    beacon = DevBeacon(beacon_seed, genesis_ms=started, period_ms=DEMO_PERIOD_MS)
    try:
        manifest = prepare_manifest(
            roster,
            scale=args.scale,
            cap=args.cap,
            beacon=BeaconTarget(beacon.kind, beacon.commitment_text, 1),
            vrf_key=vrf_public_key(vrf_secret),
        )
    except CapBelowQStarError as e:
        raise InfeasibleError(f"{e}; --cap {e.q_star} (or more) would work") from e
    except InfeasibleError as e:
        raise InfeasibleError(
            f"{e}; this synthetic roster has no assignment under any cap: try more --examiners"
        ) from e
    manifest = aim_at_next_round(manifest, beacon.commitment, _now_ms())
    target = manifest.beacon.round
    manifest_bytes = encode_manifest(manifest)
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    print(
        f"committed manifest {digest} for session {manifest.session}: "
        f"{len(roster.candidates)} candidates, {len(roster.examiners)} examiners, "
        f"{len(manifest.conflicts)} conflicts, Q* = {manifest.q_star}/{manifest.scale}, "
        f"cap = {manifest.cap}/{manifest.scale}, target beacon round {target}"
    )
    wait_ms = beacon.commitment.round_time_ms(target) - _now_ms()
    if wait_ms > 0:
        time.sleep(wait_ms / 1000)
    allocation = make_allocation(manifest_bytes, manifest, beacon.reveal(target), vrf_secret)
    with staged_output_dir(out, force=args.force) as staged:
        (staged / MANIFEST_FILE).write_bytes(manifest_bytes)
        (staged / PROOF_FILE).write_bytes(encode_proof(allocation))
        (staged / ASSIGNMENT_FILE).write_bytes(encode_assignment(allocation, manifest.session))
    print(f"drew with development beacon round {target}; wrote {out}/")
    print("warning: a development beacon is insecure; deployments use the hash-chain beacon")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    manifest_bytes, proof_bytes, assignment_bytes = (
        read_input_file(directory / name, limit=limit, what=name)
        for name, limit in PUBLISHED_FILE_LIMITS.items()
    )
    beacon_keys = [ed25519_verifier_from_vkey(v) for v in args.beacon_vkey]
    findings = check_publication(
        manifest_bytes,
        proof_bytes,
        assignment_bytes,
        beacon_keys=beacon_keys,
        pinned_vrf_key=args.vrf_key,
        recompute=not args.no_recompute,
    )
    for finding in findings:
        stream = sys.stdout if finding.severity == WARNING else sys.stderr
        print(f"{finding.severity}: {finding.code}: {finding.message}", file=stream)
    if any(finding.severity == ERROR for finding in findings):
        print(f"allocation in {directory} does NOT verify", file=sys.stderr)
        return EXIT_FAILED
    print(f"allocation in {directory} verifies: manifest, beacon, VRF proof and every pair")
    return 0


def _vrf_key(text: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise argparse.ArgumentTypeError("must be 32 bytes of hex")
    return key


def register(commands: Any) -> None:
    """Add this group's sub-commands to the ``examctl`` parser."""
    group = commands.add_parser("alloc", help="verifiable random examiner allocation")
    sub = group.add_subparsers(dest="alloc_command", required=True, metavar="ACTION")

    demo = sub.add_parser("demo", help="draw an allocation for a synthetic roster")
    demo.add_argument("--candidates", type=integer(1, MAX_PEOPLE), required=True)
    demo.add_argument("--examiners", type=integer(1, MAX_PEOPLE), required=True)
    demo.add_argument("--seed", type=integer(-MAX_SEED, MAX_SEED), required=True)
    demo.add_argument("--out", required=True, help="directory for the three published files")
    demo.add_argument("--force", action="store_true", help="replace an existing --out directory")
    demo.add_argument(
        "--scale", type=integer(1, MAX_SCALE), default=10_000, help="units of probability 1"
    )
    demo.add_argument(
        "--cap",
        type=integer(1, MAX_SCALE),
        default=2_000,
        help="policy cap per pair, in units of the scale",
    )
    demo.set_defaults(run=run_demo)

    verify = sub.add_parser("verify", help="recompute a published allocation")
    verify.add_argument("dir", help="directory with manifest.json, proof.json, assignment.json")
    verify.add_argument(
        "--beacon-vkey", action="append", default=[], help="trusted hash-chain beacon vkey"
    )
    verify.add_argument("--vrf-key", type=_vrf_key, help="pinned VRF public key (hex)")
    verify.add_argument(
        "--no-recompute", action="store_true", help="check F's rules but do not rebuild Q* and F"
    )
    verify.set_defaults(run=run_verify)
