"""Content-addressed store for evidence too large for a log entry (DESIGN §3.1).

Telemetry chunks, photos and raw device frames live here; an entry carries the blob's SHA-256
and length.  A blob's name is its hash, so the store cannot hold two versions of one name, and
a reader checks the hash of what it reads: a blob altered on disk is an error, never evidence.
Writes go through ``exam_core.centre.durable.replace_atomically``, so a crash leaves either the
whole blob or none.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from exam_core.audit.reader import DiskBlob
from exam_core.centre.durable import replace_atomically
from exam_core.errors import InputFileError, StoreError
from exam_core.input_file import read_input_file
from exam_core.log.blob_refs import SHA256_HEX

MAX_BLOB_BYTES = 256 << 20
"""The audit's bound on one blob (``BundleLimits.blob_bytes``): a video segment fits."""


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
        """Store ``data`` durably and return its SHA-256 (hex); storing it twice is a no-op.

        Raises:
            StoreError: the blob cannot be written or synced (no partial blob is left).  The
                store failed, not the request: the service answers 503 and the uploader retries
                (an ``OSError`` was a 500, which no client retries, and the evidence was lost).
        """
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(target, data)
        except OSError as e:
            raise StoreError(f"cannot store blob {digest}: {e.strerror or e}") from e
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

    def open(self, sha256_hex: str) -> DiskBlob | None:
        """The blob with this hash to read in pieces, or None when there is none; unlike
        ``get`` it is not read here, and its reader checks its hash.

        Raises:
            StoreError: ``sha256_hex`` is not a lowercase hex SHA-256.
        """
        path = self.path(sha256_hex)
        try:
            size = os.lstat(path).st_size
        except OSError:
            return None
        return DiskBlob(path, size, MAX_BLOB_BYTES)

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
