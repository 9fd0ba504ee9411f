"""The audit's composition: which replayers run when a bundle is audited (DESIGN §3.5).

``exam_core``'s audit checks the log itself and never imports the domains; each domain supplies
a ``Replayer`` for its own entries.  Which of them an audit runs is decided here, once, for every
face that audits: ``examctl audit``, the exam-day demonstration, and whatever audits next.
"""

from __future__ import annotations

from allocation.replayer import AllocationReplayer
from devices.gate_replayer import DeviceGatingReplayer
from devices.uptime_replayer import UptimeVerdictReplayer
from exam_core.audit.history import Replayer
from exam_core.evidence.camera_replayer import CameraReplayer
from exam_core.evidence.snapshot_replayer import SnapshotReplayer
from exam_core.evidence.video_replayer import VideoSealReplayer
from exam_core.exam_day.replayer import ExamDayReplayer
from exam_core.scoring.replayer import ScoringReplayer

__all__ = ["default_replayers"]


def default_replayers(*, allow_dev_beacon: bool = False) -> list[Replayer]:
    """The replayers an audit runs: DESIGN §3.5 steps 4, 5 and the gating of step 6.

    Allocations are recomputed from their manifest, beacon and VRF proof; scores from their
    signed telemetry; gate decisions from the device frames they cite, and the gateway's
    verdicts on device uptimes from the samples they carry; every exam's camera
    health, video chain and snapshots from the in-car unit's entries; the exam day's steps by its
    own state machine (roster, gates under the room's configuration, boarding, outcomes).  A
    draw on a development beacon fails the audit unless ``allow_dev_beacon`` (``examctl audit
    --allow-dev-beacon``: tests and demonstrations, whose beacon has no other source).
    """
    return [
        AllocationReplayer(allow_dev_beacon=allow_dev_beacon),
        ScoringReplayer(),
        DeviceGatingReplayer(),
        UptimeVerdictReplayer(),
        CameraReplayer(),
        VideoSealReplayer(),
        SnapshotReplayer(),
        ExamDayReplayer(),
    ]
