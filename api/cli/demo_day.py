"""The exam day, end to end, over real HTTP on loopback (what ``make demo`` runs).

One centre serves its day with ``examctl serve`` in a process of its own, and a monitoring
centre (``examctl monitor serve``, ``api.cli.demo_monitor``) watches it from another: the
centre's policy names the monitor's witness (quorum 1), which cosigns every checkpoint, and pins
the monitor's beacon key; the monitor's mirror pulls and verifies the centre's log as the day
goes.  Every other machine — the check-in terminals, the supervisor's desk, the allocator, the
examiners' tablets, the cars' in-car units and the rooms' gateway polling emulated devices on
pseudo-terminals — is a client of the centre, each with its own key and token, running in
threads (``api.day.day_run``); the allocator draws every allocation on the monitor's hash-chain
beacon over HTTP (``HttpBeacon``, the beacon key pinned), never on a development beacon.
By default:
20 examiners, 200 candidates in four sessions (two of 科目二, two of 科目三) running at once;
a proxy is caught at check-in, a candidate fails the face check once and passes on the retry, a
stranger's card is refused, a no-show is repaired, an examiner stops an exam, a car drives
through a dead zone, and one room's jammer raises a band alarm mid-session (the gate refuses,
then reopens once it is cleared and acknowledged).

Afterwards the log is exported (its newest checkpoint cosigned by the witness) and audited
offline, as strictly as ``examctl audit`` without ``--allow-dev-beacon``, with the log's keys,
its witness and the beacon key pinned from the policy the centre publishes; the summary says
how far the monitor mirrored the log, what its witness cosigned and which warnings it holds.
Each candidate's result receipt is written into ``DIR/receipts/``; then a copy of the bundle
with one score changed is audited and fails.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx

from api.cli.demo_monitor import MonitorProcess, MonitorView, monitor_summary
from api.cli.demo_service import ServiceProcess, run_examctl
from api.day.centre_setup import PreparedDay, SessionSpec, prepare_day
from api.day.day_run import DayOutcome, DayScript, deductions_of, run_day
from api.monitor.beacon_client import HttpBeacon
from api.replayers import default_replayers
from exam_core.audit.check import AuditReport, check_bundle
from exam_core.audit.pool import ProcessSignatureCheck
from exam_core.audit.reader import read_bundle
from exam_core.audit.report import escape_text
from exam_core.centre.centre import Centre
from exam_core.centre.config import load_config
from exam_core.centre.export import export_bundle
from exam_core.evidence.bundle_log import BundleLog
from exam_core.evidence.result_receipt import receipt_from_bundle
from exam_core.log.checkpoint import parse_checkpoint_text
from exam_core.log.note import ed25519_verifier_from_vkey, parse_note, parse_vkey
from exam_core.monitoring.beacon import DAY_MS

ORIGIN = "exam.example/c/370100-01"
CANDIDATES = 200
EXAMINERS = 20
SESSIONS = (
    ("k2-field-1", 2, "field-1"),
    ("k2-field-2", 2, "field-2"),
    ("k3-route-1", 3, "route-1"),
    ("k3-route-2", 3, "route-2"),
)
"""(session, subject, room): two sessions of 科目二 on two fields, two of 科目三 on two routes."""
SECONDS_PER_CHECKIN = 0.15
"""How long the sessions' opening leaves for each check-in at a terminal, before the start."""
DEMO_CHUNK_FRAMES = 1500
"""Two and a half minutes of telemetry per chunk: a 科目三 drive in seven chunks, not eighteen."""
BEACON_PERIOD_MS = 1_000
"""The monitor's beacon: a round a second (its shortest period), so a draw waits little."""
COMMIT_LEAD_MS = 3_000
"""A manifest aims at a round at least this long after it is signed: time for the witness to
cosign a tree holding the commitment before the round is out, which is the audit's evidence
that it was committed first (cosignature times are whole seconds), with room for a loaded
machine."""
MIRROR_INTERVAL_MS = 2_000
"""The monitor's mirror pulls the centre every two seconds while the day runs."""
WITNESS_WAIT_S = 30.0
"""How long the export waits for the witness to cosign the newest checkpoint."""
MIRROR_WAIT_S = 60.0
"""How long the demonstration waits for the mirror to catch up with the day's last entry."""
Say = Callable[[str], None]


def demo_day(candidates: int, examiners: int) -> tuple[list[SessionSpec], DayScript]:
    """The sessions and what happens in them, for ``candidates`` people and ``examiners``
    examiners shared out over the four sessions (at least two people and one examiner each)."""
    per_session = max(2, candidates // len(SESSIONS))
    crews = max(1, examiners // len(SESSIONS))
    specs = []
    for number, (session, subject, room) in enumerate(SESSIONS):
        people = tuple(range(number * per_session + 1, (number + 1) * per_session + 1))
        team = tuple(f"E{number * crews + k + 1:02d}" for k in range(crews))
        specs.append(SessionSpec(session, subject, room, team, people))
    first = [s.candidates[0] for s in specs]
    second = [s.candidates[1] for s in specs]
    script = DayScript(
        proxies=frozenset({first[0]}),
        face_retry=frozenset({second[0], second[2]}),
        no_shows=frozenset({second[1]}),
        stops=frozenset({first[3]}),
        dead_zones=frozenset({second[3]}),
        stranger_at=frozenset({specs[2].session}),
        jammer_alarm=specs[1].session,
        alarm_after_starts=max(1, min(3, len(specs[1].candidates) // 3)),
        chunk_frames=DEMO_CHUNK_FRAMES,
    )
    return specs, script


class ProgressBoard:
    """One live line per session: redrawn in place on a terminal, else printed as its phase
    changes."""

    def __init__(self, sessions: Sequence[str], out: TextIO, live: bool) -> None:
        self.out = out
        self.live = live
        self.lines = dict.fromkeys(sessions, "")
        self._phases: dict[str, str] = {}
        self._lock = threading.Lock()
        self._drawn = False

    def update(self, session: str, line: str) -> None:
        with self._lock:
            self.lines[session] = line
            if self.live:
                self._draw()
                return
            phase = line.split(":", 1)[1].split(maxsplit=1)[0]
            if self._phases.get(session) != phase:
                self._phases[session] = phase
                print(f"  {line}", file=self.out, flush=True)

    def _draw(self) -> None:
        if self._drawn:
            self.out.write(f"\x1b[{len(self.lines)}F")
        for line in self.lines.values():
            self.out.write(f"\x1b[2K  {line}\n")
        self.out.flush()
        self._drawn = True


def audit(bundle: Path, policy: Path) -> AuditReport:
    """Audit ``bundle`` as ``examctl audit`` does, with the log's keys, its witnesses and the
    beacon keys pinned from ``policy``: a development beacon is an error here."""
    replayers = default_replayers()
    workers = max(0, (os.cpu_count() or 1) - 1)
    if workers == 0:
        return check_bundle(read_bundle(bundle), replayers, policy=policy.read_bytes())
    # As ``examctl audit --jobs`` does: this process checks a share of the signatures itself.
    with ProcessSignatureCheck(workers=workers) as pool:
        return check_bundle(
            read_bundle(bundle), replayers, policy=policy.read_bytes(), signature_check=pool
        )


SCORE = re.compile(rb'"score":(\d+)')


def tamper_score(bundle: Path, target: Path) -> tuple[Path, int, int]:
    """Copy the bundle and change the score of its first result, as an insider might: the
    file changed, the score before and after.

    Raises:
        RuntimeError: the bundle holds no result.
    """
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(bundle, target)
    for path in sorted((target / "tile" / "entries").rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        at = data.find(b'"type":"exam.scored"')
        if at < 0:
            continue
        start = data.rfind(b"{", 0, at)
        found = SCORE.search(data, start)
        if found is None:
            continue
        digits = found.group(1)
        # The last digit moved by five: the entry keeps its length, its bytes parse.
        text = digits[:-1] + str((int(digits[-1:]) + 5) % 10).encode()
        path.write_bytes(data[: found.start(1)] + text + data[found.end(1) :])
        return path, int(digits), int(text)
    raise RuntimeError("the bundle holds no result to tamper with")


def write_receipts(bundle: Path, out: Path, exams: Sequence[str]) -> int:
    """Each exam's result receipt (``examctl receipt make``) as ``out/<exam>.receipt``.

    Raises:
        RuntimeError: the bundle has no policy to put in the receipts.
        EvidenceError: the bundle holds no result of one of ``exams``.
    """
    read = read_bundle(bundle)
    if read.policy is None:
        raise RuntimeError("the bundle has no policy")
    log = BundleLog(read)
    out.mkdir(parents=True, exist_ok=True)
    for exam in exams:
        (out / f"{exam}.receipt").write_bytes(receipt_from_bundle(log, exam, read.policy))
    return len(exams)


def summary(
    day: PreparedDay, outcome: DayOutcome, report: AuditReport, say: Say
) -> Mapping[int, tuple[int, int]]:
    """Print the day's summary; (passed, scored) by subject."""
    subject_of = {s.session: s.subject for s in day.sessions}
    by_subject: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for tally in outcome.tallies.values():
        for exam in tally.exams:
            result = outcome.results[exam].get("result")
            if result is not None:
                by_subject[subject_of[tally.session]][1] += 1
                by_subject[subject_of[tally.session]][0] += 1 if result["passed"] else 0
    say("summary:")
    for tally in outcome.tallies.values():
        say(
            f"  session {tally.session} (科目{'二' if tally.subject == 2 else '三'}): "
            f"{tally.booked} booked, {tally.checked_in} checked in "
            f"({tally.face_failures} face checks failed, {tally.proxies_refused} proxy refused, "
            f"{tally.refused_cards} card refused), {tally.no_shows} no-show repaired, "
            f"{len(tally.exams)} exams ({tally.stopped} stopped), {tally.scored} scored, "
            f"{tally.gate_refusals} starts held by a refusing gate"
        )
    for subject in sorted(by_subject):
        passed, scored = by_subject[subject]
        rate = 100 * passed / scored if scored else 0.0
        say(
            f"  科目{'二' if subject == 2 else '三'}: {scored} results, {passed} passed "
            f"({rate:.0f}%)"
        )
    common = deductions_of(outcome.results).most_common(5)
    shown = ", ".join(f"{code} ×{n}" for code, n in common) or "none"
    say(f"  most frequent deductions: {shown}")
    warnings = Counter(w.code for w in report.warnings)
    say("  audit warnings: " + (", ".join(f"{c} ×{n}" for c, n in warnings.items()) or "none"))
    return {s: (p, n) for s, (p, n) in by_subject.items()}


def _served_size(url: str) -> int:
    """The size of the newest checkpoint the centre serves."""
    note = httpx.get(f"{url}/checkpoint", timeout=10.0)
    note.raise_for_status()
    return parse_checkpoint_text(parse_note(note.content).text).size


def run_demo(
    directory: Path,
    say: Say = print,
    *,
    candidates: int = CANDIDATES,
    examiners: int = EXAMINERS,
    out: TextIO | None = None,
    live: bool | None = None,
) -> int:
    """Run the whole day in ``directory``; 0 when the honest bundle audits clean and the
    tampered one fails.

    Raises:
        RuntimeError: a machine of the day failed.
        StoreError: the service or the monitoring centre did not start or stop cleanly.
        BeaconError: the monitor's beacon could not be read.
    """
    started = time.perf_counter()
    stream = out if out is not None else sys.stdout
    specs, script = demo_day(candidates, examiners)
    day = prepare_day(directory, ORIGIN, specs)
    say(
        f"centre {ORIGIN} prepared in {directory / 'centre'}: {len(day.machines)} machines' keys "
        f"made on the machines and registered, {len(specs)} rooms configured, "
        f"{sum(len(s.examiners) for s in specs)} examiners and "
        f"{sum(len(s.candidates) for s in specs)} candidates imported from CSV"
    )
    monitor = MonitorProcess(
        directory / "monitor",
        beacon_period_ms=BEACON_PERIOD_MS,
        mirror_interval_ms=MIRROR_INTERVAL_MS,
    )
    try:
        view, size = _watched_day(
            directory, day, script, monitor, stream=stream, live=live, say=say
        )
    finally:
        monitor.stop()
    bundle, published = directory / "bundle", directory / "published-policy"
    audited = time.perf_counter()
    report = audit(bundle, published)
    audited = time.perf_counter() - audited
    summary(day, view.outcome, report, say)
    monitor_summary(view.monitor, size, f"{monitor.url}/dashboard", say)
    for finding in report.errors:
        say(f"  error: index {finding.index}: {finding.code}: {escape_text(finding.message)}")
    say(
        f"audit: {'OK' if report.ok else 'FAILED'}: {report.entries} entries, "
        f"{report.checkpoints} checkpoints, {report.blobs} blobs, {len(report.errors)} errors, "
        f"{len(report.warnings)} warnings, in {audited:.1f} s (the log's key, its witness and "
        "the monitor's beacon key pinned from the published policy; no development beacon)"
    )
    scored = [e for e, v in view.outcome.results.items() if v.get("result") is not None]
    count = write_receipts(bundle, directory / "receipts", sorted(scored))
    say(f"receipts: {count} candidates' result receipts written to {directory / 'receipts'}")
    path, old, new = tamper_score(bundle, directory / "bundle-tampered")
    tampered = audit(directory / "bundle-tampered", published)
    first = tampered.errors[0] if tampered.errors else None
    say(
        f"tamper: a score changed from {old} to {new} in {path.relative_to(directory)}; the "
        f"audit {'FAILS' if not tampered.ok else 'still passes (a defect)'} with "
        f"{len(tampered.errors)} errors"
        + (f", first: index {first.index}: {first.code}" if first else "")
    )
    say(f"demo finished in {time.perf_counter() - started:.1f} s")
    return 0 if report.ok and not tampered.ok else 1


@dataclass(frozen=True)
class _Watched:
    outcome: DayOutcome
    monitor: MonitorView


def _watched_day(
    directory: Path,
    day: PreparedDay,
    script: DayScript,
    monitor: MonitorProcess,
    *,
    stream: TextIO,
    live: bool | None,
    say: Say,
) -> tuple[_Watched, int]:
    """Name the monitor in the centre's policy, serve the centre, run the day drawing on the
    monitor's beacon, wait for the mirror, and export the witnessed bundle; what the monitor
    holds and the log's size."""
    centre_dir = str(day.centre_dir)
    run_examctl(
        "witness",
        "add",
        "--dir",
        centre_dir,
        "--vkey",
        monitor.keys.witness,
        "--url",
        monitor.url,
        "--quorum",
        "1",
    )
    run_examctl("beacon", "add", "--dir", centre_dir, "--vkey", monitor.keys.beacon)
    say(
        f"monitoring centre {monitor.url} (examctl monitor serve, its own process): its witness "
        f"named in the centre's policy (quorum 1), its beacon key pinned there; a beacon round "
        f"every {BEACON_PERIOD_MS / 1000:g} s; dashboard {monitor.url}/dashboard"
    )
    service = ServiceProcess(day.centre_dir, "--batch-ms", "5")
    try:
        monitor.add_centre(service.url, load_config(day.centre_dir).log_vkey)
        say(
            f"examctl serve answers on {service.url}; the monitor mirrors it; "
            "the day runs over HTTP:"
        )
        board = ProgressBoard(
            [s.session for s in day.sessions], stream, stream.isatty() if live is None else live
        )
        most = max(len(s.candidates) for s in day.sessions)
        pinned = [ed25519_verifier_from_vkey(monitor.keys.beacon)]
        with HttpBeacon(monitor.url, time.time_ns() // 1_000_000 // DAY_MS, pinned) as beacon:
            outcome = run_day(
                service.url,
                day,
                script,
                work_dir=directory / "machines",
                start_in_s=3 + SECONDS_PER_CHECKIN * most,
                progress=board.update,
                beacon=beacon,
                commit_lead_ms=COMMIT_LEAD_MS,
            )
        say(
            f"the day ran in {outcome.elapsed_s:.1f} s; {len(outcome.indices)} entries "
            "acknowledged; every allocation drawn on the monitor's beacon"
        )
        served = _served_size(service.url)
        mirrored = monitor.wait_mirrored(ORIGIN, served, MIRROR_WAIT_S)
        findings = monitor.findings()
        warnings = monitor.warnings()
    finally:
        service.stop()
    bundle, published = directory / "bundle", directory / "published-policy"
    witness = parse_vkey(monitor.keys.witness).name
    with Centre.open(day.centre_dir) as centre:
        size = centre.store.size()
        export_bundle(centre, bundle, wait_witnessed_s=WITNESS_WAIT_S)
        published.write_text(centre.policy_text())
        lines = centre.store.cosignatures()
        cosigned = sum(1 for by in lines.values() if witness in by)
        checkpoints = len(centre.store.cosigned_checkpoints())
        newest = witness in lines.get(size, {})
    say(f"export: {size} entries written to {bundle} (tlog-tiles layout, checkpoints, policy)")
    view = MonitorView(mirrored, cosigned, checkpoints, newest, findings, warnings)
    return _Watched(outcome, view), size


__all__ = [
    "ProgressBoard",
    "audit",
    "demo_day",
    "run_demo",
    "tamper_score",
    "write_receipts",
]
