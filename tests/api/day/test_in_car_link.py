"""The in-car unit over a real socket: its link drops mid-exam, it keeps recording, and when the
link returns everything goes in order — nothing lost, nothing twice.

``examctl serve`` runs as a process on loopback; the unit's client goes through a
``DroppableLink``.  The exam's start is signed by a tablet key, so the unit draws its snapshot
moments from a real start entry.
"""

from __future__ import annotations

import threading
from pathlib import Path

from api.client import CentreClient, RemoteLog, RetryPolicy
from api.day.device_key import device_key
from api.day.in_car import InCarUnit
from api.day.link import DroppableLink
from exam_core.centre.centre import Centre
from exam_core.centre.tokens import TokenStore
from exam_core.exam_day.plan import exam_id
from exam_core.log.entry import parse_entry
from exam_core.log.schemas.types import TABLET, VEHICLE
from exam_core.scoring.course import DEFAULT_MAPS, load_course
from exam_core.scoring.sim.simulator import simulate
from tests.api.http.served import Served
from tests.conftest import ORIGIN, assert_log_sound

QUICK = RetryPolicy(attempts=None, base_s=0.02, max_s=0.2)


def test_a_dropped_link_buffers_and_uploads_in_order_losing_nothing(
    tmp_path: Path, db_url: str
) -> None:
    root = tmp_path / "centre"
    unit_key = device_key(tmp_path / "car", f"{ORIGIN}/vehicle/unit-1")
    tablet_key = device_key(tmp_path / "tablet", f"{ORIGIN}/tablet/T1")
    with Centre.create(root, ORIGIN, database_url=db_url) as centre:
        centre.register_public_key("vehicle/unit-1", VEHICLE, unit_key.vkey)
        centre.register_public_key("tablet/T1", TABLET, tablet_key.vkey)
        vkey = centre.log_vkey
        token = TokenStore(centre.store.engine).issue("vehicle", unit_key.name)[0]
    served = Served(root, 0, "--batch-ms", "5")
    link = DroppableLink()
    exam = exam_id("s-1", "c-1")
    try:
        with (
            CentreClient(served.url, retry=QUICK) as tablet_client,
            CentreClient(served.url, token=token, retry=QUICK, transport=link) as car_client,
        ):
            tablet = RemoteLog(tablet_client, tablet_key)
            start = tablet.append("exam.started", {"session": "s-1", "exam": exam, "gate": 0})
            unit_log = RemoteLog(car_client, unit_key, retry=QUICK)
            unit = InCarUnit(unit_log, bytes(32), chunk_frames=200, pace_s=0.02)
            frames = simulate(load_course(DEFAULT_MAPS[2]), seed=3).frames

            def dead_zone(number: int) -> None:
                if number == 2:
                    link.drop()
                if number == 6:
                    link.restore()

            drive = unit.drive(exam, start, frames, threading.Event(), on_chunk=dead_zone)
            assert drive.ended is not None
            ended = drive.ended.result(timeout=120)
            indices = [f.result(timeout=120) for f in drive.futures]
            unit_log.close()
            tablet.close()
            assert link.refused_while_down > 0  # the unit really did try while down
            entries = [parse_entry(car_client.entry(i)) for i in range(start + 1, ended + 1)]
    finally:
        code, err = served.stop()
    assert code == 0, err
    mine = [e for e in entries if e.actor == unit_key.name]
    assert len(mine) == len(indices) + 1 == len(set(indices)) + 1
    assert [e.seq for e in mine] == list(range(1, len(mine) + 1))
    chunks = [e.event for e in mine if e.type == "telemetry.chunk"]
    assert [c["chunk"] for c in chunks] == list(range(drive.chunks))
    assert sum(int(c["frames"]) for c in chunks) == len(frames)
    seals = [e.event for e in mine if e.type == "video.sealed"]
    assert [s["segment"] for s in seals] == list(range(drive.segments))
    assert mine[-1].type == "exam.ended"
    assert mine[-1].event["chunks"] == drive.chunks
    # Recorded times, not sending times: the chunks made in the dead zone keep theirs.
    assert [e.ts for e in mine] == sorted(e.ts for e in mine)
    assert_log_sound(db_url, vkey)
