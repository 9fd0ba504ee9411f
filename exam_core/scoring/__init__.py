"""Automated scoring from signed telemetry (DESIGN §6).

The score is a function of what the car did: the in-car unit signs its telemetry chunks, the
engine decides every rule of a versioned table against a versioned course map, and anyone can
recompute the result byte for byte.
"""

from __future__ import annotations

__all__: list[str] = []
