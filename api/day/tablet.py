"""The examiner's tablet: its own assignment, boarding, the start on a fresh gate, the stop.

- ``assignment``: ``GET /day/sessions/{s}/assignment`` answers only once the allocation is made
  (409 ``step-out-of-order`` before: the tablet waits and asks again) and only with this
  tablet's crew — its examiner, the car (vehicle and in-car unit) and route it learns with it,
  and its candidates with their exam ids;
- ``board``: ``boarding.confirmed`` names examiner, candidate and car;
- ``start``: the room's gateway decides the gate for this exam (``GateDesk``); if it allows,
  the tablet checks with the centre that this decision is the room's latest
  (``GET /day/rooms/{room}/gate``) and signs ``exam.started`` citing it.  A refused gate (a
  jammer alarm) is waited out; a decision overtaken by another (409 ``gate_not_latest``,
  ``gate_stale``) is asked for again;
- ``stop``: the emergency stop, with a reason from the fixed list;
- ``result``: the exam's result, once the centre's scorer has signed it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from api.client import RefusedError, RemoteLog
from api.client.day_reads import DayReads
from devices.gate import GateDecision
from exam_core.log.schemas.exam import STOP_REASONS

OUT_OF_ORDER = "step-out-of-order"
RETRY_START_CODES = frozenset({"gate_not_latest", "gate_stale", "gate_other_exam", "gate_closed"})


def _gate_overtaken(error: RefusedError) -> bool:
    """Whether the centre refused a start because its gate decision is no longer good."""
    expected = str(error.problem.get("expected", ""))
    return error.code in RETRY_START_CODES or (error.status == 409 and "device.gate" in expected)


class GateDesk(Protocol):
    """The room's gateway, as a tablet reaches it on the room's network."""

    def request_gate(self, room: str, exam: str) -> tuple[GateDecision, int]: ...


@dataclass(frozen=True)
class Assignment:
    session: str
    examiner: str
    vehicle: str
    unit: str
    route: str
    exams: tuple[tuple[str, str], ...]
    """(candidate, exam id), as the centre lists them."""


@dataclass
class StartRecord:
    """How a start went: the gate entry cited, and how many gate decisions refused first."""

    index: int
    gate: int
    refused_gates: int
    refused_reasons: tuple[str, ...]


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Tablet:
    """One examiner's tablet: its key, its token, the gate desk of the room it works in."""

    def __init__(
        self,
        log: RemoteLog,
        reads: DayReads,
        desk: GateDesk,
        *,
        room_lock: threading.Lock | None = None,
        poll_s: float = 0.2,
        sleep: Callable[[float], None] = _sleep,
        clock_ms: Callable[[], int] = _now_ms,
    ) -> None:
        self.log = log
        self.reads = reads
        self.desk = desk
        self.room_lock = room_lock if room_lock is not None else threading.Lock()
        self.poll_s = poll_s
        self._sleep = sleep
        self._clock = clock_ms

    def assignment(self, session: str, timeout_s: float = 120.0) -> Assignment:
        """This tablet's assignment, waiting until the allocation is made.

        Raises:
            RefusedError: 403 ``not-on-duty`` (no crew of the session carries this tablet),
                or any refusal other than "not made yet".
            TimeoutError: not made within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                body = self.reads.assignment(session)
            except RefusedError as e:
                if e.status != 409 or not e.name.endswith(OUT_OF_ORDER):
                    raise
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no allocation of {session} yet") from e
                self._sleep(self.poll_s)
                continue
            return Assignment(
                session=str(body["session"]),
                examiner=str(body["examiner"]),
                vehicle=str(body["vehicle"]),
                unit=str(body["unit"]),
                route=str(body.get("route", "")),
                exams=tuple((str(x["candidate"]), str(x["exam"])) for x in body["exams"]),
            )

    def board(self, assignment: Assignment, candidate: str, exam: str) -> int:
        """``boarding.confirmed``: this examiner, this candidate, this car.

        Raises:
            RefusedError: not assigned, a no-show, the crew busy...
            UnavailableError: the centre stayed unreachable.
        """
        return self.log.append(
            "boarding.confirmed",
            {
                "session": assignment.session,
                "exam": exam,
                "candidate": candidate,
                "examiner": assignment.examiner,
                "vehicle": assignment.vehicle,
            },
        )

    def start(
        self, session: str, room: str, exam: str, not_before_ms: int = 0, timeout_s: float = 120.0
    ) -> StartRecord:
        """Start the exam on a fresh gate decision that allows it (module docstring).

        Raises:
            RefusedError: the start was refused for another reason than the gate's.
            TimeoutError: the gate did not allow the exam within ``timeout_s``.
        """
        wait_ms = not_before_ms - self._clock()
        if wait_ms > 0:
            self._sleep(wait_ms / 1000)
        deadline = time.monotonic() + timeout_s
        refused = 0
        reasons: tuple[str, ...] = ()
        while time.monotonic() < deadline:
            with self.room_lock:
                decision, gate = self.desk.request_gate(room, exam)
                if decision.allowed and self._is_latest(room, gate):
                    try:
                        index = self.log.append(
                            "exam.started", {"session": session, "exam": exam, "gate": gate}
                        )
                    except RefusedError as e:
                        if not _gate_overtaken(e):
                            raise
                    else:
                        return StartRecord(index, gate, refused, reasons)
            if not decision.allowed:
                refused += 1
                reasons = tuple(decision.reasons)
            self._sleep(self.poll_s)
        raise TimeoutError(f"the gate of {room} did not allow exam {exam} in {timeout_s} s")

    def _is_latest(self, room: str, gate: int) -> bool:
        latest: Mapping[str, Any] = self.reads.gate(room)
        return int(latest["index"]) == gate

    def stop(self, exam: str, reason: str) -> int:
        """The emergency stop: ``exam.stopped`` with a reason from the fixed list.

        Raises:
            ValueError: a reason outside the list (it would carry free text).
            RefusedError, UnavailableError: as ``board``.
        """
        if reason not in STOP_REASONS:
            raise ValueError(f"the reason is one of {sorted(STOP_REASONS)}")
        return self.log.append("exam.stopped", {"exam": exam, "reason": reason})

    def result(self, exam: str, timeout_s: float = 120.0) -> Mapping[str, Any]:
        """The exam's view once it has a result or is void (the scorer signs it unasked).

        Raises:
            TimeoutError: no result within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.reads.exam(exam)
            if view.get("result") is not None or view.get("void") is not None:
                return view
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result of exam {exam} yet")
            self._sleep(self.poll_s)
