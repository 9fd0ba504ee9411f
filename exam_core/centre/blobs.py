"""Content-addressed store for evidence too large for a log entry (DESIGN §3.1).

Telemetry chunks, photos and raw device frames live here; an entry carries the blob's SHA-256
and length.  A blob's name is its hash, so the store cannot hold two versions of one name, and
a reader checks the hash of what it reads: a blob altered on disk is an error, never evidence.
Writes go to a temporary file that is synced and then renamed into place, so a crash leaves
either the whole blob or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from exam_core.centre.durable import fsync_dir
from exam_core.errors import InputFileError, StoreError
from exam_core.input_file import read_input_file
from exam_core.log.entry import Entry

MAX_BLOB_BYTES = 256 << 20
"""The audit's bound on one blob (``BundleLimits.blob_bytes``): a video segment fits."""
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
"""A blob's name: its SHA-256 as 64 lowercase hex digits (the store, bundles, references)."""


def _check_digest(sha256_hex: str) -> None:
    if SHA256_HEX.fullmatch(sha256_hex) is None:
        raise StoreError(f"not a lowercase hex SHA-256: {sha256_hex[:80]!r}")


class BlobStore:
    """Blobs under ``root`` at ``ab/cdef…`` (the first two hex digits name the folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256_hex: str) -> Path:
        _check_digest(sha256_hex)
        return self.root / sha256_hex[:2] / sha256_hex[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` durably and return its SHA-256 (hex); storing it twice is a no-op."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        folder = target.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        fsync_dir(folder)
        return digest

    def has(self, sha256_hex: str) -> bool:
        return self.path(sha256_hex).is_file()

    def get(self, sha256_hex: str) -> bytes:
        """The blob with this hash, read as a bounded regular file (``exam_core.input_file``).

        Raises:
            StoreError: the blob is absent, not a regular file of at most ``MAX_BLOB_BYTES``,
                or its bytes do not match its hash.
        """
        path = self.path(sha256_hex)
        if not os.path.lexists(path):
            raise StoreError(f"no blob {sha256_hex}")
        try:
            data = read_input_file(path, limit=MAX_BLOB_BYTES, what="blob")
        except InputFileError as e:
            raise StoreError(str(e)) from e
        if hashlib.sha256(data).hexdigest() != sha256_hex:
            raise StoreError(f"blob {sha256_hex} is corrupt: its content has another hash")
        return data

    def digests(self) -> list[str]:
        """Every stored blob's hash, sorted (temporary files of interrupted writes excluded)."""
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for folder in self.root.iterdir():
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for item in folder.iterdir():
                digest = folder.name + item.name
                if SHA256_HEX.fullmatch(digest):
                    found.append(digest)
        return sorted(found)


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
