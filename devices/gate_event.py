"""The fields of a ``device.gate`` entry: made from a live decision, read back by the audit.

Why it exists: the gateway signs a gate decision and the auditor recomputes it from the entry,
so both must read the entry the same way.  An entry carries the decision (``allowed``,
``reasons``), the room's requirements as the gateway applied them (``requires``), and, for
every device it rests on, the exact status reply with the gateway's monotonic time of the poll
that returned it (``evidence``); ``mono_ms`` is the time of the decision on the same clock.
"""

from __future__ import annotations

from collections.abc import Mapping

from devices.errors import DeviceConfigError, FrameError
from devices.gate import Citation, GateDecision, RoomRequirements

MAX_REASONS = 64
MAX_REASON_CHARS = 256
MAX_EVIDENCE = 32
"""Bounds of the ``device.gate`` schema (``exam_core/log/schemas/devices.py``)."""


def gate_fields(decision: GateDecision, now_ms: int, exam: str | None = None) -> dict[str, object]:
    """The ``device.gate`` fields of a decision taken at ``now_ms`` (within the schema's bounds)."""
    evidence: list[dict[str, object]] = []
    for citation in decision.evidence[:MAX_EVIDENCE]:
        item: dict[str, object] = {"device": citation.device, "raw": citation.raw.hex()}
        if citation.read_ms is not None:
            item["mono_ms"] = citation.read_ms
        evidence.append(item)
    fields: dict[str, object] = {
        "room": decision.room,
        "allowed": decision.allowed,
        "reasons": [r[:MAX_REASON_CHARS] for r in decision.reasons[:MAX_REASONS]],
        "evidence": evidence,
        "requires": decision.requirements.to_json(),
        "mono_ms": now_ms,
    }
    if exam is not None:
        fields["exam"] = exam
    return fields


def logged_requirements(event: Mapping[str, object]) -> RoomRequirements | None:
    """The requirements a ``device.gate`` entry says it applied (None when it names none).

    Raises:
        DeviceConfigError: ``requires`` or ``room`` that do not parse.
    """
    if "requires" not in event:
        return None
    room = event.get("room")
    if not isinstance(room, str) or not room:
        raise DeviceConfigError("the gate entry names no room")
    return RoomRequirements.from_json(room, event["requires"])


def logged_evidence(event: Mapping[str, object]) -> tuple[Citation, ...]:
    """The frames a ``device.gate`` entry cites, each with its read time if given.

    Raises:
        FrameError: evidence that is not a list of ``{device, raw[, mono_ms]}`` objects with
            hex frames.
    """
    items = event.get("evidence")
    if not isinstance(items, list):
        raise FrameError("evidence is not a list")
    citations: list[Citation] = []
    for item in items:
        if not isinstance(item, Mapping):
            raise FrameError("evidence item not an object")
        device, raw_hex, read_ms = item.get("device"), item.get("raw", ""), item.get("mono_ms")
        if not isinstance(device, str) or not isinstance(raw_hex, str):
            raise FrameError("evidence item without a device name and a frame")
        if read_ms is not None and (type(read_ms) is not int or read_ms < 0):
            raise FrameError(f"{device}: evidence time is not a non-negative integer")
        try:
            raw = bytes.fromhex(raw_hex)
        except ValueError as e:
            raise FrameError(f"{device}: evidence frame is not hex") from e
        citations.append(Citation(device, raw, read_ms))
    return tuple(citations)
