"""The exam day of a centre: rooms, gate decisions and sessions, fed entry by entry, in order.

Why it exists: one object routes each admitted entry to what it concerns — a room's
configuration, a room's gate decision, a session, or an exam (the steps of the in-car unit and
the scorer name only their exam) — so that the service can check a new signed step with
``check`` before sequencing it and record it with ``apply`` after, and a replay of the log
rebuilds the same state.  Entries of other types (keys, device status, telemetry of nothing on
the day) pass through unchanged.

Routing:

- ``key.registered``, ``key.revoked``: the keys the log holds so far (the registry has judged
  them: the day only remembers each key's role and whether it is revoked);
- ``room.configured``: the room's configuration in force from here on, whose gateway must be a
  registered, unrevoked gateway key at this point of the log (``rooms.check_room_gateway``);
- ``device.gate``: its room's latest decision, signed by the room's configured gateway;
- ``session.opened``: a new session, in a configured room;
- ``checkin.*``, ``session.*``, ``allocation.*``, ``boarding.confirmed``, ``exam.started``: the
  session they name;
- ``telemetry.chunk``, ``exam.stopped``, ``exam.ended``, ``exam.scored`` and the in-car
  evidence (``camera.status``, ``video.sealed``, ``snapshot.taken``): the session of the exam
  they name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from exam_core.errors import ExamDayError, StepError
from exam_core.exam_day.rooms import (
    ROOM_CONFIGURED,
    RegisteredKey,
    RoomConfig,
    check_room_gateway,
    parse_room_configuration,
)
from exam_core.exam_day.session_flow import SessionFlow
from exam_core.exam_day.steps import GateBoard, Step

_BY_EXAM = frozenset(
    {
        "telemetry.chunk",
        "exam.stopped",
        "exam.ended",
        "exam.scored",
        "video.sealed",
        "camera.status",
        "snapshot.taken",
    }
)

IdHashes = Callable[[str], Mapping[str, str]]
"""Session id → candidate → keyed hash of their ID number (from the centre's database)."""


class ExamDay:
    """Every room and session of one centre's log."""

    def __init__(self, origin: str, id_hashes: IdHashes | None = None) -> None:
        self.origin = origin
        self.gates = GateBoard()
        self.rooms: dict[str, tuple[RoomConfig, int]] = {}
        self.keys: dict[str, RegisteredKey] = {}
        """Every key the log has registered so far, by full name (revoked ones included)."""
        self.sessions: dict[str, SessionFlow] = {}
        self._exams: dict[str, str] = {}
        self._id_hashes = id_hashes

    def check(self, step: Step, manifest: bytes | None = None) -> None:
        """Whether ``step`` may be sequenced next (``manifest``: for ``allocation.committed``).

        Raises:
            StepError: out of order; ``expected`` names the step that may come.
            ExamDayError: the step contradicts what the log holds.
        """
        self._route(step, manifest, commit=False)

    def apply(self, step: Step, manifest: bytes | None = None) -> None:
        """Check ``step`` and record it (for an entry now in the log).

        Raises:
            StepError: as ``check``; nothing is recorded then.
            ExamDayError: as ``check``; nothing is recorded then.
        """
        self._route(step, manifest, commit=True)

    def session_of_exam(self, exam: str) -> SessionFlow | None:
        session = self._exams.get(exam)
        return None if session is None else self.sessions[session]

    def _route(self, step: Step, manifest: bytes | None, commit: bool) -> None:
        if step.type in ("key.registered", "key.revoked"):
            if commit:
                self._key(step)
        elif step.type == ROOM_CONFIGURED:
            self._room(step, commit)
        elif step.type == "device.gate":
            self._gate(step, commit)
        elif step.type == "session.opened":
            self._open(step, commit)
        elif step.type in _BY_EXAM:
            flow = self.session_of_exam(step.text("exam"))
            if flow is None:
                raise StepError(
                    "not_boarded", "boarding.confirmed", f"exam {step.text('exam')} has not boarded"
                )
            self._session_step(flow, step, manifest, commit)
        elif "session" in step.event and step.type.split(".")[0] in (
            "checkin",
            "session",
            "allocation",
            "boarding",
            "exam",
        ):
            flow = self.sessions.get(step.text("session"))
            if flow is None:
                raise StepError(
                    "unknown_session", "session.opened", f"no session {step.text('session')}"
                )
            self._session_step(flow, step, manifest, commit)

    def _session_step(
        self, flow: SessionFlow, step: Step, manifest: bytes | None, commit: bool
    ) -> None:
        if commit:
            flow.apply(step, manifest)
            if step.type == "boarding.confirmed":
                self._exams[step.text("exam")] = flow.session
        else:
            flow.check(step, manifest)

    def _room(self, step: Step, commit: bool) -> None:
        fields = {
            k: v
            for k, v in step.event.items()
            if k not in ("v", "log", "type", "ts", "actor", "seq")
        }
        config = parse_room_configuration(fields, self.origin)
        check_room_gateway(config.gateway, self.keys)
        if commit:
            self.rooms[config.room] = (config, step.index)

    def _key(self, step: Step) -> None:
        name = step.text("name")
        if step.type == "key.registered":
            self.keys[name] = RegisteredKey(step.text("role"))
        elif name in self.keys:
            self.keys[name] = RegisteredKey(self.keys[name].role, revoked=True)

    def _gate(self, step: Step, commit: bool) -> None:
        configured = self.rooms.get(step.text("room"))
        if configured is not None and step.actor != configured[0].gateway:
            raise ExamDayError(
                "wrong_gateway", f"room {configured[0].room} is watched by {configured[0].gateway}"
            )
        if commit:
            self.gates.record(step)

    def _open(self, step: Step, commit: bool) -> None:
        session = step.text("session")
        if session in self.sessions:
            raise ExamDayError("session_exists", f"session {session} is open already")
        room = step.text("room")
        if room not in self.rooms:
            raise StepError(
                "room_not_configured", ROOM_CONFIGURED, f"room {room} is not configured"
            )
        flow = SessionFlow(
            step,
            self.origin,
            gates=self.gates,
            id_hashes=None if self._id_hashes is None else self._id_hashes(session),
        )
        if commit:
            self.sessions[session] = flow
