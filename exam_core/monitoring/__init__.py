"""The monitoring centre's domain (DESIGN §10): the witness, the beacon, the warnings, and what
they keep.

Domain logic only, no web code: ``api.monitor`` is its HTTP face.  The witness
(``witness.Witness``) cosigns centres' checkpoints under the C2SP tlog-witness rules; the
beacon (``beacon``) serves the hash-chain randomness of DESIGN §4 step 3; ``home`` is the
monitoring centre's directory (configuration, keys, database) and ``store`` its database.
The warnings: signals (``signals``, ``exam_watch``, ``statistics``) recorded through a
``warning_feed.CentreFeed`` per centre, graded by a points table (``points_table``,
``warnings.grade``), and acted on by signed entries of the monitor's own log (``desk_log``).
"""

from __future__ import annotations

from exam_core.monitoring.points_table import PointsTable, load_points_table
from exam_core.monitoring.signals import Signal
from exam_core.monitoring.store import KnownLog, MonitorStore, WitnessRecord
from exam_core.monitoring.warning_feed import CentreFeed
from exam_core.monitoring.warning_store import WarningStore
from exam_core.monitoring.warnings import GradedWarning, grade
from exam_core.monitoring.witness import Witness

__all__ = [
    "CentreFeed",
    "GradedWarning",
    "KnownLog",
    "MonitorStore",
    "PointsTable",
    "Signal",
    "WarningStore",
    "Witness",
    "WitnessRecord",
    "grade",
    "load_points_table",
]
