"""The exam day, end to end, on the embedded default (SQLite, emulated devices).

``make demo`` runs this: it creates a centre, registers its keys, fills the signed log, watches
an exam room's jammer, detector and jamming canary over emulated serial links, allocates the
examiners by a verifiable draw, scores every exam from the car's signed telemetry, exports the
audit bundle and audits it offline the way an auditor would — then tampers with a copy of the
bundle and shows that the audit catches it.  Every step goes through the same public functions
the command line and the services use; nothing here is a shortcut around them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from allocation import (
    BeaconTarget,
    DevBeacon,
    aim_at_next_round,
    committed_fields,
    encode_manifest,
    made_fields,
    make_allocation,
    prepare_manifest,
    synthetic_roster,
    vrf_public_key,
)
from api.gateway import Gateway
from api.replayers import default_replayers
from devices.emulators import EmulatorServer, SocketEndpoint, make_responder
from devices.gateway_config import GatewayConfig, parse_gateway_config
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.reader import read_bundle
from exam_core.audit.report import escape_text
from exam_core.centre.centre import Centre
from exam_core.centre.export import export_bundle
from exam_core.log.note import Ed25519Signer
from exam_core.log.schemas.types import ALLOCATOR, DEMO, SCORER, TABLET, VEHICLE
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from exam_core.scoring.engine import score_chunks
from exam_core.scoring.events import chunk_fields, scored_fields, stopped_fields
from exam_core.scoring.rules import load_rule_table
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import make_chunks

ORIGIN = "exam.example/c/370100-01"
LOG_EVENTS = 2_000
CANDIDATES = 40
EXAMINERS = 10
ROSTER_SEED = 2026
SMALL_CARS = (("C1", 80), ("C2", 20))
"""A session of small cars: the classes of most 科目二 and 科目三 sessions."""
COMMIT_MARGIN_MS = 100
CAP = 2_500
"""No pair more likely than 1/4 (over a scale of 10,000)."""
ROOM = "field-1"
Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoKeys:
    """The keys of the demonstration centre, one per role that signs on an exam day."""

    demo: Ed25519Signer
    allocator: Ed25519Signer
    scorer: Ed25519Signer
    vehicle: Ed25519Signer
    tablet: Ed25519Signer


def _register_keys(centre: Centre) -> DemoKeys:
    return DemoKeys(
        demo=centre.register_key("demo/d1", DEMO),
        allocator=centre.register_key("allocator/a1", ALLOCATOR),
        scorer=centre.register_key("scorer/s1", SCORER),
        vehicle=centre.register_key("vehicle/car-07", VEHICLE),
        tablet=centre.register_key("tablet/T017", TABLET),
    )


def fill_log(centre: Centre, signer: Ed25519Signer, count: int, say: Say) -> None:
    """Append ``count`` signed demonstration events through the batched sequencer."""
    started = time.perf_counter()
    futures = [centre.submit(signer, "demo.event", {"n": n}) for n in range(count)]
    last = max(f.result() for f in futures)
    receipt = centre.wait_receipt(last)
    elapsed = time.perf_counter() - started
    say(
        f"log: {count} signed events verified, sequenced and published in {elapsed:.2f} s "
        f"({count / elapsed:,.0f}/s); receipt for entry {last} is {len(receipt)} bytes"
    )


def _gateway_config(jammer: str, detector: str, canary: str) -> GatewayConfig:
    """One exam field: a jammer on all eight bands, a detector and a jamming canary."""
    devices = {"field-1/jammer": jammer, "field-1/detector": detector, "field-1/canary": canary}
    document = {
        "key": "gateway/field-1",
        "poll_ms": 100,
        "devices": [
            {"name": name, "kind": name.partition("/")[2], "url": url}
            | ({"unit": 2} if name.endswith("detector") else {})
            for name, url in devices.items()
        ],
        "rooms": [
            {
                "room": ROOM,
                "jammers": {"field-1/jammer": list(range(1, 9))},
                "detectors": ["field-1/detector"],
                "canaries": ["field-1/canary"],
            }
        ],
    }
    return parse_gateway_config(json.dumps(document).encode())


def _reasons(reasons: tuple[str, ...] | list[str]) -> str:
    shown = "; ".join(reasons[:3])
    return shown + (f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else "")


def _exam_id(session: str, candidate: str) -> bytes:
    return hashlib.sha256(f"exam\n{session}\n{candidate}".encode()).digest()[:16]


def allocate(
    centre: Centre, allocator: Ed25519Signer, say: Say
) -> tuple[str, list[tuple[str, str]]]:
    """Commit a manifest, wait for its beacon round, draw and publish the allocation.

    Returns the session and its (candidate, examiner) pairs.
    """
    roster = synthetic_roster(CANDIDATES, EXAMINERS, seed=ROSTER_SEED, class_mix=SMALL_CARS)
    vrf_secret = hashlib.sha256(b"demo allocator VRF key").digest()
    beacon = DevBeacon(
        hashlib.sha256(b"demo beacon").digest(), genesis_ms=time.time_ns() // 10**6, period_ms=200
    )
    manifest = prepare_manifest(
        roster,
        scale=10_000,
        cap=CAP,
        beacon=BeaconTarget(beacon.kind, beacon.commitment_text, 1),
        vrf_key=vrf_public_key(vrf_secret),
    )
    # The round is fixed at commitment: the first one that does not exist yet when the
    # commitment entry is signed, which storing the manifest may delay by a few milliseconds.
    signed_by_ms = time.time_ns() // 10**6 + COMMIT_MARGIN_MS
    manifest = aim_at_next_round(manifest, beacon.commitment, signed_by_ms)
    target = manifest.beacon.round
    manifest_bytes = encode_manifest(manifest)
    centre.blobs.put(manifest_bytes)
    index = centre.append(
        allocator, "allocation.committed", committed_fields(manifest_bytes, manifest)
    )
    say(
        f"allocation: session {roster.session}, {len(roster.candidates)} candidates, "
        f"{len(roster.examiners)} examiners, {len(manifest.conflicts)} conflicts of interest; "
        f"Q* = {manifest.q_star}/{manifest.scale}; manifest committed at entry {index} "
        f"for beacon round {target}"
    )
    wait_ms = beacon.commitment.round_time_ms(target) - time.time_ns() // 10**6
    if wait_ms > 0:
        time.sleep(wait_ms / 1000)
    allocation = make_allocation(manifest_bytes, manifest, beacon.reveal(target), vrf_secret)
    index = centre.append(allocator, "allocation.made", made_fields(allocation, roster.session))
    say(f"allocation: drawn from round {target} with a VRF proof, published at entry {index}")
    return roster.session, [(str(c), str(e)) for c, e in allocation.assignment]


def run_exams(
    centre: Centre,
    keys: DemoKeys,
    gateway: Gateway,
    pairs: list[tuple[str, str]],
    *,
    session: str,
    say: Say,
) -> None:
    """Gate, drive, sign and score one exam per allocated candidate (a few of them)."""
    table = load_rule_table()
    plans = [(2, ()), (3, ()), (2, ("20103",)), (3, ("X30203",)), (2, ())]
    for number, ((candidate, examiner), (subject, faults)) in enumerate(
        zip(pairs, plans, strict=False)
    ):
        exam_id = _exam_id(session, candidate)
        decision, gate_index = gateway.request_gate(ROOM, exam_id.hex())
        if not decision.allowed:
            say(f"exam {exam_id.hex()[:8]}: gate refused: {_reasons(decision.reasons)}")
            continue
        course = load_course(DEFAULT_MAPS[subject])
        run = simulate(course, seed=number, faults=faults)
        blobs = make_chunks(keys.vehicle, exam_id, run.frames)
        chunks = []
        for blob in blobs:
            centre.blobs.put(blob)
            chunks.append(centre.submit(keys.vehicle, "telemetry.chunk", chunk_fields(blob)))
        for chunk in chunks:
            chunk.result()  # a refused chunk raises here, before anything is scored
        stopped = number == len(plans) - 1
        if stopped:
            centre.append(keys.tablet, "exam.stopped", stopped_fields(exam_id, "danger"))
        result = score_chunks(
            blobs, course, table, "C1", verifier=keys.vehicle.verifier, stopped=stopped
        )
        fields = scored_fields(exam_id, "C1", course, table, blobs, result=result, stopped=stopped)
        index = centre.append(keys.scorer, "exam.scored", fields)
        gateway.cycle()
        gateway.end_exam(ROOM)
        codes = ",".join(d.code for d in result.deductions) or "none"
        verdict = "passed" if result.passed else "failed"
        if stopped:
            verdict += " (stopped by the examiner)"
        say(
            f"exam {exam_id.hex()[:8]} (candidate {candidate}, examiner {examiner}): "
            f"subject {subject}, gate entry {gate_index}, {len(run.frames)} frames in "
            f"{len(blobs)} signed chunks, deductions {codes}, score {result.score}, "
            f"{verdict}; scored at entry {index}"
        )


def exam_day(centre: Centre, keys: DemoKeys, say: Say) -> None:
    """Devices up, gate, allocation, exams: the part of the day that happens in the centre."""
    with (
        EmulatorServer(make_responder("jammer"), SocketEndpoint()) as jammer,
        EmulatorServer(make_responder("detector"), SocketEndpoint()) as detector,
        EmulatorServer(make_responder("canary"), SocketEndpoint()) as canary,
    ):
        gateway = Gateway(centre, _gateway_config(jammer.url, detector.url, canary.url))
        gateway.cycle()
        refused, _ = gateway.request_gate(ROOM, "before-switch-on")
        say(f"devices: before switch-on the gate refuses: {_reasons(refused.reasons)}")
        jammer.do("start")
        canary.do("jammed")
        gateway.cycle()
        session, pairs = allocate(centre, keys.allocator, say)
        run_exams(centre, keys, gateway, pairs, session=session, say=say)
        jammer.do("band-alarm", {"band": 3, "alarm": "vswr"})
        gateway.cycle()
        after, _ = gateway.request_gate(ROOM, "after-band-3-alarm")
        say(f"devices: band 3 VSWR alarm; the gate now refuses: {_reasons(after.reasons)}")
        gateway.finish()


def audit(bundle: Path, policy: Path) -> AuditReport:
    """Audit ``bundle`` as an auditor would, with the log's keys pinned from ``policy``.

    The demonstration draws on a development beacon (there is no monitoring centre to run
    the hash-chain beacon), which makes every allocation choosable by whoever picked its seed:
    an audit fails such a draw unless told, as here, that development beacons are allowed
    (``examctl audit --allow-dev-beacon``).
    """
    replayers = default_replayers(allow_dev_beacon=True)
    return check_bundle(read_bundle(bundle), replayers, policy=policy.read_bytes())


def tamper(bundle: Path, target: Path) -> Path:
    """Copy the bundle and flip one bit in the first entry bundle, as an insider might."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(bundle, target)
    victim = sorted((target / "tile" / "entries").rglob("*"))
    first = next(p for p in victim if p.is_file())
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0x01
    first.write_bytes(bytes(data))
    return first


def run_demo(directory: Path, say: Say = print) -> int:
    """Run the whole day in ``directory``; return 0 when the honest bundle audits clean."""
    started = time.perf_counter()
    centre_dir, bundle = directory / "centre", directory / "bundle"
    published = directory / "published-policy"
    Centre.create(centre_dir, ORIGIN).close()
    with Centre.open(centre_dir) as centre:
        say(f"centre {centre.origin} created in {centre_dir}; log key {centre.log_vkey}")
        keys = _register_keys(centre)
        fill_log(centre, keys.demo, LOG_EVENTS, say)
        exam_day(centre, keys, say)
        size = centre.store.size()
        export_bundle(centre, bundle)
        published.write_text(centre.policy_text())
    say(f"export: {size} entries written to {bundle} (tlog-tiles layout, checkpoints, policy)")
    say(
        f"audit: the log's keys are pinned from {published.relative_to(directory)}, the policy "
        "the centre publishes, not taken from the bundle it is auditing; the allocation was "
        "drawn on a development beacon (no monitoring centre runs a hash-chain beacon here), "
        "whose seed fixes every round, so the audit is told to allow it (--allow-dev-beacon) "
        "and reports it as a warning instead of failing"
    )
    report = audit(bundle, published)
    for finding in report.findings:
        message = escape_text(finding.message)
        say(f"  {finding.severity}: index {finding.index}: {finding.code}: {message}")
    say(
        f"audit: {'OK' if report.ok else 'FAILED'}: {report.entries} entries, "
        f"{report.checkpoints} checkpoints, {report.blobs} blobs, {len(report.errors)} errors, "
        f"{len(report.warnings)} warnings"
    )
    flipped = tamper(bundle, directory / "bundle-tampered")
    tampered = audit(directory / "bundle-tampered", published)
    first = tampered.errors[0] if tampered.errors else None
    say(
        f"tamper: one bit flipped in {flipped.relative_to(directory)}; the audit "
        f"{'FAILS' if not tampered.ok else 'still passes (a defect)'} with "
        f"{len(tampered.errors)} errors"
        + (f", first: index {first.index}: {first.code}" if first else "")
    )
    say(f"demo finished in {time.perf_counter() - started:.1f} s")
    return 0 if report.ok and not tampered.ok else 1
