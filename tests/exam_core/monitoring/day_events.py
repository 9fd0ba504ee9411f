"""Schema-valid decoded events of one centre's exam day, for the warnings' tests.

Every event is checked against the log's schemas (``validate_event``) as it is made, so the
watch is fed exactly what a verified log can hold.
"""

from __future__ import annotations

from typing import Any

from exam_core.log.schemas import validate_event

CENTRE = "exam.example/c/370100-01"
TABLET = f"{CENTRE}/tablet/t1"
GATEWAY = f"{CENTRE}/gateway/g1"
EXAMINER = "e-07"
VEHICLE = "v-03"
EXAM = "ab" * 16
START_MS = 1_800_000_000_000
DAY_MS = 86_400_000


class Day:
    """Events in log order, each with its index and ``ts``."""

    def __init__(self, ts: int = START_MS) -> None:
        self.ts = ts
        self.events: list[tuple[int, dict[str, Any]]] = []
        self.seq: dict[str, int] = {}

    def add(self, type_: str, actor: str, **fields: Any) -> int:
        self.ts += 1000
        self.seq[actor] = self.seq.get(actor, 0) + 1
        event = {"v": 1, "log": CENTRE, "type": type_, "ts": self.ts, "actor": actor}
        event |= {"seq": self.seq[actor], **fields}
        validate_event(event)
        self.events.append((len(self.events), event))
        return len(self.events) - 1

    def session(self, session: str = "s-1") -> int:
        return self.add(
            "session.opened",
            f"{CENTRE}/admin",
            session=session,
            subject=2,
            licence_class="C1",
            room="field-1",
            route="field-map/1",
            start_ms=self.ts,
            seal_from_ms=self.ts,
            seal_until_ms=self.ts + 3_600_000,
            face_threshold=800,
            gate_fresh_ms=5000,
            booked=["c-1"],
            crews=[
                {
                    "examiner": EXAMINER,
                    "tablet": TABLET,
                    "vehicle": VEHICLE,
                    "unit": f"{CENTRE}/vehicle/u1",
                }
            ],
        )

    def room(self) -> int:
        return self.add(
            "room.configured",
            f"{CENTRE}/admin",
            room="field-1",
            kind="field",
            gateway=GATEWAY,
            jammers=[{"device": "jammer-1", "bands": [1, 2, 3]}],
            detectors=["detector-1"],
            canaries=[],
            max_age_ms=2000,
        )

    def boarding(self, exam: str = EXAM) -> int:
        return self.add(
            "boarding.confirmed",
            TABLET,
            session="s-1",
            exam=exam,
            candidate="c-1",
            examiner=EXAMINER,
            vehicle=VEHICLE,
        )

    def device(self, type_: str, exam: str | None = EXAM, **fields: Any) -> int:
        kind = "jammer" if fields.get("device", "jammer-1").startswith("jammer") else "detector"
        base = {"device": "jammer-1", "kind": kind, "mono_ms": 1, "raw": "00"}
        if exam is not None:
            base["exam"] = exam
        return self.add(type_, GATEWAY, **(base | fields))

    def uptime(self, action: str, exam: str | None = EXAM, **fields: Any) -> int:
        """A ``device.uptime_suspect`` entry: ``set`` on a frozen counter, ``clear`` once it
        advances with the polls again."""
        frozen = action == "set"
        body = {
            "action": action,
            "verdict": "frozen" if frozen else "consistent",
            "uptime_s": 120 if frozen else 123,
            "boot_count": 3,
            "previous_uptime_s": 120,
            "previous_boot_count": 3,
            "elapsed_ms": 2250 if frozen else 3000,
        }
        return self.device("device.uptime_suspect", exam, **(body | fields))
