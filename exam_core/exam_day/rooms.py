"""A room's configuration: the fields of its ``room.configured`` entry, checked as a whole.

Why it exists: the event schema checks each field, but not what makes a configuration usable —
at least one required device, every device named once across jammers, detectors and canaries,
every band of a jammer once, a gateway key under the log's origin.  ``parse_room_configuration``
checks all of that, for the administrator's command before signing and for anyone who reads the
entry afterwards; ``room_configured_fields`` lays a configuration out as the entry's fields, in a
canonical order (devices sorted by name, bands ascending), so that the same configuration is
always the same entry.

``check_room_gateway`` is the one rule on the configuration's gateway at its place in the log:
a registered, unrevoked key with the ``gateway`` role.  The administrator's command checks it
against the centre's registry before signing; the exam day (``day.ExamDay``, which ingest's
guard and the audit's day replayer both run) checks it against the keys the log registered
before the entry, so the service refuses what the command refuses and the audit flags it alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from exam_core.errors import EntryError, ExamDayError
from exam_core.log.schemas import check_type_fields
from exam_core.log.schemas.types import GATEWAY

ROOM_CONFIGURED = "room.configured"


@dataclass(frozen=True)
class RoomConfig:
    """What a room requires before an exam may start (DESIGN §5.4)."""

    room: str
    kind: str
    """``room`` (科目一 hall) or ``field`` (科目二 field, 科目三 route start)."""
    gateway: str
    """The full key name of the gateway that polls this room's devices and signs its gate."""
    jammers: Mapping[str, frozenset[int]]
    detectors: frozenset[str]
    canaries: frozenset[str]
    max_age_ms: int

    @property
    def devices(self) -> frozenset[str]:
        return frozenset(self.jammers) | self.detectors | self.canaries


def parse_room_configuration(fields: Mapping[str, object], origin: str) -> RoomConfig:
    """The configuration in the type-specific ``fields`` of a ``room.configured`` event.

    Raises:
        ExamDayError: (``room_config``) a field is missing, unknown or malformed, no device is
            required, a device or band is named twice, or the gateway is not under ``origin``.
    """
    try:
        check_type_fields(ROOM_CONFIGURED, fields)
    except EntryError as e:
        raise ExamDayError("room_config", e.message) from e
    # The schema has checked every shape: the casts below only tell the type checker so.
    jammers: dict[str, frozenset[int]] = {}
    names: list[str] = []
    for jammer in cast(list[dict[str, Any]], fields["jammers"]):
        bands = list(jammer["bands"])
        if len(set(bands)) != len(bands):
            raise ExamDayError("room_config", f"jammer {jammer['device']}: a band is named twice")
        jammers[jammer["device"]] = frozenset(bands)
        names.append(jammer["device"])
    detectors = cast(list[str], fields["detectors"])
    canaries = cast(list[str], fields["canaries"])
    names += detectors + canaries
    if not names:
        raise ExamDayError("room_config", "a room requires at least one device")
    if len(set(names)) != len(names):
        raise ExamDayError("room_config", "a device is named twice")
    gateway = str(fields["gateway"])
    if not gateway.startswith(origin + "/"):
        raise ExamDayError("room_config", f"gateway {gateway} is not a key under {origin}/")
    return RoomConfig(
        room=str(fields["room"]),
        kind=str(fields["kind"]),
        gateway=gateway,
        jammers=jammers,
        detectors=frozenset(detectors),
        canaries=frozenset(canaries),
        max_age_ms=cast(int, fields["max_age_ms"]),
    )


class KeyStanding(Protocol):
    """What the gateway rule reads of a key: its role and whether it is revoked
    (``exam_core.log.registry.KeyRecord`` and ``RegisteredKey`` both are one)."""

    @property
    def role(self) -> str: ...

    @property
    def revoked(self) -> bool: ...


@dataclass(frozen=True)
class RegisteredKey:
    """A key as the exam day learns it from the log's ``key.registered`` and ``key.revoked``."""

    role: str
    revoked: bool = False


def check_room_gateway(gateway: str, keys: Mapping[str, KeyStanding]) -> None:
    """Whether ``gateway`` may watch a room, given the keys registered so far (by full name).

    Raises:
        ExamDayError: (``room_gateway``) the gateway is not a registered key, has been revoked,
            or is registered with another role than ``gateway``.
    """
    record = keys.get(gateway)
    if record is None:
        raise ExamDayError(
            "room_gateway",
            f"gateway {gateway} is not a registered key (register it with the gateway role first)",
        )
    if record.revoked:
        raise ExamDayError("room_gateway", f"gateway {gateway} is a revoked key")
    if record.role != GATEWAY:
        raise ExamDayError(
            "room_gateway", f"gateway {gateway} is a {record.role} key, not a gateway key"
        )


def room_configured_fields(config: RoomConfig) -> dict[str, object]:
    """The type-specific fields of the ``room.configured`` entry of ``config``, canonically."""
    return {
        "room": config.room,
        "kind": config.kind,
        "gateway": config.gateway,
        "jammers": [
            {"device": name, "bands": sorted(config.jammers[name])}
            for name in sorted(config.jammers)
        ],
        "detectors": sorted(config.detectors),
        "canaries": sorted(config.canaries),
        "max_age_ms": config.max_age_ms,
    }
