"""A monitoring centre with one mirrored centre that did wrong, for the dashboard's tests.

The centre's log (served by ``StaticLogs`` in the C2SP layout) holds demo events — one with a
note full of HTML and script —, a room's configuration, device reports with an alarm, a gate
refusal whose reason is HTML too, and two
exams started (one ended).  The mirror copies it; then the centre rewrites entry 5 and the
mirror refuses the new history with a ``log_rewritten`` finding.  Every finding goes through the
warnings' intake (``CentreFeed``), so the centre has a red warning whose evidence is entry 5.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from api.monitor.mirror_client import http_sources
from exam_core.log.entry import make_entry, parse_entry
from exam_core.log.note import Ed25519Signer
from exam_core.monitoring.home import Monitor
from exam_core.monitoring.points_table import DEFAULT_TABLE
from exam_core.monitoring.warning_feed import CentreFeed
from exam_core.monitoring.warning_store import WarningStore
from tests.api.monitor.static_log import StaticLogs
from tests.exam_core.audit.bundle_factory import LogBuilder, _seed
from tests.exam_core.monitoring.conftest import SecondsClock

ORIGIN = "exam.example/c/370100-01"
HOSTILE = (
    '<script>document.title="pwned"</script>'
    '<img src=x onerror="document.body.dataset.pwned=1">"\'&amp;'
)
REWRITTEN = 5
EXAM_LIVE = "aa" * 16
EXAM_DONE = "bb" * 16


@dataclass
class Scene:
    monitor: Monitor
    log: LogBuilder
    hostile_index: int
    live_index: int
    feed: CentreFeed


def centre_log() -> tuple[LogBuilder, int, int]:
    """The centre's log, the index of the hostile note and of the live exam's start."""
    log = LogBuilder()
    device = log.key("d1", "demo")
    gateway = log.key("gw1", "gateway")
    tablet = log.key("t1", "tablet")
    vehicle = log.key("car1", "vehicle")
    while len(log.entries) < 12:
        log.append(device, "demo.event", n=len(log.entries))
    hostile = log.append(device, "demo.event", n=99, note=HOSTILE)
    log.append(
        log.admin,
        "room.configured",
        room="room-1",
        kind="room",
        gateway=gateway.name,
        jammers=[{"device": "jam-1", "bands": [1, 2]}],
        detectors=["det-1"],
        canaries=[],
        max_age_ms=5000,
    )
    common = {"mono_ms": 1, "raw": "00"}
    for name, kind in (("jam-1", "jammer"), ("det-1", "detector")):
        log.append(
            gateway, "device.status", device=name, kind=kind, state="on", values={}, **common
        )
    log.append(
        gateway,
        "device.alarm",
        device="det-1",
        kind="detector",
        name="phone",
        action="set",
        **common,
    )
    log.append(
        gateway,
        "device.gate",
        room="room-1",
        allowed=False,
        reasons=[HOSTILE],
        evidence=[],
        mono_ms=2,
    )
    for exam in (EXAM_DONE, EXAM_LIVE):
        log.append(tablet, "exam.started", session="s-1", exam=exam, gate=15)
    live = len(log.entries) - 1
    log.append(vehicle, "exam.ended", exam=EXAM_DONE, chunks=1)
    return log, hostile, live


def mirrored_scene(
    monitor: Monitor, static: StaticLogs, url: str, clock: SecondsClock, client: httpx.Client
) -> Scene:
    """Mirror the centre's log, then its rewrite; feed the findings; return the scene."""
    log, hostile, live = centre_log()
    monitor.add_log(log.log_key.vkey, f"{url}/a", clock.now * 1000)
    feed = CentreFeed(ORIGIN, WarningStore(monitor.store.engine), DEFAULT_TABLE, lambda _: None)
    static.publish("a", log)
    pull(monitor, clock, client, feed)
    original = parse_entry(log.entries[REWRITTEN]).event
    signer = Ed25519Signer.from_seed(str(original["actor"]), _seed("d1"))
    log.entries[REWRITTEN] = make_entry(signer, {**original, "n": 4242})
    log.append(log.admin, "demo.event", n=1)
    static.publish("a", log)
    pull(monitor, clock, client, feed)
    return Scene(monitor, log, hostile, live, feed)


def pull(monitor: Monitor, clock: SecondsClock, client: httpx.Client, feed: CentreFeed) -> None:
    """One mirror round, its findings handed to the warnings' intake."""
    clock.now += 3600
    for outcome in monitor.mirror.pull_all_due(http_sources(client)):
        feed.findings([f.finding for f in outcome.findings])
