"""What a centre's entries show that counts towards a warning, read entry by entry in log order.

The mirror verifies each entry and hands it here decoded (``ExamWatch.observe``); this module
knows the exam day's event types well enough to say who an event concerns and whether it is
worth a signal.  It keeps only what later entries need: which examiner and car each exam has
(``boarding.confirmed``), which examiner carries each tablet (``session.opened`` crews),
which bands each room requires of each jammer (``room.configured``), and which devices' uptime
stands suspect (``device.uptime_suspect`` set, until a clear).

Signals raised here (``exam_core.monitoring.signals`` says why these come from the entries and
not from findings):

- ``checkin.decided`` admitting a candidate: ``face_match_override``;
- ``identity.opened``: ``personal_data_opened``;
- ``exam.stopped``: ``emergency_stop``, held against the exam's examiner and car;
- ``exam.examiner_judged``: ``examiner_judged_fail``, against the exam's examiner;
- ``device.alarm`` or ``device.detection`` set during an exam: ``device_alarm_during_exam``,
  against the exam's examiner;
- a jammer's ``device.status`` during an exam that lacks a band its room requires:
  ``jammer_band_silent`` (once per exam, jammer and band), against the exam's examiner;
- ``device.uptime_suspect`` set (a device's uptime stopped advancing with the time between
  polls: a replayed serial exchange): ``device_uptime_suspect``, against the exam's examiner
  when the entry carries one, else the centre alone; once per device and exam (or none) while
  the suspicion stands, so a gateway that logs it again before a clear counts it once.

Every signal is held against the centre as well.  ``attribute`` and ``entry_time`` give the
findings of verification (``signals_from_findings``) the same examiner and car.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exam_core.monitoring.signals import Signal

__all__ = ["ExamWatch"]

_EXAM_TYPES = frozenset(
    {"exam.started", "exam.scored", "exam.ended", "exam.stopped", "device.gate"}
)
"""Entry types findings point at whose exam is worth remembering by index."""


@dataclass(frozen=True)
class _Crew:
    examiner: str
    vehicle: str | None


class ExamWatch:
    """The entries of one centre's log, observed in order (see the module docstring)."""

    def __init__(self, centre: str) -> None:
        self.centre = centre
        self._exams: dict[str, _Crew] = {}
        self._tablets: dict[str, _Crew] = {}
        self._bands: dict[tuple[str, str], frozenset[int]] = {}
        self._room_jammers: dict[tuple[str, str], tuple[str, ...]] = {}
        self._exam_at: dict[int, str] = {}
        self._ts_at: dict[int, int] = {}
        self._silent_bands: set[tuple[str, str, int]] = set()
        self._suspect: dict[tuple[str, str], set[str | None]] = {}

    # --- what findings need ----------------------------------------------------------------

    def attribute(self, index: int) -> tuple[str | None, str | None]:
        """The examiner and car of the exam entry ``index`` belongs to, as far as known."""
        exam = self._exam_at.get(index)
        crew = self._exams.get(exam) if exam is not None else None
        return (crew.examiner, crew.vehicle) if crew is not None else (None, None)

    def entry_time(self, index: int) -> int | None:
        """The ``ts`` of entry ``index`` if it is of a type findings point at, else None."""
        return self._ts_at.get(index)

    # --- the entries -------------------------------------------------------------------------

    def observe(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        """Take entry ``index`` (its decoded, verified event) and return what it signals."""
        kind = str(event.get("type", ""))
        exam = event.get("exam")
        if isinstance(exam, str) and kind in _EXAM_TYPES:
            self._exam_at[index] = exam
            self._ts_at[index] = int(event["ts"])
        learn = _LEARN.get(kind)
        if learn is not None:
            learn(self, event)
        signal = _SIGNAL.get(kind)
        return signal(self, index, event) if signal is not None else []

    def _crew_of(self, event: Mapping[str, Any]) -> _Crew | None:
        exam = event.get("exam")
        crew = self._exams.get(exam) if isinstance(exam, str) else None
        if crew is None and event.get("actor") in self._tablets:
            crew = self._tablets[str(event["actor"])]
        return crew

    def _signal(
        self,
        source: str,
        index: int,
        event: Mapping[str, Any],
        message: str,
        crew: _Crew | None = None,
        *,
        vehicle: bool = False,
        key: str = "",
    ) -> list[Signal]:
        return [
            Signal(
                source=source,
                centre=self.centre,
                at_ms=int(event["ts"]),
                entries=(index,),
                message=f"entry {index}: {message}",
                examiner=crew.examiner if crew is not None else None,
                vehicle=crew.vehicle if crew is not None and vehicle else None,
                key=key,
            )
        ]

    # --- learning who is who ---------------------------------------------------------------

    def _learn_session(self, event: Mapping[str, Any]) -> None:
        for crew in event.get("crews", ()):
            self._tablets[str(crew["tablet"])] = _Crew(str(crew["examiner"]), str(crew["vehicle"]))

    def _learn_boarding(self, event: Mapping[str, Any]) -> None:
        self._exams[str(event["exam"])] = _Crew(str(event["examiner"]), str(event["vehicle"]))

    def _learn_room(self, event: Mapping[str, Any]) -> None:
        # A room's configuration replaces its previous one, and only its own: one gateway may
        # serve several rooms.
        gateway, room = str(event["gateway"]), str(event["room"])
        for device in self._room_jammers.pop((gateway, room), ()):
            self._bands.pop((gateway, device), None)
        devices = []
        for jammer in event.get("jammers", ()):
            device = str(jammer["device"])
            self._bands[(gateway, device)] = frozenset(int(b) for b in jammer["bands"])
            devices.append(device)
        self._room_jammers[(gateway, room)] = tuple(devices)

    # --- signals -----------------------------------------------------------------------------

    def _checkin_decided(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        if event.get("decision") != "admit":
            return []
        return self._signal(
            "face_match_override",
            index,
            event,
            f"supervisor {event['actor']} admitted candidate {event['candidate']} of session "
            f"{event['session']} after a failed face match ({event['reason']})",
        )

    def _identity_opened(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        return self._signal(
            "personal_data_opened",
            index,
            event,
            f"{event['actor']} opened a keyed hash for case {event['case']} ({event['basis']})",
        )

    def _exam_stopped(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        crew = self._crew_of(event)
        return self._signal(
            "emergency_stop",
            index,
            event,
            f"exam {event['exam']} stopped by {event['actor']} ({event['reason']})",
            crew,
            vehicle=True,
        )

    def _examiner_judged(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        crew = self._crew_of(event)
        return self._signal(
            "examiner_judged_fail",
            index,
            event,
            f"examiner's call {event['code']} ({event['rules']}) on exam {event['exam']} "
            f"at frame {event['frame']}",
            crew,
        )

    def _device_alarm(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        if event.get("action") != "set" or "exam" not in event:
            return []
        what = "alarm" if event["type"] == "device.alarm" else "detection"
        return self._signal(
            "device_alarm_during_exam",
            index,
            event,
            f"{event['kind']} {event['device']} {what} {event['name']} during exam {event['exam']}",
            self._crew_of(event),
        )

    def _device_status(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        if event.get("kind") != "jammer" or "exam" not in event:
            return []
        required = self._bands.get((str(event["actor"]), str(event["device"])))
        active = event.get("values", {}).get("active_bands")
        if not required or not isinstance(active, int):
            return []
        exam, device = str(event["exam"]), str(event["device"])
        silent = sorted(b for b in required if not active >> (b - 1) & 1)
        new = [b for b in silent if (exam, device, b) not in self._silent_bands]
        if not new:
            return []
        self._silent_bands.update((exam, device, b) for b in new)
        return self._signal(
            "jammer_band_silent",
            index,
            event,
            f"jammer {device} not radiating band{'s' if len(new) > 1 else ''} "
            f"{', '.join(map(str, new))} during exam {exam}",
            self._crew_of(event),
        )

    def _uptime_suspect(self, index: int, event: Mapping[str, Any]) -> list[Signal]:
        device = (str(event["actor"]), str(event["device"]))
        if event.get("action") != "set":
            self._suspect.pop(device, None)
            return []
        exam = event.get("exam")
        exam = exam if isinstance(exam, str) else None
        signalled = self._suspect.setdefault(device, set())
        if exam in signalled:
            return []
        signalled.add(exam)
        during = f" during exam {exam}" if exam is not None else ", no exam running"
        return self._signal(
            "device_uptime_suspect",
            index,
            event,
            f"{event['kind']} {event['device']} uptime {event['verdict']}: "
            f"{event['previous_uptime_s']} s then {event['uptime_s']} s "
            f"{event['elapsed_ms']} ms later{during}",
            self._crew_of(event) if exam is not None else None,
        )


_LEARN = {
    "session.opened": ExamWatch._learn_session,
    "boarding.confirmed": ExamWatch._learn_boarding,
    "room.configured": ExamWatch._learn_room,
}
_SIGNAL = {
    "checkin.decided": ExamWatch._checkin_decided,
    "identity.opened": ExamWatch._identity_opened,
    "exam.stopped": ExamWatch._exam_stopped,
    "exam.examiner_judged": ExamWatch._examiner_judged,
    "device.alarm": ExamWatch._device_alarm,
    "device.detection": ExamWatch._device_alarm,
    "device.status": ExamWatch._device_status,
    "device.uptime_suspect": ExamWatch._uptime_suspect,
}
