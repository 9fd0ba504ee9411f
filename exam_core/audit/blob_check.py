"""Step 6 of the audit (docs/audit.md): the blobs, against their names and the entries.

Evidence too large for an entry (telemetry chunks, photos, raw device frames) travels beside
the log as blobs named by their SHA-256, and an entry references a blob by hash and length.
The blobs are checked against their names before the ordered pass, so that replayers only ever
see blobs that match their hash; the ordered pass then checks each admitted entry's references,
and what no entry references is listed last, as a warning.  A blob is hashed as a stream, a
piece at a time (``exam_core.audit.reader.BlobFile``): twelve blobs of 250 MiB cost the audit
one piece of memory, not 3 GB.  ``sha256_of_pieces`` is that hash, also used by
``examctl evidence verify`` for the segments of a video file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from exam_core.audit.reader import BlobFile
from exam_core.audit.report import FindingLog
from exam_core.errors import BlobError
from exam_core.findings import WARNING
from exam_core.log.blob_refs import referenced_blobs
from exam_core.log.entry import Entry

__all__ = ["BlobCheck", "sha256_of_pieces"]


def sha256_of_pieces(pieces: Iterable[bytes]) -> tuple[bytes, int]:
    """The SHA-256 and the length of content given in pieces, none of them kept.

    Raises:
        Whatever producing the pieces raises (``BlobError``, ``InputFileError``).
    """
    digest = hashlib.sha256()
    length = 0
    for piece in pieces:
        digest.update(piece)
        length += len(piece)
    return digest.digest(), length


class BlobCheck:
    """The bundle's blobs, checked once against their names and then against each reference."""

    def __init__(self, files: Mapping[str, BlobFile], findings: FindingLog) -> None:
        self._files = files
        self._findings = findings
        self._referenced: set[str] = set()
        self.good: dict[str, BlobFile] = {}
        """The blobs whose content hashes to their name: the only ones replayers see."""
        self._length: dict[str, int] = {}

    @property
    def checked(self) -> dict[str, int]:
        """Name → length of every blob that hashed to its name: what a saved audit keeps."""
        return dict(self._length)

    @property
    def referenced(self) -> frozenset[str]:
        return frozenset(self._referenced)

    def resume(self, checked: Mapping[str, int], referenced: Iterable[str]) -> None:
        """Continue from a saved audit: the blobs it ``checked`` (name → length) count as
        checked when the bundle still holds a file of that length (a replayer that reads one
        hashes it again), and what it ``referenced`` stays referenced.  Call before
        ``check_files``, which then hashes only the other blobs."""
        for name, length in checked.items():
            blob = self._files.get(name)
            if blob is not None and blob.size == length:
                self.good[name] = blob
                self._length[name] = length
        self._referenced.update(referenced)

    def check_files(self) -> None:
        """Every blob hashes to its name (before any entry references it)."""
        for name, blob in sorted(self._files.items()):
            if name in self.good:
                continue  # checked by the saved audit this one resumes
            try:
                digest, length = sha256_of_pieces(blob.pieces())
            except BlobError as e:
                self._findings.add(None, "unreadable_file", f"blobs/{name}: {e}")
                continue
            if digest.hex() != name:
                self._findings.add(None, "blob_hash", f"blobs/{name}: content does not match name")
            else:
                self.good[name] = blob
                self._length[name] = length

    def check_references(self, index: int, entry: Entry) -> None:
        """Every blob entry ``index`` references is present, intact and of the stated length."""
        for sha, length in referenced_blobs(entry):
            self._referenced.add(sha)
            if sha in self.good:
                if self._length[sha] != length:
                    self._findings.add(
                        index,
                        "blob_length",
                        f"blobs/{sha}: {self._length[sha]} bytes, entry says {length}",
                    )
            elif sha in self._files:
                self._findings.add(index, "blob_corrupt", f"blobs/{sha}: does not match hash")
            else:
                self._findings.add(index, "blob_missing", f"blobs/{sha}: not in the bundle")

    def check_unreferenced(self) -> None:
        """List (as warnings) the blobs no entry checked so far references."""
        for name in sorted(set(self._files) - self._referenced):
            self._findings.add(
                None, "blob_unreferenced", f"blobs/{name}: no entry references it", WARNING
            )
