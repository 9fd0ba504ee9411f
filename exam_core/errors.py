"""The exception tree of ``exam_core``.

Every error that hostile or malformed data can cause inside ``exam_core`` is one of these;
foreign exceptions (``cryptography``, ``json``, SQLAlchemy) are translated at the boundary
with ``raise ... from``.  Caller bugs (steps called out of order) are ``RuntimeError``.

    ExamCoreError
    ├── CanonicalError          bytes or values that are not canonical integer-only JSON
    ├── NoteError               a signed note that does not parse or does not verify
    │   └── KeyFormatError      a malformed vkey, key name or key file
    ├── ProofError              a Merkle inclusion or consistency proof that does not verify
    ├── CheckpointError         a malformed or unsigned checkpoint, cosignature, receipt or policy
    ├── EntryError              an entry refused before sequencing (schema, key, role, seq, clock)
    ├── StoreError              the database or blob store cannot do what was asked
    ├── TokenError              a bearer token that is malformed, unknown or revoked
    ├── BundleError             an audit bundle that cannot be read at all
    └── ScoringError            telemetry, course map or rule table that cannot be scored
"""

from __future__ import annotations


class ExamCoreError(Exception):
    """Base of every domain error raised by ``exam_core``."""


class CanonicalError(ExamCoreError):
    """A value or byte string is not canonical, integer-only JSON (RFC 8785 subset)."""


class NoteError(ExamCoreError):
    """A C2SP signed note is malformed or carries no valid signature of a known key."""


class KeyFormatError(NoteError):
    """A key name, vkey or key file is malformed."""


class ProofError(ExamCoreError):
    """A Merkle inclusion or consistency proof does not verify."""


class CheckpointError(ExamCoreError):
    """A checkpoint, cosignature, tlog-proof receipt or tlog-policy is malformed or unsigned."""


class EntryError(ExamCoreError):
    """An entry was refused before sequencing; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class StoreError(ExamCoreError):
    """The log store or blob store cannot complete the request."""


class TokenError(ExamCoreError):
    """A bearer token is malformed, unknown or revoked (the reason is not told to the caller)."""


class BundleError(ExamCoreError):
    """An audit bundle is missing or unreadable as a whole (not a finding inside it)."""


class ScoringError(ExamCoreError):
    """Telemetry, a course map or a rule table cannot be scored."""
