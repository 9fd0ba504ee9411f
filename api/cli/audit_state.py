"""The state files of ``examctl audit --since`` and ``--save-state``: read, refused, written.

The format and its checks are ``exam_core.audit.saved_state``'s; this module is the disk: a
state is read through the one bounded reader of user files, and written whole or not at all
(a temporary file beside it, synced, then renamed over it), so an audit interrupted while
saving leaves the previous state in place.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from exam_core.audit.history import Replayer
from exam_core.audit.incremental import AuditEnd, state_from_end
from exam_core.audit.replayer_state import not_resumable
from exam_core.audit.report import AuditReport
from exam_core.audit.saved_state import MAX_STATE_BYTES, AuditState, decode_state, encode_state
from exam_core.errors import AuditStateError
from exam_core.input_file import read_input_file

__all__ = ["read_state", "refuse_unresumable", "save_state"]


def read_state(path: Path) -> AuditState:
    """The audit state in ``path``, parsed strictly.

    Raises:
        InputFileError: the file cannot be read, is not a regular file, or is too large.
        AuditStateError: it is not an intact audit state (``decode_state``).
    """
    try:
        return decode_state(read_input_file(path, limit=MAX_STATE_BYTES, what="audit state"))
    except AuditStateError as e:
        raise AuditStateError(f"{path}: {e}") from e


def refuse_unresumable(replayers: Sequence[Replayer]) -> None:
    """Refuse ``--save-state`` before the audit when a replayer could not be resumed.

    Raises:
        AuditStateError: some replayer cannot save its state.
    """
    cannot = not_resumable(replayers)
    if cannot:
        raise AuditStateError(f"--save-state: {', '.join(cannot)} cannot save its state")


def save_state(path: Path, ends: Sequence[AuditEnd], report: AuditReport) -> None:
    """Write the state of the audit that ended at ``ends[-1]``, or say on stderr why not."""  # noqa: DOC501 - AuditStateError is caught here
    try:
        if not ends:
            raise AuditStateError("the audit verified no checkpoint")
        data = encode_state(state_from_end(ends[-1], report))
    except AuditStateError as e:
        print(f"examctl audit: no state saved to {path}: {e}", file=sys.stderr)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path())
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
