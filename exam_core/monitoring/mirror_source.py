"""Where the mirror reads a centre's log from: the C2SP tlog-tiles layout, as a protocol.

The mirror's rules (``exam_core.monitoring.mirror``) need only two reads — the newest signed
checkpoint and a tile or entry bundle by its path — and two ways for them to fail, which the
mirror treats differently:

- ``SourceUnavailableError``: nobody answered, or the server said it is not able to now (a refused
  connection, a timeout, a 5xx).  The centre may be down; it becomes a finding only once it
  has been silent longer than the mirror allows;
- ``SourceRefusedError``: the centre answered, and the answer is not acceptable — larger than any
  valid one, a 4xx for a tile its own checkpoint implies.  That is a finding at once.

``api.monitor.mirror_client`` implements it over HTTP with httpx; tests and benchmarks may
serve a log from memory.  Whatever reads are made, nothing here trusts their content: the
mirror verifies every byte against the checkpoint.
"""

from __future__ import annotations

from typing import Protocol

from exam_core.errors import ExamCoreError
from exam_core.log.tiles import TilePath

__all__ = ["BlobSource", "LogSource", "SourceRefusedError", "SourceUnavailableError"]


class SourceUnavailableError(ExamCoreError):
    """The centre did not answer, or answered that it cannot now."""


class SourceRefusedError(ExamCoreError):
    """The centre answered with something no valid log serves (``path``: what was asked)."""

    def __init__(self, path: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.status = status
        """The HTTP status when the refusal is one (None: the answer itself is unacceptable)."""


class LogSource(Protocol):
    """One centre's log, as served in the tlog-tiles layout."""

    def checkpoint(self) -> bytes:
        """The newest checkpoint note, unverified.

        Raises:
            SourceUnavailableError: the centre did not answer.
            SourceRefusedError: the answer is unacceptable (too large, a 4xx).
        """
        ...

    def tile(self, tile: TilePath) -> bytes:
        """The bytes of a Merkle tile or entry bundle, unverified.

        Raises:
            SourceUnavailableError: the centre did not answer.
            SourceRefusedError: the answer is unacceptable (too large, a 4xx).
        """
        ...


class BlobSource(Protocol):
    """Where a centre's blobs are read from (``GET /blobs/<sha256>``, with a monitor token)."""

    def blob(self, sha256_hex: str, limit: int) -> bytes:
        """The blob of that hash, unverified, at most ``limit`` bytes.

        Raises:
            SourceUnavailableError: no answer, a timeout, a 5xx or 429.
            SourceRefusedError: another status (``path`` names it), or more than ``limit`` bytes.
        """
        ...
