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
    ├── BlobError               a bundle's blob that cannot be read within the bound asked for
    ├── WitnessError            a checkpoint a tlog-witness refuses to cosign; ``status`` is the
    │   │                       HTTP status tlog-witness gives the refusal
    │   ├── WitnessRequestError     a malformed add-checkpoint request (400)
    │   ├── LogSignatureError       no trusted log signature, or one that fails (403)
    │   ├── UnknownLogError         a checkpoint of an origin the witness does not know (404)
    │   ├── SizeConflictError       an old size that is not the witness's; ``size`` is its (409)
    │   └── InconsistentTreeError   a checkpoint inconsistent with what was cosigned (422)
    ├── ScoringError            telemetry, course map or rule table that cannot be scored
    ├── ExamDayError            the exam day refuses a value or a step; ``code`` names the rule
    │   ├── IdentityError       not a valid GB 11643-1999 resident ID number
    │   ├── ImportFileError     a CSV import refused as a whole, with the line of each bad row
    │   ├── PersonalDataError   the centre secret, a sealed photo or a keyed hash is unusable
    │   └── StepError           a step out of order; ``expected`` names the step that may come
    ├── EvidenceError           a video file, snapshot or receipt that is not the sealed evidence
    │                           it is claimed to be; the message says why
    ├── InputFileError          a file given to a command that is not a bounded regular file
    └── WarningsError           a points table, or an action on a warning, that is refused
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


class AuditStateError(ExamCoreError):
    """A saved audit state (``examctl audit --since``) is malformed, altered, of another log or
    not consistent with the bundle it is to resume on: refused, never trusted."""


class BlobError(ExamCoreError):
    """A blob of a bundle is larger than its reader allows, changed, or cannot be read."""


class WitnessError(ExamCoreError):
    """A tlog-witness refuses to cosign a checkpoint; ``status`` is the spec's HTTP status."""

    status = 400


class WitnessRequestError(WitnessError):
    """An add-checkpoint request body is malformed (tlog-witness: 400 Bad Request)."""

    status = 400


class LogSignatureError(WitnessError):
    """No trusted log key signed the checkpoint, or a trusted key's line fails (403 Forbidden)."""

    status = 403


class UnknownLogError(WitnessError):
    """The checkpoint's origin is not a log this witness knows (404 Not Found)."""

    status = 404


class SizeConflictError(WitnessError):
    """The request's old size is not the size the witness last cosigned (409 Conflict)."""

    status = 409

    def __init__(self, size: int, message: str) -> None:
        super().__init__(message)
        self.size = size


class InconsistentTreeError(WitnessError):
    """The checkpoint is not consistent with what the witness cosigned (422 Unprocessable)."""

    status = 422


class ScoringError(ExamCoreError):
    """Telemetry, a course map or a rule table cannot be scored."""


class ExamDayError(ExamCoreError):
    """The exam day refuses a value or a step; ``code`` is a stable machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class IdentityError(ExamDayError):
    """A string is not a valid GB 11643-1999 resident ID number (``code`` says which check)."""


class ImportFileError(ExamDayError):
    """A CSV import was refused as a whole; ``problems`` lists (line, message) of bad rows.

    Line 0 stands for the file as a whole (its size, encoding or header).
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        shown = "; ".join(f"line {line}: {text}" if line else text for line, text in problems)
        super().__init__("import_refused", f"nothing imported: {shown}")
        self.problems = problems


class PersonalDataError(ExamDayError):
    """The centre secret, a sealed enrolment photo or a keyed hash cannot be used."""


class StepError(ExamDayError):
    """A step of the exam day came out of order; ``expected`` names the step that may come."""

    def __init__(self, code: str, expected: str, message: str) -> None:
        super().__init__(code, f"{message} (expected: {expected})")
        self.expected = expected


class EvidenceError(ExamCoreError):
    """A file is not the sealed evidence it is claimed to be (a re-encoded, trimmed or spliced
    video, a receipt whose entry is not the log's); the message says why."""


class InputFileError(ExamCoreError):
    """A file named on the command line is missing, not a regular file, or over its size limit."""


class WarningsError(ExamCoreError):
    """The monitoring centre refuses a points table (a value, key or level out of its rules)
    or an action on a warning (unknown warning, empty reason); the message says why."""
