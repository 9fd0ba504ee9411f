"""Event types of the in-car evidence: camera health, sealed video segments, snapshots.

All three are signed by the in-car unit of the exam's crew (DESIGN §7, research/domain.md §3.2,
§3.3), so an insider at the centre can neither forge nor edit them:

- ``camera.status``: the camera's video signal, reported on every change: no signal before the
  start keeps the exam from starting; a lost signal during the exam makes it void;
- ``video.sealed``: one recorded segment (a few seconds of video, a blob in the centre's store)
  sealed as it is recorded: its SHA-256 and length, its times, and its place in the exam's hash
  chain (``segment`` counts from 0, ``prev`` is the link of the segment before, 32 zero bytes
  for the first; ``exam_core.evidence.video_chain`` makes the link);
- ``snapshot.taken``: one photo of the driver at a moment drawn from the exam's start entry, an
  encrypted blob (personal data: the key stays with the centre); its moment (ms after the start)
  and the video frame it was taken from.

No personal data appears in clear: exams by pseudonymous id, media by hash.
"""

from __future__ import annotations

from exam_core.log.canonical import MAX_SAFE_INTEGER
from exam_core.log.schemas.exam import EXAM_ID, SHA256
from exam_core.log.schemas.fields import Enum, Int
from exam_core.log.schemas.types import VEHICLE, EventSchema

CAMERA_OK = "ok"
CAMERA_STATES = frozenset({CAMERA_OK, "no_signal", "power_lost", "cable_unplugged", "covered"})
"""``ok`` is a video signal; every other state is a camera that does not record the exam."""
MAX_SEGMENTS = 100_000
MAX_SEGMENT_BYTES = 256 << 20
"""A segment is a few seconds of video; the audit bundle reads blobs up to this size."""
MAX_SNAPSHOTS = 64
TIME_MS = Int(minimum=0, maximum=MAX_SAFE_INTEGER)

SCHEMAS = (
    EventSchema(
        type="camera.status",
        roles=frozenset({VEHICLE}),
        fields={"exam": EXAM_ID, "state": Enum(CAMERA_STATES)},
        doc="The in-car camera's video signal for the exam, on every change of state.",
    ),
    EventSchema(
        type="video.sealed",
        roles=frozenset({VEHICLE}),
        fields={
            "exam": EXAM_ID,
            "segment": Int(minimum=0, maximum=MAX_SEGMENTS - 1),
            "prev": SHA256,
            "sha256": SHA256,
            "length": Int(minimum=1, maximum=MAX_SEGMENT_BYTES),
            "start_ms": TIME_MS,
            "end_ms": TIME_MS,
        },
        doc="One video segment sealed as recorded: its hash, length, times and chain link.",
    ),
    EventSchema(
        type="snapshot.taken",
        roles=frozenset({VEHICLE}),
        fields={
            "exam": EXAM_ID,
            "snapshot": Int(minimum=0, maximum=MAX_SNAPSHOTS - 1),
            "moment_ms": Int(minimum=0, maximum=24 * 3_600_000),
            "frame": Int(minimum=0),
            "sha256": SHA256,
            "length": Int(minimum=1, maximum=1 << 24),
        },
        doc="A photo of the driver at a drawn moment, stored as an encrypted blob.",
    ),
)
