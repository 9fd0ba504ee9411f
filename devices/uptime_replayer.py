"""The auditor's check of the gateway's uptime verdicts: does each ``device.uptime_suspect``
entry say what the uptime rule says of the two samples it carries?

Why it exists: the gate replay (``devices.gate_replayer``) takes a device's standing uptime
suspicion from these entries, so an entry that clears a suspicion its own samples do not lift
would let a replayed device count as protecting the room.  Each entry carries the earlier
sample (``previous_uptime_s``, ``previous_boot_count``, read ``elapsed_ms`` before the later
one) and the later one (``uptime_s``, ``boot_count``; the rule needs only the time between the
two, so the later is placed at ``mono_ms``), so the auditor judges them with
``devices.uptime_rule.judge_uptime``, the function the monitor applied live.

Finding (error): ``uptime_verdict_wrong`` — a ``set`` that names no suspect verdict or another
one than its samples give; a ``clear`` whose samples are not consistent; or fields that are
not integers.
"""

from __future__ import annotations

from collections.abc import Mapping

from devices.uptime_rule import CONSISTENT, SUSPECT, UptimeSample, judge_uptime
from exam_core.audit.history import AuditHistory, Finding
from exam_core.audit.replayer_state import RebuiltFromHistory
from exam_core.log.entry import Entry

FIELDS = ("uptime_s", "boot_count", "previous_uptime_s", "previous_boot_count", "elapsed_ms")


def logged_samples(event: Mapping[str, object]) -> tuple[UptimeSample, UptimeSample] | None:
    """The (earlier, later) samples a ``device.uptime_suspect`` entry was judged on (None when
    a field is missing or not an integer)."""
    values = [event.get(name) for name in (*FIELDS, "mono_ms")]
    ints = [v for v in values if type(v) is int]
    if len(ints) != len(values):
        return None
    uptime, boots, previous_uptime, previous_boots, elapsed, mono = ints
    return (
        UptimeSample(previous_uptime, previous_boots, mono - elapsed),
        UptimeSample(uptime, boots, mono),
    )


class UptimeVerdictReplayer(RebuiltFromHistory):
    """A ``Replayer`` for ``device.uptime_suspect`` entries (see the module docstring)."""

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset({"device.uptime_suspect"})

    @property
    def reads(self) -> frozenset[str]:
        return frozenset()

    def replay(self, index: int, entry: Entry, history: AuditHistory) -> list[Finding]:
        event = entry.event
        samples = logged_samples(event)
        if samples is None:
            return [Finding(index, "uptime_verdict_wrong", "uptime samples are not integers")]
        verdict = judge_uptime(*samples)
        logged = event.get("verdict")
        named = logged in SUSPECT if event.get("action") == "set" else logged == CONSISTENT
        if named and verdict == logged:
            return []
        device = event.get("device")
        return [
            Finding(
                index,
                "uptime_verdict_wrong",
                f"{device}: {event.get('action')} {logged!s}, but the uptime rule judges "
                f"its samples {verdict}",
            )
        ]
