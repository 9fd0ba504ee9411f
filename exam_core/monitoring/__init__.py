"""The monitoring centre's domain (DESIGN §10): the witness, the beacon, and what they keep.

Domain logic only, no web code: ``api.monitor`` is its HTTP face.  The witness
(``witness.Witness``) cosigns centres' checkpoints under the C2SP tlog-witness rules; the
beacon (``beacon``) serves the hash-chain randomness of DESIGN §4 step 3; ``home`` is the
monitoring centre's directory (configuration, keys, database) and ``store`` its database.
"""

from __future__ import annotations

from exam_core.monitoring.store import KnownLog, MonitorStore, WitnessRecord
from exam_core.monitoring.witness import Witness

__all__ = ["KnownLog", "MonitorStore", "Witness", "WitnessRecord"]
