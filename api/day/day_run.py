"""The exam day, run by its machines against the centre's HTTP service.

``run_day`` takes a day the administrator prepared (``centre_setup.prepare_day``) and a served
centre's URL, and runs every session at once, each machine in its own thread with its own key
and token:

- the session's check-in terminal reads each booked card, has the centre identify it, and
  signs the face checks (``DayScript`` says who fails once and retries, whose card a proxy
  carries — three failures, locked, refused by the supervisor — and which stranger's card is
  refused outright);
- the allocator seals the roster from the log's check-ins, commits the manifest, waits for the
  beacon round and publishes the draw — on the beacon it is given (the monitoring centre's,
  over HTTP, in the demonstration), its commitment read with the beacon keys of the policy the
  centre serves; without one, on a development beacon;
- each crew's tablet fetches its own assignment and examines its candidates one by one: a
  candidate who does not come to the car is reported and the allocator repairs the
  assignment; the others board, the car's in-car unit reports its camera, the tablet starts
  the exam on a fresh gate from the room's gateway, the unit drives and closes the exam (one
  exam is stopped by its examiner: ``DayScript.stops``);
- the rooms' gateway polls emulated devices on pseudo-terminals; during one session a jammer
  band alarm makes the gate refuse until it is cleared;
- the service's scorer scores every ended exam with nobody asking; the run waits for every
  result.

Every machine retries through outages (the centre killed and restarted): what the centre
accepted it keeps, and a retried entry gets the index it had.  ``progress`` receives one line
per session whenever something changes.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from allocation import DevBeacon, LateChange
from allocation.beacon import BeaconSource
from api.client import CentreClient, RemoteLog, RetryPolicy
from api.client.day_reads import DayReads
from api.day.allocator import COMMIT_MARGIN_MS, Allocator
from api.day.centre_setup import (
    ALLOCATOR_KEY,
    SUPERVISOR_KEY,
    Machine,
    PreparedDay,
    SessionSpec,
    id_number,
    open_sessions,
    tablet_key,
    terminal_key,
    unit_key,
)
from api.day.device_key import device_key
from api.day.in_car import InCarUnit
from api.day.link import DroppableLink
from api.day.room_gateway import POLL_MS, RoomGateway
from api.day.tablet import Assignment, Tablet
from api.day.terminal import CardRead, CheckinTerminal, SupervisorDesk
from exam_core.exam_day.roster_book import RosterBook
from exam_core.log.policy import parse_policy
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from exam_core.scoring.sim.simulator import simulate
from exam_core.scoring.telemetry import CHUNK_FRAMES, Frame

ALARM_SEEN_TIMEOUT_S = 30.0
"""How long the alarmed exam waits for the gateway to read the jammer's alarm."""
PATIENT = RetryPolicy(attempts=None, base_s=0.05, max_s=0.5)
"""Every machine waits out an outage of the centre (a restart) and goes on."""
STRANGER = 99_999
"""A person booked for nothing: the card a proxy might carry (refused outright)."""
FAULTS = {2: ((), ("20103",), (), ()), 3: ((), ("X30203",), (), ())}
"""What the simulated drivers do wrong, in turn: one exam in four has a fault."""
DEAD_ZONE_MAX_S = 10.0
Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class DayScript:
    """What happens to whom, by person number."""

    face_retry: frozenset[int] = frozenset()
    """Fail the first face check (a bad photo), pass the second."""
    proxies: frozenset[int] = frozenset()
    """Someone else carries this person's card: three failures, locked, the supervisor refuses."""
    no_shows: frozenset[int] = frozenset()
    """Checked in, never comes to the car: repaired away."""
    stops: frozenset[int] = frozenset()
    """The examiner stops this person's exam after its first chunk (an emergency)."""
    dead_zones: frozenset[int] = frozenset()
    """This person's car loses its link after its first chunk and finds it after its third."""
    stranger_at: frozenset[str] = frozenset()
    """Sessions at whose terminal a card booked for nothing is presented."""
    jammer_alarm: str | None = None
    """The session during which its room's jammer has a band alarm."""
    alarm_after_starts: int = 2
    pace_s: float = 0.01
    """Between two chunks of a drive."""
    chunk_frames: int = CHUNK_FRAMES
    """Telemetry frames per chunk (10 Hz): fewer, larger chunks make fewer entries."""


@dataclass
class SessionTally:
    """What happened in one session (read by the progress line and the summary)."""

    session: str
    subject: int
    booked: int
    checked_in: int = 0
    face_failures: int = 0
    refused_cards: int = 0
    proxies_refused: int = 0
    no_shows: int = 0
    started: int = 0
    stopped: int = 0
    ended: int = 0
    scored: int = 0
    gate_refusals: int = 0
    refused_while_down: int = 0
    """Requests of in-car units that found their link down (and were sent again later)."""
    phase: str = "check-in"
    exams: dict[str, int] = field(default_factory=dict)
    """Exam id → person number."""

    def line(self) -> str:
        return (
            f"{self.session} 科目{'二' if self.subject == 2 else '三'}: {self.phase:<10} "
            f"checked in {self.checked_in}/{self.booked}, started {self.started}, "
            f"ended {self.ended}, scored {self.scored}"
        )


@dataclass
class DayOutcome:
    tallies: dict[str, SessionTally]
    results: dict[str, Mapping[str, Any]]
    """Exam id → its view once it has a result (or is void)."""
    indices: list[int]
    """Index of every entry the machines were answered for."""
    elapsed_s: float


class _Machines:
    """Clients, keys and logs of every machine, closed together."""

    def __init__(self, url: str, day: PreparedDay, *, tty_dir: Path) -> None:
        self.url = url
        self.day = day
        self.tty_dir = tty_dir
        self._clients: list[CentreClient] = []
        self._logs: list[RemoteLog] = []
        self.indices: list[int] = []
        self._lock = threading.Lock()

    def client(
        self,
        machine: Machine | None,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> CentreClient:
        client = CentreClient(
            self.url,
            token=machine.token if machine is not None else token,
            retry=PATIENT,
            transport=transport,
        )
        with self._lock:
            self._clients.append(client)
        return client

    def log(
        self, short: str, transport: httpx.BaseTransport | None = None
    ) -> tuple[RemoteLog, DayReads]:
        machine = self.day.machine(short)
        client = self.client(machine, transport=transport)
        log = RemoteLog(client, device_key(machine.directory, machine.name), origin=self.day.origin)
        with self._lock:
            self._logs.append(log)
        return log, DayReads(client)

    def keep(self, index: int) -> int:
        with self._lock:
            self.indices.append(index)
        return index

    def close(self) -> None:
        for log in self._logs:
            log.close()
        for client in self._clients:
            client.close()


class _Frames:
    """Simulated drives, made once per (subject, faults) and reused: a car's sensors."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, tuple[str, ...]], list[Frame]] = {}
        self._lock = threading.Lock()

    def of(self, subject: int, person: int) -> list[Frame]:
        faults = FAULTS[subject][person % len(FAULTS[subject])]
        key = (subject, faults)
        with self._lock:
            if key not in self._made:
                course = load_course(DEFAULT_MAPS[subject])
                self._made[key] = list(simulate(course, seed=subject, faults=faults).frames)
            return self._made[key]


class DayRun:
    """One run of a prepared day (module docstring)."""

    def __init__(
        self,
        url: str,
        day: PreparedDay,
        script: DayScript,
        *,
        work_dir: Path,
        progress: Progress | None = None,
        beacon: BeaconSource | None = None,
        commit_lead_ms: int = COMMIT_MARGIN_MS,
    ) -> None:
        """``beacon`` None: a development beacon (tests without a monitoring centre).

        Raises:
            BeaconError: the beacon's commitment is not signed by a key the policy pins.
            RefusedError, UnavailableError: the centre's policy cannot be read.
        """
        self.day = day
        self.script = script
        self.progress = progress
        self.machines = _Machines(url, day, tty_dir=work_dir / "tty")
        self.frames = _Frames()
        self.tallies = {
            s.session: SessionTally(s.session, s.subject, len(s.candidates)) for s in day.sessions
        }
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._room_locks = {s.room: threading.Lock() for s in day.sessions}
        self._alarm_done = threading.Event()
        beacon_seed = bytes.fromhex(id_number(0)[:16].ljust(64, "0"))
        self.beacon = (
            beacon
            if beacon is not None
            else DevBeacon(beacon_seed, genesis_ms=_now_ms(), period_ms=200)
        )
        policy = parse_policy(self.machines.client(None).policy())
        self.rows = RosterBook(day.centre_dir)
        log, reads = self.machines.log(ALLOCATOR_KEY)
        self.allocator = Allocator(
            log,
            reads,
            self.rows,
            self.beacon,
            beacon_seed[::-1],
            beacon_keys=policy.beacon_verifiers,
            lead_ms=commit_lead_ms,
        )
        self.supervisor = SupervisorDesk(self.machines.log(SUPERVISOR_KEY)[0])
        gateway = day.machine("gateway/g1")
        self.gateway = RoomGateway(
            self.machines.client(gateway),
            gateway.directory,
            work_dir / "tty",
            sorted({s.room for s in day.sessions}),
        )

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> DayOutcome:
        """Run every session to its last result; close every machine.

        Raises:
            RuntimeError: a machine failed (every failure is listed).
        """
        started = time.perf_counter()
        results: dict[str, Mapping[str, Any]] = {}
        try:
            threads = [
                threading.Thread(target=self._guarded, args=(s, results), name=s.session)
                for s in self.day.sessions
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            self.close()
        if self.errors:
            raise RuntimeError("the day failed: " + "; ".join(self.errors))
        return DayOutcome(
            self.tallies, results, sorted(self.machines.indices), time.perf_counter() - started
        )

    def close(self) -> None:
        self.gateway.close()
        self.machines.close()
        self.rows.close()

    def _guarded(self, spec: SessionSpec, results: dict[str, Mapping[str, Any]]) -> None:
        try:
            self._session(spec, results)
        except Exception as e:
            with self._lock:
                self.errors.append(f"{spec.session}: {type(e).__name__}: {e}")
            self._tell(spec.session, "failed")

    def _tell(self, session: str, phase: str | None = None) -> None:
        tally = self.tallies[session]
        with self._lock:
            if phase is not None:
                tally.phase = phase
            line = tally.line()
        if self.progress is not None:
            self.progress(session, line)

    def _count(self, session: str, what: str, n: int = 1) -> None:
        tally = self.tallies[session]
        with self._lock:
            setattr(tally, what, getattr(tally, what) + n)
        self._tell(session)

    def _session(self, spec: SessionSpec, results: dict[str, Mapping[str, Any]]) -> None:
        people = self._check_in(spec)
        self._tell(spec.session, "allocation")
        self.allocator.allocate(spec.session)
        self._tell(spec.session, "exams")
        crews = [
            threading.Thread(
                target=self._crew_guarded,
                args=(spec, examiner, people),
                name=f"{spec.session}/{examiner}",
            )
            for examiner in spec.examiners
        ]
        if spec.session == self.script.jammer_alarm:
            crews.append(threading.Thread(target=self._jammer_alarm, args=(spec,)))
        for thread in crews:
            thread.start()
        for thread in crews:
            thread.join()
        self._tell(spec.session, "scoring")
        reads = DayReads(self.machines.client(None, self.day.inspector_token))
        for exam in list(self.tallies[spec.session].exams):
            view = _wait_for_result(reads, exam)
            results[exam] = view
            if view.get("result") is not None:
                self._count(spec.session, "scored")
        self._tell(spec.session, "done")

    # --- check-in --------------------------------------------------------------------------------

    def _check_in(self, spec: SessionSpec) -> dict[str, int]:
        """Check in the session's people; their pseudonymous ids → person numbers.

        Raises:
            RuntimeError: the centre refused a booked person's card.
        """
        log, reads = self.machines.log(terminal_key(spec.session))
        terminal = CheckinTerminal(log, reads)
        people: dict[str, int] = {}
        script = self.script
        if spec.session in script.stranger_at:
            outcome = terminal.check_in(spec.session, CardRead(id_number(STRANGER), (950,)))
            if outcome.state == "card_refused":
                self._count(spec.session, "refused_cards")
        for n in spec.candidates:
            if n in script.proxies:
                faces: tuple[int, ...] = (310, 280, 295)
            elif n in script.face_retry:
                faces = (640, 910)
            else:
                faces = (900 + n % 90,)
            outcome = terminal.check_in(spec.session, CardRead(id_number(n), faces))
            if outcome.candidate is None:
                raise RuntimeError(f"the booked card of person {n} was refused: {outcome.detail}")
            people[outcome.candidate] = n
            failures = outcome.attempts - (1 if outcome.state == "checked_in" else 0)
            self._count(spec.session, "face_failures", failures)
            if outcome.state == "locked":
                self.machines.keep(
                    self.supervisor.decide(
                        spec.session, outcome.candidate, "refuse", "proxy_suspected"
                    )
                )
                self._count(spec.session, "proxies_refused")
            else:
                self._count(spec.session, "checked_in")
        return people

    # --- a crew ----------------------------------------------------------------------------------

    def _crew_guarded(self, spec: SessionSpec, examiner: str, people: dict[str, int]) -> None:
        try:
            self._crew(spec, examiner, people)
        except Exception as e:
            with self._lock:
                self.errors.append(f"{spec.session}/{examiner}: {type(e).__name__}: {e}")

    def _crew(self, spec: SessionSpec, examiner: str, people: dict[str, int]) -> None:
        tablet_log, tablet_reads = self.machines.log(tablet_key(examiner))
        tablet = Tablet(
            tablet_log,
            tablet_reads,
            self.gateway,
            room_lock=self._room_locks[spec.room],
            poll_s=0.05,
        )
        link = DroppableLink()
        unit_log, _ = self.machines.log(unit_key(examiner), transport=link)
        unit = InCarUnit(
            unit_log, bytes(32), chunk_frames=self.script.chunk_frames, pace_s=self.script.pace_s
        )
        assignment = tablet.assignment(spec.session)
        try:
            self._exams(spec, (tablet, unit, link), assignment, people)
        finally:
            link.restore()
            self._count(spec.session, "refused_while_down", link.refused_while_down)

    def _exams(
        self,
        spec: SessionSpec,
        crew: tuple[Tablet, InCarUnit, DroppableLink],
        assignment: Assignment,
        people: dict[str, int],
    ) -> None:
        for candidate, exam in assignment.exams:
            person = people[candidate]
            if person in self.script.no_shows:
                self.machines.keep(
                    self.allocator.repair(spec.session, LateChange("no_show", candidate), "no-show")
                )
                self._count(spec.session, "no_shows")
                continue
            self._exam(spec, crew, assignment, (candidate, exam), person)

    def _exam(
        self,
        spec: SessionSpec,
        crew: tuple[Tablet, InCarUnit, DroppableLink],
        assignment: Assignment,
        who: tuple[str, str],
        person: int,
    ) -> None:
        tablet, unit, link = crew
        candidate, exam = who
        with self._lock:
            self.tallies[spec.session].exams[exam] = person
        self.machines.keep(tablet.board(assignment, candidate, exam))
        self.machines.keep(unit.camera(exam).result())
        start = tablet.start(
            spec.session, spec.room, exam, not_before_ms=self.day.start_ms[spec.session]
        )
        self.machines.keep(start.index)
        self._count(spec.session, "started")
        if start.refused_gates:
            self._count(spec.session, "gate_refusals", start.refused_gates)
        stop = threading.Event()
        # The exam the jammer's alarm falls in (``_jammer_alarm`` raises it after this start):
        # it drives on only once the gateway has read the alarm, so the alarm names it.
        alarmed = (
            spec.session == self.script.jammer_alarm
            and self.tallies[spec.session].started == self.script.alarm_after_starts
        )

        def on_chunk(number: int) -> None:
            if number == 0 and alarmed:
                self._until_unprotected(spec.room)
            if person in self.script.dead_zones:
                if number == 1:
                    link.drop()
                elif number == 3:
                    # Out of the dead zone once the unit has met the dead link at least once.
                    deadline = time.monotonic() + DEAD_ZONE_MAX_S
                    while link.refused_while_down == 0 and time.monotonic() < deadline:
                        time.sleep(0.01)
                    link.restore()
            if number == 0 and person in self.script.stops:
                self.machines.keep(tablet.stop(exam, "danger"))
                stop.set()
                self._count(spec.session, "stopped")

        drive = unit.drive(
            exam, start.index, self.frames.of(spec.subject, person), stop, on_chunk=on_chunk
        )
        link.restore()
        futures: list[Future[int]] = [*drive.futures]
        if drive.ended is not None:
            futures.append(drive.ended)
        for future in futures:
            self.machines.keep(future.result())
        self.gateway.end_exam(spec.room, exam)
        self._count(spec.session, "ended")

    # --- the jammer ------------------------------------------------------------------------------

    def _jammer_alarm(self, spec: SessionSpec) -> None:
        """After a few starts in the session, a band alarm; cleared once the gate has refused."""
        tally = self.tallies[spec.session]
        while tally.started < self.script.alarm_after_starts and tally.phase == "exams":
            time.sleep(0.05)
        if tally.phase != "exams":
            return
        before = self.gateway.refused[spec.room]
        self.gateway.alarm(spec.room)
        self._tell(spec.session, "jammer!")
        deadline = time.monotonic() + 30
        while self.gateway.refused[spec.room] == before and time.monotonic() < deadline:
            time.sleep(0.05)
        self.gateway.clear(spec.room)
        self._tell(spec.session, "exams")

    def _until_unprotected(self, room: str) -> None:
        """Wait until the room's gateway has read the jammer's alarm (its gate would refuse),
        then one poll more: the alarm's entry is signed as it is read."""
        deadline = time.monotonic() + ALARM_SEEN_TIMEOUT_S
        while self.gateway.protected(room) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(2 * POLL_MS / 1000)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _wait_for_result(reads: DayReads, exam: str, timeout_s: float = 300.0) -> Mapping[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        view = reads.exam(exam)
        if view.get("result") is not None or view.get("void") is not None:
            return view
        if time.monotonic() > deadline:
            raise TimeoutError(f"no result of exam {exam} after {timeout_s} s")
        time.sleep(0.1)


def run_day(
    url: str,
    day: PreparedDay,
    script: DayScript,
    *,
    work_dir: Path,
    start_in_s: float,
    progress: Progress | None = None,
    beacon: BeaconSource | None = None,
    commit_lead_ms: int = COMMIT_MARGIN_MS,
) -> DayOutcome:
    """Open the day's sessions to start ``start_in_s`` from now (time for the check-ins and the
    seal), then run them against the centre served at ``url`` (module docstring), drawing
    every allocation on ``beacon`` (None: a development beacon) at least ``commit_lead_ms``
    after its commitment.

    Raises:
        RuntimeError: a machine failed.
        ClientError: the centre refused to open a session or to serve its policy.
        BeaconError: the beacon's commitment is not signed by a key the policy pins.
    """
    run = DayRun(
        url,
        day,
        script,
        work_dir=work_dir,
        progress=progress,
        beacon=beacon,
        commit_lead_ms=commit_lead_ms,
    )
    try:
        open_sessions(url, day, start_in_s=start_in_s)
    except BaseException:
        run.close()
        raise
    return run.run()


def deductions_of(results: Mapping[str, Mapping[str, Any]]) -> Counter[str]:
    """How often each deduction code appears in the results."""
    counted: Counter[str] = Counter()
    for view in results.values():
        result = view.get("result")
        if result is not None:
            counted.update(str(d["code"]) for d in result["deductions"])
    return counted


__all__ = [
    "PATIENT",
    "STRANGER",
    "DayOutcome",
    "DayRun",
    "DayScript",
    "SessionTally",
    "deductions_of",
    "run_day",
]
