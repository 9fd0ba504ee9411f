"""Was a gate decision taken under the room's configuration?  Its ``requires`` against the
``room.configured`` in force.

Why it exists: a ``device.gate`` entry states the requirements its gateway applied, and the
device gating replay recomputes the decision under those very requirements.  A gateway (or
whoever holds its key) that dropped a band from a jammer's requirements — to open the gate
while that band's alarm stands — signs a decision that is right by its own standard.  Only
the standard the administrator signed (``room.configured``) shows it, so the auditor compares
the two: the gate must have applied at least the configuration — every configured jammer with
every configured band, every detector and every canary, as the kind configured, and a
freshness bound no looser.  A stricter gate (more devices, more bands, a tighter bound) only
refuses more, and is not a finding.
"""

from __future__ import annotations

from collections.abc import Mapping

from exam_core.exam_day.rooms import RoomConfig


def _names(value: object) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(v for v in value if isinstance(v, str))


def _bands(value: object) -> frozenset[int]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(b for b in value if type(b) is int)


def _shown(bands: frozenset[int]) -> str:
    return "[" + ", ".join(str(b) for b in sorted(bands)) + "]"


def weaker_than_configured(config: RoomConfig, requires: object) -> list[str]:
    """How the requirements a gate applied (``requires`` of a ``device.gate``) fall short of
    ``config``, one sentence each; empty when they hold at least the configured standard."""
    if not isinstance(requires, Mapping):
        return ["the gate names no requirements"]
    short: list[str] = []
    jammers = requires.get("jammers")
    applied = jammers if isinstance(jammers, Mapping) else {}
    for name in sorted(config.jammers):
        configured = config.jammers[name]
        if name not in applied:
            short.append(f"jammer {name} (bands {_shown(configured)}) is not required")
            continue
        missing = configured - _bands(applied[name])
        if missing:
            unchecked = ", ".join(str(b) for b in sorted(missing))
            short.append(
                f"jammer {name}: configured bands {_shown(configured)}, the gate required "
                f"{_shown(_bands(applied[name]))} (band{'s' if len(missing) > 1 else ''} "
                f"{unchecked} not checked)"
            )
    for kind, configured_names in (("detector", config.detectors), ("canary", config.canaries)):
        field = "detectors" if kind == "detector" else "canaries"
        for name in sorted(configured_names - _names(requires.get(field))):
            short.append(f"{kind} {name} is not required")
    max_age = requires.get("max_age_ms")
    if type(max_age) is not int or max_age > config.max_age_ms:
        short.append(
            f"statuses up to {max_age} ms old accepted, the configuration allows "
            f"{config.max_age_ms} ms"
        )
    return short
