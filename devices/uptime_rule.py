"""Does a device's uptime advance with the time between two polls?  One pure rule.

Why it exists: a jammer or detector whose replies are a recorded exchange played back (a replay
box spliced into the line while the real device is off) answers with readings that look
healthy but do not change, or change at the recording's pace.  Its uptime counter gives it
away: a live device's uptime advances by what the gateway's monotonic clock says passed between
two polls.  The monitor applies this rule to each good poll live, and the gate refuses a device
the rule holds suspect; the audit reads the monitor's logged verdicts, and can judge the two
samples each verdict carries with this very function.

A reboot (uptime back, or the boot count changed) is not judged here: the reboot rule of the
driver reports it, and the next samples start a new comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

UPTIME_RESOLUTION_MS = 1000
"""The counter counts whole seconds (``uptime_s``, research/serial.md §6): two truncated
readings differ from the true elapsed time by less than one second either way."""
POLL_JITTER_MS = 1000
"""How far the time the monitor gives a sample may lie from the moment the counters were read.
The monitor times a sample when the poll begins and the counters are the poll's first read;
what can fall between is one retry after a reply timeout (0.5 s by default) or, after a lost
link, the reconnect's identity read and clock write: well under a second, either way."""
UPTIME_TOLERANCE_MS = UPTIME_RESOLUTION_MS + POLL_JITTER_MS
"""How far an uptime's advance may differ from the polls' elapsed time (2000 ms).  A frozen
counter is therefore caught once more than 2 s separate two polls, and one running 10× fast
within a quarter-second poll or two."""

CONSISTENT = "consistent"
UNDECIDED = "undecided"
"""Too little time passed to tell a frozen counter from a live one (at most the tolerance)."""
FROZEN = "frozen"
TOO_FAST = "too-fast"
TOO_SLOW = "too-slow"
REBOOTED = "rebooted"
SUSPECT = frozenset({FROZEN, TOO_FAST, TOO_SLOW})
"""The verdicts under which the gate does not count the device as protecting the room."""


@dataclass(frozen=True)
class UptimeSample:
    """The counters of one good poll and the monitor's monotonic time of that poll."""

    uptime_s: int
    boot_count: int
    read_ms: int


def judge_uptime(earlier: UptimeSample, later: UptimeSample) -> str:
    """The verdict on the uptime's advance from ``earlier`` to ``later`` (a constant above).

    (1) A changed boot count or an uptime gone back is a reboot, which another rule reports.
    (2) An advance that differs from the elapsed time by more than ``UPTIME_TOLERANCE_MS``
    is suspect: ``frozen`` if the uptime did not move at all, else ``too-fast`` or ``too-slow``.
    (3) Otherwise it is consistent only once more than the tolerance has elapsed, since until
    then a frozen counter would pass as well.
    """
    if later.boot_count != earlier.boot_count or later.uptime_s < earlier.uptime_s:
        return REBOOTED  # (1)
    elapsed_ms = later.read_ms - earlier.read_ms
    drift_ms = (later.uptime_s - earlier.uptime_s) * 1000 - elapsed_ms
    if abs(drift_ms) > UPTIME_TOLERANCE_MS:  # (2)
        if later.uptime_s == earlier.uptime_s:
            return FROZEN
        return TOO_FAST if drift_ms > 0 else TOO_SLOW
    return CONSISTENT if elapsed_ms > UPTIME_TOLERANCE_MS else UNDECIDED  # (3)


@dataclass(frozen=True)
class UptimeWatch:
    """What the monitor keeps between polls: the sample the next one is judged against, and
    the standing suspicion (None while the device's uptime is not suspect)."""

    anchor: UptimeSample | None = None
    suspect: str | None = None


def watch_uptime(watch: UptimeWatch, sample: UptimeSample) -> tuple[UptimeWatch, str]:
    """The watch after one more good poll, and the verdict of that poll (pure).

    The anchor moves to the new sample after every verdict but ``undecided``, so each judgement
    spans more than the tolerance (a frozen counter cannot hide in short steps) and no clock
    drift accumulates.  A suspicion stands until a ``consistent`` verdict lifts it: a reboot
    alone does not (a looping recording reboots too).
    """
    if watch.anchor is None:
        return UptimeWatch(sample, watch.suspect), UNDECIDED
    verdict = judge_uptime(watch.anchor, sample)
    if verdict == UNDECIDED:
        return watch, verdict
    if verdict in SUSPECT:
        return UptimeWatch(sample, verdict), verdict
    if verdict == CONSISTENT:
        return UptimeWatch(sample, None), verdict
    return UptimeWatch(sample, watch.suspect), verdict
