"""Which blobs an entry references: the pure rule the store, the export and the audit share.

Large evidence (telemetry chunks, photos, raw device frames) lives outside the log in a
content-addressed store, and an entry carries each blob's SHA-256 and length (DESIGN §3.1).
The export must copy exactly those blobs and the audit must check exactly those, so the rule
for spotting a reference lives once, here, with no file I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from exam_core.log.entry import Entry

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
"""A blob's name: its SHA-256 as 64 lowercase hex digits (the store, bundles, references)."""


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
                elif isinstance(item, Mapping | list):
                    stack.append(item)
        elif isinstance(value, list):
            stack.extend(value)
    return found


def referenced_blobs(entry: Entry) -> list[tuple[str, int]]:
    """``blob_references`` of an entry's event, skipping the walk for the many entries that
    cannot reference a blob: in canonical JSON a reference needs a key ending in ``sha256"``."""
    if b'sha256"' not in entry.data:
        return []
    return blob_references(entry.event)
