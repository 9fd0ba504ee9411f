"""Device monitor: ONLINE / STALE / OFFLINE per device, and every change as a ``device.*`` event.

Why it exists: "the jammer was on" must be provable afterwards, minute by minute.  The monitor
polls one device, keeps its link state with the rules of research/serial.md §5.4, and turns
what it sees into events for the signed log, each carrying the raw reply bytes as evidence:

- ``device.state``: a link-state change (UNKNOWN → ONLINE, ONLINE → STALE, → OFFLINE, back to
  ONLINE with the length of the outage), once per transition, with the cause of the failure;
- ``device.status``: the operating state changed (standby → jamming, bands, canary jammed), or
  the heartbeat period passed (default 60 s);
- ``device.alarm``: a live alarm set or cleared; ``device.detection``: a category detected or
  gone; ``device.event``: each record drained from the device's FIFO, so an alarm raised and
  cleared between two polls is still logged; ``device.reboot``: uptime or boot count went back;
- ``device.uptime_suspect``: the device's uptime stopped advancing with the time between polls
  (frozen, too fast, too slow: ``devices.uptime_rule``), set, and cleared once it advances
  consistently again; while it stands, the view tells the gate so.

Rules (§5.4): ONLINE → STALE when at least ``stale_after_ms`` passed since the last good poll
*and* at least ``stale_min_failures`` polls failed in a row; → OFFLINE when ``offline_after_ms``
passed since the last good poll (or since the start, for a device never seen).  Times come from
an injected monotonic clock in milliseconds; the log adds wall time when it signs.

``devices`` never imports the log: events leave through the ``sink`` callable.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from devices.errors import DeviceError, cause_name
from devices.reading import MAX_EVENTS_PER_POLL, PolledDevice, Reading
from devices.uptime_rule import UptimeSample, UptimeWatch, watch_uptime

UNKNOWN = "UNKNOWN"
ONLINE = "ONLINE"
STALE = "STALE"
OFFLINE = "OFFLINE"

EventSink = Callable[[str, dict[str, object]], None]
"""Receives (event type, type-specific fields) for each event to sign."""


def monotonic_ms() -> int:
    return time.monotonic_ns() // 1_000_000


@dataclass(frozen=True)
class MonitorConfig:
    stale_after_ms: int = 1000
    stale_min_failures: int = 2
    offline_after_ms: int = 10_000
    heartbeat_ms: int = 60_000

    def __post_init__(self) -> None:
        if not 0 < self.stale_after_ms <= self.offline_after_ms:
            raise ValueError("need 0 < stale_after_ms <= offline_after_ms")
        if self.stale_min_failures < 1 or self.heartbeat_ms < 1:
            raise ValueError("stale_min_failures and heartbeat_ms must be positive")


@dataclass(frozen=True)
class DeviceView:
    """What the gate sees of a device: link state, age of its last good reading, the reading,
    and the monotonic time that reading was taken (the gate cites it with the frame)."""

    name: str
    kind: str
    link_state: str
    age_ms: int | None
    reading: Reading | None
    read_ms: int | None = None
    uptime_suspect: str | None = None
    """The standing verdict of ``devices.uptime_rule`` (``frozen``, ``too-fast``,
    ``too-slow``), or None while the device's uptime is not suspect."""


class DeviceMonitor:
    """Polls one device and emits its events (one polling thread per device).

    ``lock`` (re-entrant) guards what the monitor publishes: its events and the view the gate
    reads change together under it, never during the device I/O.  A gateway passes one lock
    to every monitor and holds it while it decides and signs a gate, so the log never shows an
    event of a device before a gate that did not see it.
    """

    def __init__(
        self,
        name: str,
        device: PolledDevice,
        sink: EventSink,
        *,
        config: MonitorConfig | None = None,
        clock_ms: Callable[[], int] = monotonic_ms,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.name = name
        self.device = device
        self.sink = sink
        self.config = config or MonitorConfig()
        self._clock = clock_ms
        self._lock: AbstractContextManager[Any] = lock if lock is not None else threading.RLock()
        self.state = UNKNOWN
        self.started_ms = clock_ms()
        self.last_ok_ms: int | None = None
        self.failures = 0
        self.first_cause = ""
        self.last_cause = ""
        self.last_raw = b""
        """Bytes of the latest failed reply (a damaged frame), logged with STALE / OFFLINE."""
        self.reading: Reading | None = None
        self._down_since_ms: int | None = None
        self._last_status_ms: int | None = None
        self._uptime = UptimeWatch()

    # -- the poll -------------------------------------------------------------------------------

    def poll_once(self) -> Reading | None:
        """Poll the device once; emit what changed; return the reading or None on failure."""
        started = self._clock()
        try:
            reading = self.device.poll()
        except DeviceError as e:
            with self._lock:
                self.failures += 1
                cause = f"{cause_name(e)}: {e}"
                if self.failures == 1:
                    self.first_cause = cause
                self.last_cause = cause
                self.last_raw = e.raw or self.last_raw
                self._check_staleness()
            return None
        with self._lock:
            now = self._clock()
            self._online(now, reading)
            self._diff(now, reading)
            self._judge_uptime(now, started, reading)
            self.reading = reading
            self.last_ok_ms = now
            self.failures = 0
            self.last_raw = b""
        return reading

    def check_staleness(self) -> None:
        """Apply the STALE / OFFLINE rules at the current time (also called between polls)."""
        with self._lock:
            self._check_staleness()

    def _check_staleness(self) -> None:
        now = self._clock()
        reference = self.last_ok_ms if self.last_ok_ms is not None else self.started_ms
        silent = now - reference
        cfg = self.config
        if (
            self.state == ONLINE
            and silent >= cfg.stale_after_ms
            and self.failures >= cfg.stale_min_failures
        ):
            self._transition(now, STALE, silent)
        if self.state in (ONLINE, STALE, UNKNOWN) and silent >= cfg.offline_after_ms:
            self._transition(now, OFFLINE, silent)

    def view(self, now_ms: int | None = None) -> DeviceView:
        """The device as the gate sees it at ``now_ms`` (default: now on the monitor's clock).

        A gateway that holds the shared lock passes the time it will sign the gate at, so the
        age the gate judges is the age an auditor computes from the logged times.
        """
        with self._lock:
            now = self._clock() if now_ms is None else now_ms
            age = None if self.last_ok_ms is None else now - self.last_ok_ms
            kind = self.reading.kind if self.reading else getattr(self.device, "kind", "")
            return DeviceView(
                self.name,
                kind,
                self.state,
                age,
                self.reading,
                self.last_ok_ms,
                self._uptime.suspect,
            )

    # -- events ---------------------------------------------------------------------------------

    def _emit(self, type_: str, now: int, **fields: object) -> None:
        body: dict[str, object] = {"device": self.name, "kind": self._kind(), "mono_ms": now}
        body.update(fields)
        self.sink(type_, body)

    def _kind(self) -> str:
        if self.reading is not None:
            return self.reading.kind
        return str(getattr(self.device, "kind", "unknown"))

    def _transition(self, now: int, new: str, silent_ms: int) -> None:
        old, self.state = self.state, new
        if new in (STALE, OFFLINE) and self._down_since_ms is None:
            self._down_since_ms = now
        self._emit(
            "device.state",
            now,
            state=new,
            previous=old,
            failures=self.failures,
            silent_ms=silent_ms,
            cause=self._cause()[:512],
            raw=self.last_raw[:4096].hex(),
        )

    def _cause(self) -> str:
        """The failure that started this outage, and the latest one when it differs."""
        if not self.first_cause:
            return "no reply"
        if self.last_cause == self.first_cause:
            return self.first_cause
        return f"{self.first_cause}; latest {self.last_cause}"

    def _online(self, now: int, reading: Reading) -> None:
        if self.state == ONLINE:
            return
        old, self.state = self.state, ONLINE
        down_ms = 0 if self._down_since_ms is None else now - self._down_since_ms
        self._down_since_ms = None
        self._emit(
            "device.state",
            now,
            state=ONLINE,
            previous=old,
            failures=self.failures,
            silent_ms=down_ms,
            cause="",
            raw=reading.raw.hex(),
        )

    def _judge_uptime(self, now: int, started: int, reading: Reading) -> None:
        """Apply the uptime rule to this poll's counters; log the suspicion as it starts and
        ends (devices without an uptime counter are not judged).

        The sample is timed when the poll began, not when it ended: the counters are the poll's
        first read, and the status read and FIFO drain after them take a varying time.
        """
        uptime, boots = reading.values.get("uptime_s"), reading.values.get("boot_count")
        if uptime is None or boots is None:
            return
        before = self._uptime
        sample = UptimeSample(int(uptime), int(boots), started)
        self._uptime, verdict = watch_uptime(before, sample)
        if self._uptime.suspect == before.suspect or before.anchor is None:
            return
        anchor = before.anchor
        self._emit(
            "device.uptime_suspect",
            now,
            action="clear" if self._uptime.suspect is None else "set",
            verdict=verdict,
            uptime_s=sample.uptime_s,
            boot_count=sample.boot_count,
            previous_uptime_s=anchor.uptime_s,
            previous_boot_count=anchor.boot_count,
            elapsed_ms=sample.read_ms - anchor.read_ms,
            raw=reading.raw.hex(),
        )

    def _diff(self, now: int, reading: Reading) -> None:
        before = self.reading if self.reading is not None and self.last_ok_ms is not None else None
        raw = reading.raw.hex()
        if reading.rebooted:
            self._emit(
                "device.reboot",
                now,
                boot_count=int(reading.values.get("boot_count", 0)),
                uptime_s=int(reading.values.get("uptime_s", 0)),
                raw=raw,
            )
        # A device sending reports or records far faster than it is polled (a vendor jammer's
        # reports, a canary's) must not flood the log: the rest are counted, as lost records are.
        events = reading.events[:MAX_EVENTS_PER_POLL]
        lost = reading.events_lost + len(reading.events) - len(events)
        for ev in events:
            self._emit(
                "device.event",
                now,
                event_seq=ev.event_seq,
                event_type=ev.type,
                subject=ev.subject,
                value=ev.value,
                rtc_s=ev.rtc_unix_s,
                uptime_s=ev.uptime_s,
                raw=ev.raw.hex(),
            )
        if lost:
            self._emit(
                "device.event",
                now,
                event_seq=0,
                event_type=0,
                subject=0xFFFF,
                value=min(lost, 0xFFFF),
                rtc_s=0,
                uptime_s=0,
                raw="",
            )
        old_flags = before.flags if before is not None else {}
        for group, type_ in (("alarm", "device.alarm"), ("detected", "device.detection")):
            old = old_flags.get(group, frozenset())
            new = reading.flags.get(group, frozenset())
            for name in sorted(new - old):
                self._emit(type_, now, name=name, action="set", raw=raw)
            for name in sorted(old - new):
                self._emit(type_, now, name=name, action="clear", raw=raw)
        changed = before is None or (
            before.extra.get("state") != reading.extra.get("state")
            or before.flags.get("bands") != reading.flags.get("bands")
            or before.flags.get("jammed") != reading.flags.get("jammed")
        )
        due = self._last_status_ms is None or now - self._last_status_ms >= self.config.heartbeat_ms
        if changed or due:
            self._last_status_ms = now
            self._emit(
                "device.status",
                now,
                state=str(reading.extra.get("state", "")),
                values={k: int(v) for k, v in sorted(reading.values.items())},
                raw=raw,
            )
