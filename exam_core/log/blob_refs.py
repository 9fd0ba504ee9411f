"""How an entry references a blob of evidence (DESIGN §3.1): by its SHA-256 and its length.

Telemetry chunks, photos and raw device frames are too large for an entry, so they travel
beside the log as blobs named by their hash.  The blob store names its files this way, the
bundle layout (``exam_core.log.tiles``) names ``blobs/<sha256 hex>`` this way, the export copies
the blobs an entry references and the audit checks that each one is there: all of them find the
references with these functions, pure, so that they agree.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from exam_core.log.entry import Entry

__all__ = ["SHA256_HEX", "blob_references", "may_reference_blobs", "referenced_blobs"]

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
"""A blob's name: its SHA-256 as 64 lowercase hex digits (the store, bundles, references)."""

_SCALARS = (str, int, float, type(None))
"""What most fields hold: told apart from containers by a cheap check of built-in types
before the ``Mapping`` check, an abstract class's, which costs several times more."""


def blob_references(event: Mapping[str, Any]) -> list[tuple[str, int]]:
    """The (sha256 hex, length) pairs an event references, at any depth.

    A reference is a field named ``<stem>sha256`` holding 64 lowercase hex digits with a sibling
    integer field ``<stem>length`` or ``<stem>len`` (e.g. ``sha256``/``length``,
    ``manifest_sha256``/``manifest_len``).  A hash without a length is a commitment (such as a
    list of chunk hashes), not a blob reference.
    """
    found: list[tuple[str, int]] = []
    stack: list[Any] = [event]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, str) and key.endswith("sha256") and isinstance(item, str):
                    stem = key[: -len("sha256")]
                    length = value.get(stem + "length", value.get(stem + "len"))
                    if (
                        SHA256_HEX.fullmatch(item)
                        and isinstance(length, int)
                        and not isinstance(length, bool)
                    ):
                        found.append((item, length))
                elif not isinstance(item, _SCALARS) and isinstance(item, Mapping | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def may_reference_blobs(data: bytes) -> bool:
    """Whether entry bytes can hold a blob reference, without parsing them: in canonical JSON
    (which every entry is, or it is refused) a reference needs a key ending in ``sha256"``,
    written as it is, so bytes without it reference no blob.  Most entries do not."""
    return b'sha256"' in data


def referenced_blobs(entry: Entry) -> list[tuple[str, int]]:
    """``blob_references`` of an entry's event, skipping the walk for the many entries that
    cannot reference a blob (``may_reference_blobs``)."""
    if not may_reference_blobs(entry.data):
        return []
    return blob_references(entry.event)
